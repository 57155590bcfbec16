"""`purse.eligible_solutions`: which partner/method pairs may pay an order (advanced flow).

One endpoint: `POST /payment/v2/eligible-solutions`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .. import models as _models
from .._response import AsyncRawResponses, raw_response
from ._base import (
    API_PREFIX,
    AsyncAPIResource,
    build_body,
    check_amount,
    check_currency,
    check_object,
    new_idempotency_key,
    optional_object,
)

if TYPE_CHECKING:
    from ..models import Customer, Order
    from ..models.eligible import EligibleSolutionList

__all__ = ["AsyncEligibleSolutions", "AsyncEligibleSolutionsWithRawResponse"]


class AsyncEligibleSolutions(AsyncAPIResource):
    """Eligible payment solutions for an amount and order."""

    @property
    def with_raw_response(self) -> AsyncEligibleSolutionsWithRawResponse:
        """These methods returning an `APIResponse` (status, headers, request id, attempts,
        idempotency key, elapsed time) around their result, `.parsed`."""
        return AsyncEligibleSolutionsWithRawResponse(self)

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
        timeout: float | None = None,
        deadline: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> EligibleSolutionList:
        """List the solutions (partner + method) eligible to pay this order.

        It changes nothing server-side, so it is retried like a GET (under a key the SDK
        generates: no `idempotency_key` to pass).
        """
        check_amount("amount", amount, allow_zero=bool(allow_future_usage))
        body = build_body(
            {
                "entity_id": self._entity_id(entity_id),
                "amount": amount,
                "currency": check_currency(currency),
                "order": check_object("order", order, model=_models.Order),
                "customer": optional_object("customer", customer, model=_models.Customer),
                "allow_future_usage": allow_future_usage,
            },
            extra_body,
        )
        return await self._requester.request_as(
            _models.EligibleSolutionList,
            "POST",
            f"{API_PREFIX}/eligible-solutions",
            body=body,
            # A read-only query: a generated key makes it safe to retry.
            idempotency_key=new_idempotency_key(),
            timeout=timeout,
            deadline=deadline,
            max_retries=max_retries,
            extra_headers=extra_headers,
        )


class AsyncEligibleSolutionsWithRawResponse(AsyncRawResponses[AsyncEligibleSolutions]):
    """`purse.eligible_solutions.with_raw_response`: each call returns an `APIResponse`."""

    list = raw_response(AsyncEligibleSolutions.list)
