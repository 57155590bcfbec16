"""Type-checked (mypy --strict in CI), never run: the sync API returns plain values, not
coroutines, so blocking callers get exact types."""

from __future__ import annotations

import purse_sync
from purse_sync import ClientSession, Operation, Payment, RedirectionResult


def checkout(purse: purse_sync.Purse, redirect_url: str) -> int:
    session: ClientSession = purse.client_sessions.create(
        amount=12000,
        currency="EUR",
        shopper_redirection_url="https://shop.example/back",
        order={"reference": "typed-1"},
    )
    assert session.widget is not None
    redirect: RedirectionResult = purse.redirections.verify(redirect_url)
    assert redirect.payment_id is not None
    payment: Payment = purse.payments.retrieve(redirect.payment_id)
    capture: Operation = purse.payments.capture(payment.id, amount=5000, timeout=10.0)
    purse.close()
    return capture.amount or 0


def from_env() -> purse_sync.Purse:
    with purse_sync.Purse.from_env(max_retries=1) as purse:
        return purse
