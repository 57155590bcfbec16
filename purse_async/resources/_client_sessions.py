"""`purse.client_sessions`: create, retrieve and abort the sessions every checkout starts with.

One method per endpoint; the id is positional, everything else keyword-only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .. import models as _models
from .._converter import structure
from .._errors import PurseError, ValidationError
from .._requester import keyed, tag_error
from .._response import AsyncRawResponses, raw_response, reading_back
from ..models import ChallengeIndicator
from ._base import (
    API_PREFIX,
    AsyncAPIResource,
    Budget,
    build_body,
    check_amount,
    check_currency,
    check_id,
    check_idempotency_key,
    check_object,
    check_redirection_url,
    check_saving_customer,
    optional_object,
)
from ._outcomes import create_once

if TYPE_CHECKING:
    from ..models import Customer, Order, ThreeDsAuthenticationOptions, Webhook
    from ..models.client_session import ClientSession

__all__ = ["AsyncClientSessions", "AsyncClientSessionsWithRawResponse"]


class AsyncClientSessions(AsyncAPIResource):
    """Client sessions: `POST/GET /payment/v2/client-sessions`, `POST .../{id}/abort`."""

    @property
    def with_raw_response(self) -> AsyncClientSessionsWithRawResponse:
        """These methods returning an `APIResponse` (status, headers, request id, attempts,
        idempotency key, elapsed time) around their result, `.parsed`."""
        return AsyncClientSessionsWithRawResponse(self)

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
        capture_delay: str | None = None,
        integration_mode: str | None = None,
        webhook: Webhook | Mapping[str, Any] | None = None,
        three_ds_authentication_options: ThreeDsAuthenticationOptions
        | Mapping[str, Any]
        | None = None,
        allow_future_usage: bool | None = None,
        extra_body: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        deadline: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> ClientSession:
        """Create a client session: the widget data and hosted page link for one checkout.

        `amount` is an int in minor units (0 only with `allow_future_usage=True`). This POST is
        not re-sent once it may have reached the server; with an `idempotency_key` that case
        raises `OutcomeUnknownError` carrying it (unless the client has
        `idempotent_creates=True`), and a replay of the key for another amount, currency or
        order raises `IdempotencyConflictError`.

        `timeout` bounds each attempt, `deadline` the whole call with its retries (defaults:
        the client's); `max_retries` and `extra_headers` apply to this call only.
        """
        key = check_idempotency_key(idempotency_key)
        with keyed(key):  # refused before sending: the error still hands the key over
            check_amount("amount", amount, allow_zero=True)
            if amount == 0 and not allow_future_usage:
                raise ValidationError(
                    "amount 0 is only allowed with allow_future_usage=True",
                    field="amount",
                    value=0,
                )
            body = build_body(
                {
                    "entity_id": self._entity_id(entity_id),
                    "amount": amount,
                    "currency": check_currency(currency),
                    "capture_mode": capture_mode,
                    "capture_delay": capture_delay,
                    "integration_mode": integration_mode,
                    "shopper_redirection_url": check_redirection_url(shopper_redirection_url),
                    "order": check_object("order", order, model=_models.Order),
                    "customer": optional_object("customer", customer, model=_models.Customer),
                    "webhook": optional_object("webhook", webhook, model=_models.Webhook),
                    "three_ds_authentication_options": optional_object(
                        "three_ds_authentication_options",
                        three_ds_authentication_options,
                        model=_models.ThreeDsAuthenticationOptions,
                    ),
                    "allow_future_usage": allow_future_usage,
                },
                extra_body,
            )
        return await create_once(
            self._requester,
            _models.ClientSession,
            f"{API_PREFIX}/client-sessions",
            body=body,
            key=key,
            resource="client session",
            deduplicated=self._settings.idempotent_creates,
            retrieve=lambda found_id, left: self.retrieve(
                found_id, timeout=timeout, deadline=left, extra_headers=extra_headers
            ),
            timeout=timeout,
            deadline=deadline,
            max_retries=max_retries,
            extra_headers=extra_headers,
        )

    async def create_for_future_usage(
        self,
        *,
        currency: str,
        shopper_redirection_url: str,
        order: Order | Mapping[str, Any],
        customer: Customer | Mapping[str, Any],
        amount: int = 0,
        entity_id: str | None = None,
        capture_mode: str | None = None,
        integration_mode: str | None = None,
        webhook: Webhook | Mapping[str, Any] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        deadline: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> ClientSession:
        """Create the session of a customer-initiated payment that saves the card for later
        merchant-initiated charges (docs/saved-cards.md; Purse's CIT/MIT guide).

        Sets what the guide asks for: `allow_future_usage: true` and
        `three_ds_authentication_options.challenge_indicator: CHALLENGE_REQUESTED_BY_MERCHANT`
        (a strong authentication, without which later MITs are not eligible). `amount` 0 (the
        default) only checks the card and its holder; more also charges it. `customer` needs a
        `reference`: the saved card is listed under it (`purse.wallet.list_tokens`). Otherwise
        as `create` (same idempotency rules).
        """
        key = check_idempotency_key(idempotency_key)
        with keyed(key):
            customer = check_saving_customer(customer)  # checked once: passed on as it is
        return await self.create(
            amount=amount,
            currency=currency,
            shopper_redirection_url=shopper_redirection_url,
            order=order,
            entity_id=entity_id,
            customer=customer,
            capture_mode=capture_mode,
            integration_mode=integration_mode,
            webhook=webhook,
            three_ds_authentication_options={
                "challenge_indicator": ChallengeIndicator.CHALLENGE_REQUESTED_BY_MERCHANT
            },
            allow_future_usage=True,
            extra_body=extra_body,
            idempotency_key=key,
            timeout=timeout,
            deadline=deadline,
            max_retries=max_retries,
            extra_headers=extra_headers,
        )

    async def retrieve(
        self,
        client_session_id: str,
        *,
        timeout: float | None = None,
        deadline: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> ClientSession:
        """Get a client session: its status and, once submitted, payment id and authorization."""
        return await self._requester.request_as(
            _models.ClientSession,
            "GET",
            f"{API_PREFIX}/client-sessions/{check_id('client_session_id', client_session_id)}",
            timeout=timeout,
            deadline=deadline,
            max_retries=max_retries,
            extra_headers=extra_headers,
        )

    async def abort(
        self,
        client_session_id: str,
        *,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        deadline: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> ClientSession:
        """Abort a client session that was not submitted (status `ABORTED_BY_MERCHANT`).

        Raises `ConflictError` if the session is already submitted, expired or aborted. A
        `303 See Other` answer (Purse's hosted-page docs redirect to the redirection URL after an
        abort) is a success: the redirect is not followed, and the session is read back
        (`with_raw_response.abort` reports the 303 itself, with the session as `.parsed`).
        `deadline` (default: the client's) bounds the abort and that read-back together.
        """
        key = check_idempotency_key(idempotency_key)
        with keyed(key):
            session_id = check_id("client_session_id", client_session_id)
        path = f"{API_PREFIX}/client-sessions/{session_id}"
        budget = Budget.of_call(self._requester, deadline)
        result = await self._requester.request(
            "POST",
            f"{path}/abort",
            body={},
            idempotency_key=key,
            timeout=timeout,
            deadline=deadline,
            max_retries=max_retries,
            extra_headers=extra_headers,
            see_other_ok=True,
        )
        try:
            if isinstance(result, Mapping) and "id" in result:
                return structure(result, _models.ClientSession)
            # The docs leave the answer's body open (a 303 has none we read); the session
            # itself is the useful result. Only read back: a raw response still reports the
            # abort's own answer (its 303, headers and request id).
            with reading_back():
                return await self.retrieve(
                    client_session_id,
                    timeout=timeout,
                    deadline=budget.left(),  # the abort's deadline bounds both requests
                    extra_headers=extra_headers,
                )
        except PurseError as exc:
            # The abort was applied: only reading its answer or the session failed. Aborting
            # again with the key is safe; without one, the error still says it was applied.
            exc.may_have_been_applied = True
            raise tag_error(exc, key, True) from None


class AsyncClientSessionsWithRawResponse(AsyncRawResponses[AsyncClientSessions]):
    """`purse.client_sessions.with_raw_response`: each call returns an `APIResponse`."""

    create = raw_response(AsyncClientSessions.create)
    create_for_future_usage = raw_response(AsyncClientSessions.create_for_future_usage)
    retrieve = raw_response(AsyncClientSessions.retrieve)
    abort = raw_response(AsyncClientSessions.abort)
