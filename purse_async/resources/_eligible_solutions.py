"""`purse.eligible_solutions`: which partner/method pairs may pay an order (advanced flow).

One endpoint: `POST /payment/v2/eligible-solutions`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..models import Customer, Order
from ..models.eligible import EligibleSolutionList
from ._base import (
    API_PREFIX,
    AsyncAPIResource,
    build_body,
    check_amount,
    check_currency,
    check_object,
    key_or_new,
)

__all__ = ["AsyncEligibleSolutions"]


class AsyncEligibleSolutions(AsyncAPIResource):
    """Eligible payment solutions for an amount and order."""

    async def list(
        self,
        *,
        amount: int,
        currency: str,
        order: Order | Mapping[str, Any],
        customer: Customer | Mapping[str, Any] | None = None,
        allow_future_usage: bool | None = None,
        entity_id: str | None = None,
        extra_body: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> EligibleSolutionList:
        """List the solutions (partner + method) eligible to pay this order.

        It changes nothing server-side, so it is retried like a GET.
        """
        check_amount("amount", amount, allow_zero=bool(allow_future_usage))
        body = build_body(
            {
                "entity_id": self._entity_id(entity_id),
                "amount": amount,
                "currency": check_currency(currency),
                "order": check_object("order", order),
                "customer": None if customer is None else check_object("customer", customer),
                "allow_future_usage": allow_future_usage,
            },
            extra_body,
        )
        result = await self._requester.request(
            "POST",
            f"{API_PREFIX}/eligible-solutions",
            body=body,
            # A read-only query: a generated key makes it safe to retry.
            idempotency_key=key_or_new(idempotency_key),
            timeout=timeout,
            max_retries=max_retries,
            extra_headers=extra_headers,
        )
        return self._decode(result, EligibleSolutionList)
