"""Creations whose outcome is unknown: never re-sent unless the merchant says Purse deduplicates
them (`idempotent_creates`); replays checked against the request. Against the real sandbox, with
its deduplication on (documented behaviour) and off (a server that does not deduplicate)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

import purse_async as pa
import purse_sync as ps
from purse_async.testing import MagicCards, Sandbox, ThreadedSandbox

CREATE = "/payment/v2/payments"
SESSIONS = "/payment/v2/client-sessions"
LINKS = "/payment/v2/payment-links"
FAST = pa.RetryPolicy(max_retries=2, initial_backoff=0.0, jitter=0.0)


def payment_args(reference: str = "o-1", amount: int = 4999, **extra: Any) -> dict[str, Any]:
    return {
        "amount": amount,
        "currency": "EUR",
        "order": {"reference": reference},
        "split": [{"vault_form_token": "tok_" + MagicCards.AUTHORIZED, "amount": amount}],
        "browser": {"user_agent": "pytest"},
        **extra,
    }


def session_args(reference: str = "o-1", amount: int = 4999, **extra: Any) -> dict[str, Any]:
    return {
        "amount": amount,
        "currency": "EUR",
        "order": {"reference": reference},
        "shopper_redirection_url": "https://shop.example/back",
        **extra,
    }


def link_args(reference: str = "o-1", amount: int = 4999) -> dict[str, Any]:
    return {
        "amount": amount,
        "currency": "EUR",
        "order": {"reference": reference},
        "shopper_redirection_url": "https://shop.example/back",
    }


# What each kind of creation posts to, how it is called and what `Sandbox.created` calls it.
CREATIONS = {
    "payment": (CREATE, "payments", payment_args),
    "payment link": (LINKS, "payment_links", link_args),
}


async def create(purse: pa.AsyncPurse, kind: str, **args: Any) -> Any:
    if kind == "payment":
        return await purse.payments.create(**args)
    return await purse.payment_links.create(**args)


@pytest.fixture
async def purse(purse_sandbox: Sandbox) -> AsyncIterator[pa.AsyncPurse]:
    async with purse_sandbox.client(retry_policy=FAST) as client:
        yield client


async def test_create_whose_answer_was_lost_is_not_resent(
    purse: pa.AsyncPurse, purse_sandbox: Sandbox
) -> None:
    purse_sandbox.faults.drop_connection(1, when="after", path=CREATE)
    with pytest.raises(pa.OutcomeUnknownError) as caught:
        await purse.payments.create(**payment_args())
    err = caught.value
    assert isinstance(err, pa.APIConnectionError)  # existing handlers keep catching it
    assert not isinstance(err, pa.APITimeoutError)
    assert err.idempotency_key is not None and err.may_have_been_applied is True
    assert (err.resource, err.amount, err.currency, err.order_reference) == (
        "payment",
        4999,
        "EUR",
        "o-1",
    )
    assert purse_sandbox.stats.requests_by_path[f"POST {CREATE}"] == 1  # sent once only
    made = purse_sandbox.created("payments", order_reference="o-1")
    assert [p["id"] for p in made] == [
        p["id"] for p in purse_sandbox.created("payments", idempotency_key=err.idempotency_key)
    ]
    # Purse (like the sandbox) answers a replayed key with the payment it made: the caller's
    # retry with the error's key returns it, and the order still has one payment.
    payment = await purse.payments.create(**payment_args(), idempotency_key=err.idempotency_key)
    assert [p["id"] for p in purse_sandbox.created("payments", order_reference="o-1")] == [
        payment.id
    ]


async def test_create_that_timed_out_is_an_outcome_unknown_timeout(
    purse_sandbox: Sandbox,
) -> None:
    purse_sandbox.faults.latency(0.5, path=CREATE)
    async with purse_sandbox.client(retry_policy=FAST, timeout=0.2) as purse:
        with pytest.raises(pa.APITimeoutError) as caught:
            await purse.payments.create(**payment_args())
    assert isinstance(caught.value, pa.OutcomeUnknownTimeoutError)
    assert caught.value.idempotency_key is not None
    assert purse_sandbox.stats.requests_by_path[f"POST {CREATE}"] == 1


@pytest.mark.parametrize("status", [429, 408])
async def test_create_turned_away_unprocessed_is_resent(
    purse: pa.AsyncPurse, purse_sandbox: Sandbox, status: int
) -> None:
    purse_sandbox.faults.fail_next(1, status=status, path=CREATE, retry_after=0)
    payment = await purse.payments.create(**payment_args())
    assert [p["id"] for p in purse_sandbox.created("payments", order_reference="o-1")] == [
        payment.id
    ]


async def test_create_answered_5xx_is_not_resent_and_hands_over_its_key(
    purse: pa.AsyncPurse, purse_sandbox: Sandbox
) -> None:
    purse_sandbox.faults.fail_next(1, status=500, path=CREATE)
    with pytest.raises(pa.InternalServerError) as caught:
        await purse.payments.create(**payment_args())
    assert caught.value.idempotency_key is not None
    assert caught.value.may_have_been_applied is True
    assert purse_sandbox.stats.requests_by_path[f"POST {CREATE}"] == 1


@pytest.mark.parametrize("kind", list(CREATIONS))
async def test_idempotent_creates_resends_and_the_server_deduplicates(
    purse_sandbox: Sandbox, kind: str
) -> None:
    path, created, args = CREATIONS[kind]
    purse_sandbox.faults.drop_connection(1, when="after", path=path)
    async with purse_sandbox.client(retry_policy=FAST, idempotent_creates=True) as purse:
        made = await create(purse, kind, **args())
    assert purse_sandbox.stats.requests_by_path[f"POST {path}"] == 2
    assert [r["id"] for r in purse_sandbox.created(created, order_reference="o-1")] == [made.id]


async def test_links_are_always_keyed_sessions_only_when_asked(
    purse: pa.AsyncPurse, purse_sandbox: Sandbox
) -> None:
    # docs/payment-links.md, docs/errors.md: payment_links.create generates a key when given
    # none; client_sessions.create sends none unless given one.
    session = await purse.client_sessions.with_raw_response.create(**session_args("s-1"))
    link = await purse.payment_links.with_raw_response.create(**link_args("l-1"))
    assert session.idempotency_key is None
    assert purse_sandbox.state.creation_keys[session.parsed.id] is None  # no header arrived
    assert link.idempotency_key is not None
    made = purse_sandbox.created("payment_links", idempotency_key=link.idempotency_key)
    assert [r["id"] for r in made] == [link.parsed.id]


@pytest.mark.purse_sandbox(deduplicate_creates=False)
async def test_against_a_server_that_does_not_deduplicate_the_default_makes_one_payment(
    purse_sandbox: Sandbox,
) -> None:
    # Why the default is off: re-sending to such a server authorizes the card twice.
    purse_sandbox.faults.drop_connection(1, when="after", path=CREATE)
    async with purse_sandbox.client(retry_policy=FAST) as purse:
        with pytest.raises(pa.OutcomeUnknownError):
            await purse.payments.create(**payment_args())
    assert len(purse_sandbox.created("payments", order_reference="o-1")) == 1

    purse_sandbox.faults.drop_connection(1, when="after", path=CREATE)
    async with purse_sandbox.client(retry_policy=FAST, idempotent_creates=True) as purse:
        await purse.payments.create(**payment_args(reference="o-2"))
    assert len(purse_sandbox.created("payments", order_reference="o-2")) == 2


async def test_reused_key_with_another_body_is_a_conflict_naming_the_differences(
    purse: pa.AsyncPurse,
) -> None:
    first = await purse.payments.create(**payment_args(), idempotency_key="cart-1")
    with pytest.raises(pa.IdempotencyConflictError) as caught:
        await purse.payments.create(
            **payment_args(reference="o-9", amount=5000), idempotency_key="cart-1"
        )
    message = str(caught.value)
    assert "amount 4999 (this call asked 5000)" in message
    assert "order_reference 'o-1' (this call asked 'o-9')" in message
    assert caught.value.resource_id == first.id
    assert caught.value.idempotency_key == "cart-1"
    assert caught.value.may_have_been_applied is False  # this request was refused


async def test_reused_operation_key_with_another_amount_is_a_conflict(
    purse: pa.AsyncPurse, purse_sandbox: Sandbox
) -> None:
    payment = await purse.payments.create(**payment_args(amount=12000))
    await purse.payments.capture(payment.id, amount=1000, idempotency_key="cap-1")
    with pytest.raises(pa.IdempotencyConflictError, match="amount 1000"):
        await purse.payments.capture(payment.id, amount=2000, idempotency_key="cap-1")
    assert [e.amount for e in purse_sandbox.ledger(payment.id)] == [1000]


async def test_keyed_session_create_whose_answer_was_lost_is_not_resent(
    purse: pa.AsyncPurse, purse_sandbox: Sandbox
) -> None:
    purse_sandbox.faults.drop_connection(1, when="after", path=SESSIONS)
    with pytest.raises(pa.OutcomeUnknownError) as caught:
        await purse.client_sessions.create(**session_args(), idempotency_key="sess-1")
    assert caught.value.resource == "client session"
    assert caught.value.idempotency_key == "sess-1"
    assert len(purse_sandbox.created("client_sessions", idempotency_key="sess-1")) == 1
    session = await purse.client_sessions.create(**session_args(), idempotency_key="sess-1")
    made = purse_sandbox.created("client_sessions", idempotency_key="sess-1")
    assert [s["id"] for s in made] == [session.id]
    with pytest.raises(pa.IdempotencyConflictError, match="order_reference"):
        await purse.client_sessions.create(
            **session_args(reference="o-2"), idempotency_key="sess-1"
        )


def test_sync_create_whose_answer_was_lost_is_not_resent() -> None:
    with ThreadedSandbox() as sandbox:
        sandbox.sandbox.faults.drop_connection(1, when="after", path=CREATE)
        kwargs = {**sandbox.sandbox.client_kwargs(), "retry_policy": FAST}
        with ps.Purse(**kwargs) as purse:
            with pytest.raises(pa.OutcomeUnknownError) as caught:
                purse.payments.create(**payment_args())
            payment = purse.payments.create(
                **payment_args(), idempotency_key=caught.value.idempotency_key
            )
        made = sandbox.sandbox.created("payments", order_reference="o-1")
        assert [p["id"] for p in made] == [payment.id]
