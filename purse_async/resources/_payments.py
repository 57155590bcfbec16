"""`purse.payments`: create (advanced flow), retrieve, and the money-moving capture/refund/void.

Every money-moving POST carries an idempotency key chosen before the first attempt.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .. import models as _models
from .._config import Settings
from .._errors import ValidationError
from .._requester import Requester, keyed
from .._response import AsyncRawResponses, raw_response
from ._base import (
    API_PREFIX,
    AsyncAPIResource,
    build_body,
    check_amount,
    check_currency,
    check_id,
    check_list,
    check_saving_customer,
    key_or_new,
    optional_object,
)
from ._operations import operate
from ._outcomes import create_once
from ._polling import Fetch, check_polling
from ._polling import wait_for_authorization as _wait
from ._polling import watch as _watch
from ._saved_cards import check_charge_order, future_usage_split, saved_card_item

if TYPE_CHECKING:
    from .._attempts import (
        AttemptRecord,
        AttemptStore,
        AuthorizationOutcome,
        RetryDecision,
    )
    from .._authorization_retry import AuthorizationRetry, Initiator
    from ..models import Browser, Customer, Order, Priority, SplitItem, Webhook
    from ..models.operation import Operation
    from ..models.payment import Payment

__all__ = ["AsyncPayments", "AsyncPaymentsWithRawResponse"]


class AsyncPayments(AsyncAPIResource):
    """Payments: `POST/GET /payment/v2/payments`, `POST .../{id}/captures|refunds|voids`.

    Every call takes `timeout` (seconds per attempt), `deadline` (seconds for the whole call,
    retries and waits included), `max_retries` and `extra_headers`, overriding the client's
    for that call; the calls that write also take `idempotency_key`.
    """

    def __init__(self, requester: Requester, settings: Settings) -> None:
        super().__init__(requester, settings)
        # The retry machinery (_attempts, _authorize) is imported by a client, not by
        # `import purse_async` (benchmarks/README.md, "Import time").
        from .._attempts import MemoryAttemptStore

        # Made now, not on first use: clients made by `with_options` share them.
        self._attempt_store: AttemptStore = MemoryAttemptStore()
        self._order_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    @property
    def with_raw_response(self) -> AsyncPaymentsWithRawResponse:
        """These methods returning an `APIResponse` (status, headers, request id, attempts,
        idempotency key, elapsed time) around their result, `.parsed`."""
        return AsyncPaymentsWithRawResponse(self)

    async def create(
        self,
        *,
        amount: int,
        currency: str,
        split: Sequence[SplitItem | Mapping[str, Any]],
        browser: Browser | Mapping[str, Any] | None = None,
        order: Order | Mapping[str, Any] | None = None,
        customer: Customer | Mapping[str, Any] | None = None,
        shopper_redirection_url: str | None = None,
        entity_id: str | None = None,
        capture_mode: str | None = None,
        allow_future_usage: bool | None = None,
        webhook: Webhook | Mapping[str, Any] | None = None,
        retry: AuthorizationRetry | None = None,
        attempt_store: AttemptStore | None = None,
        extra_body: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        deadline: float | None = None,
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
        `browser` is needed when the shopper is present (3-D Secure); a merchant-initiated
        payment on a saved `wallet_token` has none.

        With `retry=AuthorizationRetry(...)` (MIT on a saved card only), this is
        `authorize_with_retry(...)` returning its final payment: failed attempts are followed
        at once by the new ones the policy allows, each keyed `{order reference}/authorization/
        {n}` (so no `idempotency_key`), recorded in `attempt_store`. Use `authorize_with_retry`
        to also get the attempts and the decision about the next one (e.g. retry tomorrow).
        """
        if retry is not None or attempt_store is not None:
            if retry is None or idempotency_key is not None or order is None:
                raise ValidationError(
                    "create(retry=...) needs retry= and order= (with a reference) and no "
                    "idempotency_key: each attempt's key is derived from the order reference",
                    field="retry",
                    value=retry,
                )
            outcome = await self.authorize_with_retry(
                amount=amount,
                currency=currency,
                split=split,
                order=order,
                retry=retry,
                attempt_store=attempt_store,
                browser=browser,
                customer=customer,
                shopper_redirection_url=shopper_redirection_url,
                entity_id=entity_id,
                capture_mode=capture_mode,
                allow_future_usage=allow_future_usage,
                webhook=webhook,
                extra_body=extra_body,
                timeout=timeout,
                deadline=deadline,
                max_retries=max_retries,
                extra_headers=extra_headers,
            )
            return outcome.payment
        key = key_or_new(idempotency_key)
        with keyed(key):  # refused before sending: the error still hands the key over
            check_amount("amount", amount, allow_zero=bool(allow_future_usage))
            body = self._create_body(
                amount=amount,
                currency=currency,
                split=split,
                browser=browser,
                order=order,
                customer=customer,
                shopper_redirection_url=shopper_redirection_url,
                entity_id=entity_id,
                capture_mode=capture_mode,
                allow_future_usage=allow_future_usage,
                webhook=webhook,
                extra_body=extra_body,
            )
        return await self._send_create(
            body,
            key=key,
            timeout=timeout,
            deadline=deadline,
            max_retries=max_retries,
            extra_headers=extra_headers,
        )

    def _create_body(
        self,
        *,
        amount: int,
        currency: str,
        split: Sequence[Any],
        browser: Any,
        order: Any,
        customer: Any,
        shopper_redirection_url: str | None,
        entity_id: str | None,
        capture_mode: str | None,
        allow_future_usage: bool | None,
        webhook: Any,
        extra_body: Mapping[str, Any] | None,
    ) -> dict[str, Any]:
        """The checked body of a creation (`amount` checked by the caller). One place for both
        `create` and `authorize_with_retry`, which checks it once before its first attempt."""
        return build_body(
            {
                "entity_id": self._entity_id(entity_id),
                "amount": amount,
                "currency": check_currency(currency),
                "order": optional_object("order", order, model=_models.Order),
                "customer": optional_object("customer", customer, model=_models.Customer),
                "shopper_redirection_url": shopper_redirection_url,
                "split": check_list("split", split, model=_models.SplitItem),
                "browser": optional_object("browser", browser, model=_models.Browser),
                "capture_mode": capture_mode,
                "allow_future_usage": allow_future_usage,
                "webhook": optional_object("webhook", webhook, model=_models.Webhook),
            },
            extra_body,
        )

    async def _send_create(
        self,
        body: Mapping[str, Any],
        *,
        key: str,
        timeout: float | None,
        deadline: float | None,
        max_retries: int | None,
        extra_headers: Mapping[str, str] | None,
    ) -> Payment:
        """POST a body from `_create_body` under `key` (see `create` for what is re-sent)."""
        return await create_once(
            self._requester,
            _models.Payment,
            f"{API_PREFIX}/payments",
            body=body,
            key=key,
            resource="payment",
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
        amount: int,
        currency: str,
        split: Sequence[SplitItem | Mapping[str, Any]],
        browser: Browser | Mapping[str, Any],
        order: Order | Mapping[str, Any],
        customer: Customer | Mapping[str, Any],
        shopper_redirection_url: str | None = None,
        entity_id: str | None = None,
        capture_mode: str | None = None,
        webhook: Webhook | Mapping[str, Any] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        deadline: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> Payment:
        """A customer-initiated payment (advanced flow) that saves the card for later
        merchant-initiated charges (docs/saved-cards.md; Purse's CIT/MIT guide).

        Sets `allow_future_usage: true` and, on each split item holding the shopper's
        `vault_form_token`, `three_ds_authentication_options.challenge_indicator:
        CHALLENGE_REQUESTED_BY_MERCHANT` (a strong authentication; an item asking for another
        indicator is refused). `customer` needs a `reference`: the saved card is listed under
        it. The AUTHORIZED card transaction then names the token (in the sandbox:
        `wallet_token`). Otherwise as `create` (same idempotency rules).
        """
        key = key_or_new(idempotency_key)
        with keyed(key):
            # Checked once: `create` passes checked bodies on as they are.
            customer = check_saving_customer(customer)
            split = future_usage_split(split)
        return await self.create(
            amount=amount,
            currency=currency,
            split=split,
            browser=browser,
            order=order,
            customer=customer,
            shopper_redirection_url=shopper_redirection_url,
            entity_id=entity_id,
            capture_mode=capture_mode,
            allow_future_usage=True,
            webhook=webhook,
            extra_body=extra_body,
            idempotency_key=key,
            timeout=timeout,
            deadline=deadline,
            max_retries=max_retries,
            extra_headers=extra_headers,
        )

    async def charge_saved_card(
        self,
        *,
        wallet_token: str,
        amount: int,
        currency: str,
        order: Order | Mapping[str, Any],
        partner: str | None = None,
        method: str | None = None,
        customer: Customer | Mapping[str, Any] | None = None,
        entity_id: str | None = None,
        capture_mode: str | None = None,
        webhook: Webhook | Mapping[str, Any] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        deadline: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> Payment:
        """A merchant-initiated payment (MIT) on a saved card: no shopper, no browser, no 3-D
        Secure. `wallet_token` is a token's id (`purse.wallet.list_tokens`, or the
        `wallet_token` of the set-up payment's AUTHORIZED transaction).

        Purse does not document the MIT request; this sends the SDK's written assumption
        (docs/saved-cards.md): `split: [{"wallet_token", "amount", "partner"?, "method"?}]` and
        no `browser`. `extra_body` adds root members the real API may want. Keyed like
        `create` (your `idempotency_key` or a generated one) and, like it, never re-sent once
        it may have reached Purse: `OutcomeUnknownError` then hands over the key. Check
        `authorization.status` (`REFUSED` is an answer, not an error); for scheduled retries
        of declines use `authorize_with_retry`.
        """
        key = key_or_new(idempotency_key)
        with keyed(key):
            split = [saved_card_item(wallet_token, amount, partner=partner, method=method)]
            # The order's reference is required: docs/saved-cards.md. Checked once.
            order = check_charge_order(order)
        return await self.create(
            amount=amount,
            currency=currency,
            split=split,
            order=order,
            customer=customer,
            entity_id=entity_id,
            capture_mode=capture_mode,
            webhook=webhook,
            extra_body=extra_body,
            idempotency_key=key,
            timeout=timeout,
            deadline=deadline,
            max_retries=max_retries,
            extra_headers=extra_headers,
        )

    async def authorize_with_retry(
        self,
        *,
        amount: int,
        currency: str,
        split: Sequence[SplitItem | Mapping[str, Any]],
        order: Order | Mapping[str, Any],
        retry: AuthorizationRetry | None = None,
        attempt_store: AttemptStore | None = None,
        browser: Browser | Mapping[str, Any] | None = None,
        customer: Customer | Mapping[str, Any] | None = None,
        shopper_redirection_url: str | None = None,
        entity_id: str | None = None,
        capture_mode: str | None = None,
        allow_future_usage: bool | None = None,
        webhook: Webhook | Mapping[str, Any] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        timeout: float | None = None,
        deadline: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> AuthorizationOutcome:
        """Authorize a merchant-initiated (MIT) payment on a saved card, with the new attempts
        `retry` (default `AuthorizationRetry()`) allows at once (docs/authorization.md).

        `split` is one item with a `wallet_token`; `order` needs a `reference`. Attempt n is
        created with the key `{order reference}/authorization/{n}` and recorded in
        `attempt_store` (default: a `MemoryAttemptStore` kept by this client; pass a durable
        one to survive restarts) before it is sent and once answered. A soft decline is tried
        again at once on the next eligible partner not tried yet (`eligible_solutions`), a
        technical `ERROR` once; the loop never sleeps: a later retry comes back as a
        `RETRY_AT` decision, so call again at `decision.at` (the same order and store resume
        where they stopped). Returns the last attempt's payment, the attempts and the decision.

        Calling again is always safe: attempt n is read back, never created twice. An
        ambiguous failure (`OutcomeUnknownError`, any error with `may_have_been_applied`) stops
        the loop and propagates; the attempt stays "in flight" and the next call raises
        `OutcomeUnknownError` rather than guess, unless the client has
        `idempotent_creates=True` (then it re-sends that attempt under its key). `deadline`
        bounds the whole call, every request of it included; `timeout` each HTTP attempt.
        """
        from ._authorize import authorize_with_retry as _authorize_with_retry

        return await _authorize_with_retry(
            self,
            amount=amount,
            currency=currency,
            split=split,
            order=order,
            customer=customer,
            create={
                "browser": browser,
                "shopper_redirection_url": shopper_redirection_url,
                "entity_id": entity_id,
                "capture_mode": capture_mode,
                "allow_future_usage": allow_future_usage,
                "webhook": webhook,
                "extra_body": extra_body,
            },
            retry=retry,
            attempt_store=attempt_store,
            timeout=timeout,
            deadline=deadline,
            max_retries=max_retries,
            extra_headers=extra_headers,
        )

    async def retry_decision(
        self,
        payment: Payment | str,
        *,
        initiator: Initiator,
        history: Sequence[AttemptRecord] = (),
        policy: AuthorizationRetry | None = None,
        timeout: float | None = None,
        deadline: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> RetryDecision:
        """May a new authorization attempt follow this payment, and how (docs/authorization.md)?

        Re-reads the payment first (a webhook's copy may be stale), and for an MIT decline
        lists the eligible solutions, then applies `AuthorizationRetry.decide`: `DONT_RETRY`,
        `RETRY_NOW`, `RETRY_AT` (`decision.at`) or `ASK_SHOPPER` (CIT), with the reason, the
        partners already tried and the idempotency key of the next attempt. `initiator` is
        "CIT" (shopper present) or "MIT"; `history` the order's earlier attempts (e.g. an
        `AttemptStore`'s records). `deadline` bounds the whole call (both requests), `timeout`
        each HTTP attempt.
        """
        from ._authorize import retry_decision as _retry_decision

        return await _retry_decision(
            self,
            payment,
            initiator=initiator,
            history=history,
            policy=policy,
            timeout=timeout,
            deadline=deadline,
            max_retries=max_retries,
            extra_headers=extra_headers,
        )

    def _default_attempt_store(self) -> AttemptStore:
        return self._attempt_store

    def _order_lock(self, order_reference: str) -> asyncio.Lock:
        """One authorization loop at a time per order in this client (and the clients
        `with_options` derives from it)."""
        locks = self._order_locks
        lock = locks.get(order_reference)
        if lock is None:
            lock = locks[order_reference] = asyncio.Lock()
        return lock

    async def retrieve(
        self,
        payment_id: str,
        *,
        timeout: float | None = None,
        deadline: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> Payment:
        """Get a payment with its authorization, partner transactions, operations and amounts."""
        return await self._requester.request_as(
            _models.Payment,
            "GET",
            f"{API_PREFIX}/payments/{check_id('payment_id', payment_id)}",
            timeout=timeout,
            deadline=deadline,
            max_retries=max_retries,
            extra_headers=extra_headers,
        )

    async def wait_for_authorization(
        self,
        payment_id: str,
        *,
        poll_interval: float = 1.0,
        max_poll_interval: float = 30.0,
        timeout: float | None = None,
        deadline: float = 300.0,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> Payment:
        """Poll a `PENDING` payment until its authorization status is final, and return it.

        Final is anything but PENDING (AUTHORIZED, REFUSED, ERROR, ABORTED, and statuses this
        SDK does not know yet: check `status.is_known`); a payment already final is returned
        after one GET. Polls back off from `poll_interval` to `max_poll_interval` seconds (x1.5
        each time). `deadline` bounds the whole wait, every GET included: when it runs out,
        `APITimeoutError` names the payment and the last status seen. Each GET follows the
        client's retry rules, bounded by the client's `deadline` or what is left of the wait;
        `timeout` bounds each HTTP attempt (default: the client's `timeout`). Other errors
        (e.g. `NotFoundError`) end the wait at once.
        """
        check_polling(
            deadline=deadline,
            poll_interval=poll_interval,
            max_poll_interval=max_poll_interval,
            timeout=timeout,
            deadline_optional=False,
        )
        fetch = self._poller(payment_id, timeout, max_retries, extra_headers)
        return await _wait(
            fetch,
            deadline=deadline,
            poll_interval=poll_interval,
            max_poll_interval=max_poll_interval,
        )

    def watch(
        self,
        payment_id: str,
        *,
        poll_interval: float = 1.0,
        max_poll_interval: float = 30.0,
        timeout: float | None = None,
        deadline: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> AsyncIterator[Payment]:
        """Iterate over a payment's versions as they change (poll, no webhook needed).

        Yields the current payment first, then the payment each time its `version` grows
        (a newer state: settled authorization, capture, refund, void...). It does not stop at
        a final status: it ends quietly once `deadline` seconds have passed (None: never), or
        when you break out of the loop (each step waits for the next change). Polls back off
        from `poll_interval` to `max_poll_interval` seconds while nothing changes, and start
        again at `poll_interval` after a change. Each GET follows the client's retry rules
        (`timeout` per attempt, `max_retries`, `extra_headers` as for `retrieve`, each GET
        bounded by the client's `deadline`); an error that outlasts them ends the iteration
        with that error. Options are checked when called.
        """
        check_polling(
            deadline=deadline,
            poll_interval=poll_interval,
            max_poll_interval=max_poll_interval,
            timeout=timeout,
            deadline_optional=True,
        )
        fetch = self._poller(payment_id, timeout, max_retries, extra_headers)
        return _watch(
            fetch,
            deadline=deadline,
            poll_interval=poll_interval,
            max_poll_interval=max_poll_interval,
        )

    def _poller(
        self,
        payment_id: str,
        timeout: float | None,
        max_retries: int | None,
        extra_headers: Mapping[str, str] | None,
    ) -> Fetch:
        return Fetch(
            self.retrieve,
            check_id("payment_id", payment_id),
            timeout=timeout,
            call_deadline=self._settings.retry.deadline,
            max_retries=max_retries,
            extra_headers=extra_headers,
        )

    async def capture(
        self,
        payment_id: str,
        *,
        amount: int | None = None,
        priorities: Sequence[Priority | Mapping[str, Any]] | None = None,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        deadline: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> Operation:
        """Capture `amount` (minor units; None: everything available to capture).

        `priorities` orders the partner transactions (`{"partner": "*", "method": "*"}` stands
        for all the others); by default gift cards are captured first. Retries reuse one
        idempotency key, so a capture is never applied twice; if an earlier attempt did go
        through, the existing operation is returned with `replayed=True`.
        """
        return await operate(
            self,
            "captures",
            payment_id,
            amount,
            priorities,
            idempotency_key,
            timeout,
            deadline,
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
        deadline: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> Operation:
        """Refund `amount` of what was captured (None: everything available to refund).

        By default card transactions are refunded first; same idempotency guarantees as capture.
        """
        return await operate(
            self,
            "refunds",
            payment_id,
            amount,
            priorities,
            idempotency_key,
            timeout,
            deadline,
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
        deadline: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> Operation:
        """Void (cancel) `amount` of the authorized, uncaptured funds (None: all of it).

        Same idempotency guarantees as capture.
        """
        return await operate(
            self,
            "voids",
            payment_id,
            amount,
            priorities,
            idempotency_key,
            timeout,
            deadline,
            max_retries,
            extra_headers,
        )


class AsyncPaymentsWithRawResponse(AsyncRawResponses[AsyncPayments]):
    """`purse.payments.with_raw_response`: each call returns an `APIResponse`."""

    create = raw_response(AsyncPayments.create)
    create_for_future_usage = raw_response(AsyncPayments.create_for_future_usage)
    charge_saved_card = raw_response(AsyncPayments.charge_saved_card)
    retrieve = raw_response(AsyncPayments.retrieve)
    capture = raw_response(AsyncPayments.capture)
    refund = raw_response(AsyncPayments.refund)
    void = raw_response(AsyncPayments.void)
