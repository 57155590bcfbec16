"""Type-checked (mypy --strict in CI), never run: the sync API returns plain values, not
coroutines, so blocking callers get exact types (were a coroutine type to leak, each annotated
assignment below would fail to type-check)."""

from __future__ import annotations

import purse_async
import purse_async.models
import purse_async.testing
import purse_sync
from purse_sync import (
    APIResponse,
    ClientSession,
    EligibleSolutionList,
    JsonWebKeySet,
    Operation,
    Payment,
    RedirectionResult,
    Settings,
)


def checkout(purse: purse_sync.Purse, redirect_url: str) -> int:
    solutions: EligibleSolutionList = purse.eligible_solutions.list(
        amount=12000, currency="EUR", order={"reference": "typed-1"}
    )
    assert solutions.eligible_solutions
    session: ClientSession = purse.client_sessions.create(
        amount=12000,
        currency="EUR",
        shopper_redirection_url="https://shop.example/back",
        order={"reference": "typed-1"},
    )
    assert session.widget is not None
    again: ClientSession = purse.client_sessions.retrieve(session.id, timeout=5.0)
    assert again.id == session.id
    keys: JsonWebKeySet = purse.signing_keys.retrieve()
    assert keys.keys
    redirect: RedirectionResult = purse.redirections.verify(redirect_url)
    assert redirect.payment_id is not None
    payment: Payment = purse.payments.retrieve(redirect.payment_id)
    capture: Operation = purse.payments.capture(payment.id, amount=5000, timeout=10.0)
    refund: Operation = purse.payments.refund(payment.id, amount=1000, idempotency_key="r-1")
    void: Operation = purse.payments.void(payment.id)
    assert refund.id != void.id
    purse.close()
    return capture.amount or 0


def webhook(
    purse: purse_sync.Purse, body: bytes, signature: str | None, remote_ip: str
) -> Payment | None:
    if not purse.webhooks.is_trusted_source(remote_ip):
        return None
    purse.webhooks.verify_signature(body, signature, secret="whsec")
    return purse.webhooks.parse(body)


def about(purse: purse_sync.Purse) -> tuple[Settings, int, bool]:
    purse.authenticate(deadline=5.0)
    return purse.settings, purse.token_requests, purse.is_closed


def with_metadata(purse: purse_sync.Purse, payment_id: str) -> str | None:
    quick: purse_sync.Purse = purse.with_options(timeout=2.0, deadline=5.0, max_retries=1)
    fetched: APIResponse[Payment] = quick.payments.with_raw_response.retrieve(payment_id)
    payment: Payment = fetched.parsed
    captured: APIResponse[Operation] = purse.payments.with_raw_response.capture(
        payment.id, amount=100, idempotency_key="c-1", deadline=10.0
    )
    assert captured.parsed.amount == 100 and captured.attempts >= 1
    keys: APIResponse[JsonWebKeySet] = purse.signing_keys.with_raw_response.retrieve()
    assert keys.status == 200 and keys.headers.get("content-type")
    return fetched.request_id or captured.idempotency_key


def from_env() -> purse_sync.Purse:
    with purse_sync.Purse.from_env(max_retries=1) as purse:
        return purse


def catches_what_purse_async_raises(purse: purse_sync.Purse) -> str | None:
    try:
        purse.payments.retrieve("missing")
    except purse_sync.NotFoundError as exc:
        return str(exc)
    return None


def misspelt_names_are_type_errors() -> object:
    # The packages resolve names lazily, but mypy sees no module `__getattr__` (it would
    # accept any name): a misspelt one is an error (--strict flags an unused ignore).
    return (
        purse_async.models.Paymnt,  # type: ignore[attr-defined]
        purse_async.testing.Sandboxx,  # type: ignore[attr-defined]
        purse_async.Paymnt,  # type: ignore[attr-defined]
        purse_sync.Paymnt,  # type: ignore[attr-defined]
    )
