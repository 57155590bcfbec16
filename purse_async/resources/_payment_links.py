"""`purse.payment_links` (Pay by Link): create a shareable payment URL and read its status.

The creation is keyed and never re-sent once it may have reached Purse (as client sessions).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .. import models as _models
from .._requester import keyed
from .._response import AsyncRawResponses, raw_response
from ._base import (
    API_PREFIX,
    AsyncAPIResource,
    build_body,
    check_amount,
    check_currency,
    check_id,
    check_object,
    check_redirection_url,
    key_or_new,
    optional_object,
)
from ._outcomes import create_once

if TYPE_CHECKING:
    from ..models import Customer, Order, ThreeDsAuthenticationOptions, Webhook
    from ..models.payment_link import PaymentLink

__all__ = ["AsyncPaymentLinks", "AsyncPaymentLinksWithRawResponse"]


class AsyncPaymentLinks(AsyncAPIResource):
    """Payment links: `POST /payment/v2/payment-links` (documented), `GET .../{id}` (inferred)."""

    @property
    def with_raw_response(self) -> AsyncPaymentLinksWithRawResponse:
        """These methods returning an `APIResponse` (status, headers, request id, attempts,
        idempotency key, elapsed time) around their result, `.parsed`."""
        return AsyncPaymentLinksWithRawResponse(self)

    async def create(
        self,
        *,
        amount: int,
        currency: str,
        shopper_redirection_url: str,
        order: Order | Mapping[str, Any],
        entity_id: str | None = None,
        customer: Customer | Mapping[str, Any] | None = None,
        capture_mode: str | None = None,
        webhook: Webhook | Mapping[str, Any] | None = None,
        three_ds_authentication_options: ThreeDsAuthenticationOptions
        | Mapping[str, Any]
        | None = None,
        extra_body: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        deadline: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> PaymentLink:
        """Create a payment link: send `link.url` to the customer (email, SMS, ...).

        Required (documented): `amount` (int > 0, minor units), `currency`,
        `shopper_redirection_url` (where the customer lands after an attempt), `order` and
        `entity_id` (default: the client's). `customer`, `capture_mode`, `webhook` and
        `three_ds_authentication_options` are sent as on a client session (an assumption;
        `extra_body` sends what the real API wants). With `webhook={"url": ...}` that URL
        receives both streams: the link's status changes (a `PaymentLink` body) and each
        attempt's payment (a `Payment` body); `webhooks.parse_any` tells them apart.

        Always sent with an idempotency key (yours or a generated one). Purse documents no
        deduplication of link creation, so once the request may have reached Purse it is not
        re-sent: `OutcomeUnknownError` carries the key, amount and order reference (unless the
        client has `idempotent_creates=True`); retry with `err.idempotency_key` once you know.
        A replay of the key for another amount, currency or order raises
        `IdempotencyConflictError` naming the differences.

        `timeout` bounds each attempt, `deadline` the whole call with its retries (defaults:
        the client's); `max_retries` and `extra_headers` apply to this call only.
        """
        key = key_or_new(idempotency_key)
        with keyed(key):  # refused before sending: the error still hands the key over
            check_amount("amount", amount, allow_zero=False)
            body = build_body(
                {
                    "entity_id": self._entity_id(entity_id),
                    "amount": amount,
                    "currency": check_currency(currency),
                    "capture_mode": capture_mode,
                    "shopper_redirection_url": check_redirection_url(shopper_redirection_url),
                    "order": check_object("order", order, model=_models.Order),
                    "customer": optional_object("customer", customer, model=_models.Customer),
                    "webhook": optional_object("webhook", webhook, model=_models.Webhook),
                    "three_ds_authentication_options": optional_object(
                        "three_ds_authentication_options",
                        three_ds_authentication_options,
                        model=_models.ThreeDsAuthenticationOptions,
                    ),
                },
                extra_body,
            )
        return await create_once(
            self._requester,
            _models.PaymentLink,
            f"{API_PREFIX}/payment-links",
            body=body,
            key=key,
            resource="payment link",
            deduplicated=self._settings.idempotent_creates,
            retrieve=lambda found_id, left: self.retrieve(
                found_id, timeout=timeout, deadline=left, extra_headers=extra_headers
            ),
            timeout=timeout,
            deadline=deadline,
            max_retries=max_retries,
            extra_headers=extra_headers,
        )

    async def retrieve(
        self,
        payment_link_id: str,
        *,
        timeout: float | None = None,
        deadline: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> PaymentLink:
        """Get a payment link: its `status` (`OPENED`, `PAID`, ...) and its attempts' payments.

        The path `GET /payment/v2/payment-links/{id}` is inferred (REST convention of the
        documented create), not documented.
        """
        return await self._requester.request_as(
            _models.PaymentLink,
            "GET",
            f"{API_PREFIX}/payment-links/{check_id('payment_link_id', payment_link_id)}",
            timeout=timeout,
            deadline=deadline,
            max_retries=max_retries,
            extra_headers=extra_headers,
        )


class AsyncPaymentLinksWithRawResponse(AsyncRawResponses[AsyncPaymentLinks]):
    """`purse.payment_links.with_raw_response`: each call returns an `APIResponse`."""

    create = raw_response(AsyncPaymentLinks.create)
    retrieve = raw_response(AsyncPaymentLinks.retrieve)
