"""`purse.payments`: create (advanced flow), retrieve, and the money-moving capture/refund/void.

Every money-moving POST carries an idempotency key chosen before the first attempt.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from .._errors import IdempotencyConflictError, PurseError
from .._logging import logger
from .._requester import tag_error
from ..models import Browser, Customer, Order, Priority, SplitItem, Webhook
from ..models.operation import Operation
from ..models.payment import Payment
from ._base import (
    API_PREFIX,
    AsyncAPIResource,
    build_body,
    check_amount,
    check_currency,
    check_id,
    check_idempotency_key,
    check_list,
    check_object,
    key_or_new,
)
from ._outcomes import create_once, differences, mismatch_error

__all__ = ["AsyncPayments"]


class AsyncPayments(AsyncAPIResource):
    """Payments: `POST/GET /payment/v2/payments`, `POST .../{id}/captures|refunds|voids`."""

    async def create(
        self,
        *,
        amount: int,
        currency: str,
        split: Sequence[SplitItem | Mapping[str, Any]],
        browser: Browser | Mapping[str, Any],
        order: Order | Mapping[str, Any] | None = None,
        customer: Customer | Mapping[str, Any] | None = None,
        shopper_redirection_url: str | None = None,
        entity_id: str | None = None,
        capture_mode: str | None = None,
        allow_future_usage: bool | None = None,
        webhook: Webhook | Mapping[str, Any] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> Payment:
        """Create a payment server to server (advanced flow) from SecureFields or wallet tokens.

        The answer may be `PENDING` with a `redirection` to follow: check `authorization.status`.
        Always sent with an idempotency key (yours or a generated one). Purse documents no
        deduplication of creations, so once the request may have reached Purse it is not
        re-sent: `OutcomeUnknownError` carries the key, amount and order reference (unless the
        client has `idempotent_creates=True`). A replay that differs from this request (amount,
        currency, order reference) raises `IdempotencyConflictError` naming the differences.
        """
        check_amount("amount", amount, allow_zero=bool(allow_future_usage))
        key = key_or_new(idempotency_key)
        body = build_body(
            {
                "entity_id": self._entity_id(entity_id),
                "amount": amount,
                "currency": check_currency(currency),
                "order": None if order is None else check_object("order", order),
                "customer": None if customer is None else check_object("customer", customer),
                "shopper_redirection_url": shopper_redirection_url,
                "split": check_list("split", split),
                "browser": check_object("browser", browser),
                "capture_mode": capture_mode,
                "allow_future_usage": allow_future_usage,
                "webhook": None if webhook is None else check_object("webhook", webhook),
            },
            extra_body,
        )
        return await create_once(
            self._requester,
            Payment,
            f"{API_PREFIX}/payments",
            body=body,
            key=key,
            resource="payment",
            asked={
                "amount": amount,
                "currency": currency,
                "order_reference": (body.get("order") or {}).get("reference"),
            },
            deduplicated=self._settings.idempotent_creates,
            retrieve=lambda found_id: self.retrieve(
                found_id, timeout=timeout, extra_headers=extra_headers
            ),
            found=lambda found: {
                "amount": found.amount,
                "currency": found.currency,
                "order_reference": found.order_reference
                or (found.order.reference if found.order is not None else None),
            },
            timeout=timeout,
            max_retries=max_retries,
            extra_headers=extra_headers,
        )

    async def retrieve(
        self,
        payment_id: str,
        *,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> Payment:
        """Get a payment with its authorization, partner transactions, operations and amounts."""
        result = await self._requester.request(
            "GET",
            f"{API_PREFIX}/payments/{check_id('payment_id', payment_id)}",
            idempotency_key=check_idempotency_key(idempotency_key),
            timeout=timeout,
            max_retries=max_retries,
            extra_headers=extra_headers,
        )
        return self._decode(result, Payment)

    async def capture(
        self,
        payment_id: str,
        *,
        amount: int | None = None,
        priorities: Sequence[Priority | Mapping[str, Any]] | None = None,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> Operation:
        """Capture `amount` (minor units; None: everything available to capture).

        `priorities` orders the partner transactions (`{"partner": "*", "method": "*"}` stands
        for all the others); by default gift cards are captured first. Retries reuse one
        idempotency key, so a capture is never applied twice; if an earlier attempt did go
        through, the existing operation is returned with `replayed=True`.
        """
        return await self._operate(
            "captures",
            payment_id,
            amount,
            priorities,
            idempotency_key,
            timeout,
            max_retries,
            extra_headers,
        )

    async def refund(
        self,
        payment_id: str,
        *,
        amount: int | None = None,
        priorities: Sequence[Priority | Mapping[str, Any]] | None = None,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> Operation:
        """Refund `amount` of what was captured (None: everything available to refund).

        By default card transactions are refunded first; same idempotency guarantees as capture.
        """
        return await self._operate(
            "refunds",
            payment_id,
            amount,
            priorities,
            idempotency_key,
            timeout,
            max_retries,
            extra_headers,
        )

    async def void(
        self,
        payment_id: str,
        *,
        amount: int | None = None,
        priorities: Sequence[Priority | Mapping[str, Any]] | None = None,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> Operation:
        """Void (cancel) `amount` of the authorized, uncaptured funds (None: all of it).

        Same idempotency guarantees as capture.
        """
        return await self._operate(
            "voids",
            payment_id,
            amount,
            priorities,
            idempotency_key,
            timeout,
            max_retries,
            extra_headers,
        )

    async def _operate(
        self,
        kind: str,
        payment_id: str,
        amount: int | None,
        priorities: Sequence[Priority | Mapping[str, Any]] | None,
        idempotency_key: str | None,
        timeout: float | None,
        max_retries: int | None,
        extra_headers: Mapping[str, str] | None,
    ) -> Operation:
        path = f"{API_PREFIX}/payments/{check_id('payment_id', payment_id)}/{kind}"
        if amount is not None:
            check_amount("amount", amount, allow_zero=False)
        # Chosen once, before the first attempt: every retry must present the same key.
        key = key_or_new(idempotency_key)
        body = build_body(
            {
                "amount": amount,
                "priorities": None if priorities is None else check_list("priorities", priorities),
            },
            None,
        )
        try:
            operation = await self._requester.request_as(
                Operation,
                "POST",
                path,
                body=body,
                idempotency_key=key,
                timeout=timeout,
                max_retries=max_retries,
                extra_headers=extra_headers,
            )
        except IdempotencyConflictError as exc:
            # The key was used already: by an earlier attempt of this call (whose answer was
            # lost), or by the caller's earlier call with their key. Return that operation if
            # it is what this call asked for.
            return await self._resolve_replay(
                kind, payment_id, amount, key, exc, timeout, extra_headers
            )
        return attrs.evolve(operation, idempotency_key=key)

    async def _resolve_replay(
        self,
        kind: str,
        payment_id: str,
        amount: int | None,
        key: str,
        conflict: IdempotencyConflictError,
        timeout: float | None,
        extra_headers: Mapping[str, str] | None,
    ) -> Operation:
        try:
            if not conflict.resource_id:
                raise conflict
            payment = await self.retrieve(payment_id, timeout=timeout, extra_headers=extra_headers)
            operations: Sequence[Operation] = getattr(payment, kind)
            existing = next((op for op in operations if op.id == conflict.resource_id), None)
            if existing is None:
                # Not (yet) among this payment's operations: never pretend it succeeded.
                raise conflict
        except PurseError as exc:
            # Whatever failed, an operation with this key exists: the key is the one to retry
            # with, and the error says so.
            raise tag_error(exc, key, True) from None
        diffs = differences({"amount": amount}, {"amount": existing.amount})
        if diffs:
            raise mismatch_error(conflict, key, kind[:-1], diffs)
        logger.info(
            "%s on payment %s replayed (key %s): existing operation %s",
            kind[:-1],
            payment_id,
            key,
            existing.id,
        )
        return attrs.evolve(existing, idempotency_key=key, replayed=True)
