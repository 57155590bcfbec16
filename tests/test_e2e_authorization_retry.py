"""Authorization retries against the sandbox, both faces: MIT on a saved card retried on the
next eligible solution, hard declines left alone, one retry after a technical ERROR, PENDING
left to settle, CIT answered with "ask the shopper", and crash safety (a worker dying between
or during attempts never makes an extra authorization: the sandbox's creations prove it)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import attrs
import pytest

import purse_async as pa
import purse_sync
from purse_async import AttemptRecord, AuthorizationRetry, MemoryAttemptStore, RetryAction
from purse_async._attempts import NOT_CREATED, fold
from purse_async.testing import MagicCards, Sandbox, ThreadedSandbox

RETURN = "https://shop.example/back"
AMOUNT = 4999


class WorkerCrash(Exception):
    """The worker process died here (everything but the attempt store is lost)."""


class CrashingStore:
    """A store whose `crash_on`-th append dies before writing (appends go: attempt 1 in flight,
    attempt 1 answered, attempt 2 in flight, ...); `on_append` runs after each write."""

    def __init__(
        self,
        inner: MemoryAttemptStore,
        *,
        crash_on: int | None = None,
        on_append: Callable[[int, AttemptRecord], None] | None = None,
    ) -> None:
        self.inner = inner
        self.crash_on = crash_on
        self.on_append = on_append
        self.appends = 0

    async def get(self, order_reference: str) -> list[AttemptRecord]:
        return await self.inner.get(order_reference)

    async def append(self, order_reference: str, record: AttemptRecord) -> None:
        self.appends += 1
        if self.appends == self.crash_on:
            raise WorkerCrash(f"died before recording {record}")
        await self.inner.append(order_reference, record)
        if self.on_append is not None:
            self.on_append(self.appends, record)


def mit_args(token: str, reference: str, **item: Any) -> dict[str, Any]:
    return {
        "amount": AMOUNT,
        "currency": "EUR",
        "split": [{"wallet_token": token, "amount": AMOUNT, **item}],
        "order": {"reference": reference, "net_amount": AMOUNT},
    }


def created(sandbox: Sandbox, reference: str) -> list[dict[str, Any]]:
    return sandbox.created("payments", order_reference=reference)


def authorized(payments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [p for p in payments if p["authorization"]["status"] == "AUTHORIZED"]


# -- MIT: the loop ---------------------------------------------------------------------------


async def test_soft_decline_is_retried_on_the_next_solution(
    purse_client: pa.AsyncPurse, purse_sandbox: Sandbox
) -> None:
    token = purse_sandbox.save_card(MagicCards.SOFT_DECLINE_FIRST_PSP)
    store = MemoryAttemptStore()
    outcome = await purse_client.payments.authorize_with_retry(
        **mit_args(token, "SUB-1"), attempt_store=store
    )
    assert outcome.payment.authorization is not None
    assert outcome.payment.authorization.status == "AUTHORIZED"
    assert outcome.payment.authorization.partner_transactions[0].partner == "adyen"
    first, second = outcome.attempts
    assert (first.attempt, first.status, first.partners) == (1, "REFUSED", ("ingenico",))
    assert first.decline is pa.DeclineKind.SOFT and first.network == "VISA"
    assert (second.attempt, second.status, second.partner) == (2, "AUTHORIZED", "adyen")
    assert [r.idempotency_key for r in outcome.attempts] == [
        "SUB-1/authorization/1",
        "SUB-1/authorization/2",
    ]
    assert outcome.decision.action is RetryAction.DONT_RETRY
    assert "AUTHORIZED" in outcome.decision.reason
    # The ledger: each attempt appended in flight, then with its outcome.
    raw = await store.get("SUB-1")
    assert [(r.attempt, r.in_flight) for r in raw] == [(1, True), (1, False), (2, True), (2, False)]
    # The sandbox: two payments for the order, one authorization, under the derived keys.
    made = created(purse_sandbox, "SUB-1")
    assert len(made) == 2 and len(authorized(made)) == 1
    assert [p["id"] for p in made] == [first.payment_id, second.payment_id]
    for record in outcome.attempts:
        assert record.idempotency_key is not None
        assert len(purse_sandbox.created("payments", idempotency_key=record.idempotency_key)) == 1
    # Calling again creates nothing: the authorized attempt is read back.
    again = await purse_client.payments.authorize_with_retry(
        **mit_args(token, "SUB-1"), attempt_store=store
    )
    assert again.payment.id == second.payment_id
    assert again.decision.action is RetryAction.DONT_RETRY
    assert len(created(purse_sandbox, "SUB-1")) == 2


async def test_create_with_retry_returns_the_final_payment(
    purse_client: pa.AsyncPurse, purse_sandbox: Sandbox
) -> None:
    token = purse_sandbox.save_card(MagicCards.SOFT_DECLINE_FIRST_PSP)
    store = MemoryAttemptStore()
    payment = await purse_client.payments.create(
        **mit_args(token, "SUB-2"), retry=AuthorizationRetry(), attempt_store=store
    )
    assert payment.authorization is not None and payment.authorization.status == "AUTHORIZED"
    assert [r.attempt for r in await store.get("SUB-2")] == [1, 1, 2, 2]
    # Without a store: the client's own, so a second call resumes instead of re-creating.
    token2 = purse_sandbox.save_card(MagicCards.SOFT_DECLINE_FIRST_PSP, customer_reference="C2")
    one = await purse_client.payments.create(
        **mit_args(token2, "SUB-3"), retry=AuthorizationRetry()
    )
    two = await purse_client.payments.create(
        **mit_args(token2, "SUB-3"), retry=AuthorizationRetry()
    )
    assert one.id == two.id and len(created(purse_sandbox, "SUB-3")) == 2


async def test_hard_decline_is_not_retried(
    purse_client: pa.AsyncPurse, purse_sandbox: Sandbox
) -> None:
    token = purse_sandbox.save_card(MagicCards.REFUSED)
    outcome = await purse_client.payments.authorize_with_retry(**mit_args(token, "SUB-HARD"))
    assert [r.status for r in outcome.attempts] == ["REFUSED"]
    assert outcome.decision.action is RetryAction.DONT_RETRY
    assert outcome.decision.decline is pa.DeclineKind.HARD
    assert "hard decline" in outcome.decision.reason and "'05'" in outcome.decision.reason
    assert len(created(purse_sandbox, "SUB-HARD")) == 1


async def test_technical_error_is_retried_once(
    purse_client: pa.AsyncPurse, purse_sandbox: Sandbox
) -> None:
    token = purse_sandbox.save_card(MagicCards.ERROR)
    outcome = await purse_client.payments.authorize_with_retry(**mit_args(token, "SUB-ERR"))
    first, second = outcome.attempts
    assert (first.status, first.partners, first.decline) == (
        "ERROR",
        ("ingenico",),
        pa.DeclineKind.TECHNICAL,
    )
    assert (second.status, second.partner) == ("ERROR", "adyen")
    # A second technical failure waits for the schedule: the loop returns, it never sleeps.
    decision = outcome.decision
    assert decision.action is RetryAction.RETRY_AT
    assert decision.at == first.at + timedelta(days=1)
    assert decision.idempotency_key == "SUB-ERR/authorization/3"
    assert len(created(purse_sandbox, "SUB-ERR")) == 2
    again = await purse_client.payments.authorize_with_retry(**mit_args(token, "SUB-ERR"))
    assert again.decision.action is RetryAction.RETRY_AT
    assert len(created(purse_sandbox, "SUB-ERR")) == 2


async def test_pending_is_not_retried_and_is_read_again_later(
    purse_client: pa.AsyncPurse, purse_sandbox: Sandbox
) -> None:
    token = purse_sandbox.save_card(MagicCards.PENDING)
    store = MemoryAttemptStore()
    outcome = await purse_client.payments.authorize_with_retry(
        **mit_args(token, "SUB-PEND"), attempt_store=store
    )
    assert [r.status for r in outcome.attempts] == ["PENDING"]
    assert outcome.decision.action is RetryAction.DONT_RETRY
    assert "PENDING" in outcome.decision.reason
    purse_sandbox.settle_pending(outcome.payment.id)
    later = await purse_client.payments.authorize_with_retry(
        **mit_args(token, "SUB-PEND"), attempt_store=store
    )
    assert later.payment.id == outcome.payment.id
    assert [r.status for r in later.attempts] == ["AUTHORIZED"]
    assert later.decision.action is RetryAction.DONT_RETRY
    assert len(created(purse_sandbox, "SUB-PEND")) == 1


async def test_a_scheduled_retry_that_is_due_is_performed(
    purse_client: pa.AsyncPurse, purse_sandbox: Sandbox
) -> None:
    # Soft declined at ingenico on the first round, with adyen not allowed to be tried at once.
    token = purse_sandbox.save_card(MagicCards.SOFT_DECLINE_FIRST_PSP)
    store = MemoryAttemptStore()
    policy = AuthorizationRetry(next_partner_at_once=False)
    args = mit_args(token, "SUB-LATER")
    outcome = await purse_client.payments.authorize_with_retry(
        **args, retry=policy, attempt_store=store
    )
    assert outcome.decision.action is RetryAction.RETRY_AT
    # A day passes (the ledger is moved back in time), the scheduler calls again.
    (record,) = outcome.attempts
    moved = MemoryAttemptStore()
    await moved.append(
        "SUB-LATER", attrs.evolve(record, at=record.at - timedelta(days=1, minutes=1))
    )
    args["split"][0]["partner"] = "adyen"  # the merchant routes this round to adyen
    later = await purse_client.payments.authorize_with_retry(
        **args, retry=policy, attempt_store=moved
    )
    assert [r.attempt for r in later.attempts] == [1, 2]
    assert later.payment.authorization is not None
    assert later.payment.authorization.status == "AUTHORIZED"
    assert len(created(purse_sandbox, "SUB-LATER")) == 2


# -- retry_decision ----------------------------------------------------------------------------


async def test_cit_soft_decline_asks_the_shopper(
    purse_client: pa.AsyncPurse, purse_sandbox: Sandbox
) -> None:
    session = await purse_client.client_sessions.create(
        amount=AMOUNT,
        currency="EUR",
        shopper_redirection_url=RETURN,
        order={"reference": "CIT-1", "net_amount": AMOUNT},
    )
    url = await purse_sandbox.checkout(session.id, card=MagicCards.SOFT_DECLINE_FIRST_PSP)
    redirect = await purse_client.redirections.verify(url)
    assert redirect.payment_id is not None
    payment = await purse_client.payments.retrieve(redirect.payment_id)
    assert payment.authorization is not None and payment.authorization.status == "REFUSED"
    decision = await purse_client.payments.retry_decision(payment.id, initiator="CIT")
    assert decision.action is RetryAction.ASK_SHOPPER
    assert decision.exclude_partners == ("ingenico",)
    assert decision.decline is pa.DeclineKind.SOFT
    assert decision.idempotency_key == "CIT-1/authorization/2"
    # A Payment is accepted too, and re-read: the same answer.
    assert await purse_client.payments.retry_decision(payment, initiator="CIT") == decision
    # Read only: nothing was created, and no eligible-solutions call for a CIT.
    assert len(created(purse_sandbox, "CIT-1")) == 1
    assert purse_sandbox.stats.requests_by_path["POST /payment/v2/eligible-solutions"] == 0


async def test_mit_retry_decision_names_the_next_partner(
    purse_client: pa.AsyncPurse, purse_sandbox: Sandbox
) -> None:
    token = purse_sandbox.save_card(MagicCards.SOFT_DECLINE_FIRST_PSP)
    payment = await purse_client.payments.create(
        **mit_args(token, "SUB-D"), idempotency_key="SUB-D/authorization/1"
    )
    decision = await purse_client.payments.retry_decision(payment.id, initiator="MIT")
    assert (decision.action, decision.partner) == (RetryAction.RETRY_NOW, "adyen")
    assert decision.exclude_partners == ("ingenico",)
    assert decision.idempotency_key == "SUB-D/authorization/2"
    with pytest.raises(pa.ValidationError):
        await purse_client.payments.retry_decision(payment.id, initiator="BOTH")  # type: ignore[arg-type]


# -- crash safety ------------------------------------------------------------------------------


async def test_a_crash_between_attempts_creates_no_extra_authorization(
    purse_sandbox: Sandbox,
) -> None:
    token = purse_sandbox.save_card(MagicCards.SOFT_DECLINE_FIRST_PSP)
    ledger = MemoryAttemptStore()  # what survives the crash (a database, in production)
    async with purse_sandbox.client() as worker:
        with pytest.raises(WorkerCrash):
            # Attempt 1 is made and recorded; the worker dies before recording attempt 2.
            await worker.payments.authorize_with_retry(
                **mit_args(token, "SUB-CRASH"), attempt_store=CrashingStore(ledger, crash_on=3)
            )
    assert len(created(purse_sandbox, "SUB-CRASH")) == 1
    async with purse_sandbox.client() as restarted:
        outcome = await restarted.payments.authorize_with_retry(
            **mit_args(token, "SUB-CRASH"), attempt_store=ledger
        )
        assert [r.attempt for r in outcome.attempts] == [1, 2]
        assert outcome.attempts[-1].status == "AUTHORIZED"
        again = await restarted.payments.authorize_with_retry(
            **mit_args(token, "SUB-CRASH"), attempt_store=ledger
        )
        assert again.payment.id == outcome.payment.id
    made = created(purse_sandbox, "SUB-CRASH")
    assert len(made) == 2 and len(authorized(made)) == 1


async def test_a_crash_during_an_attempt_is_never_guessed(purse_sandbox: Sandbox) -> None:
    token = purse_sandbox.save_card(MagicCards.SOFT_DECLINE_FIRST_PSP)
    ledger = MemoryAttemptStore()
    async with purse_sandbox.client() as worker:
        with pytest.raises(WorkerCrash):
            # Attempt 1 reaches Purse, the worker dies before recording its answer.
            await worker.payments.authorize_with_retry(
                **mit_args(token, "SUB-MID"), attempt_store=CrashingStore(ledger, crash_on=2)
            )
    assert [r.in_flight for r in await ledger.get("SUB-MID")] == [True]
    async with purse_sandbox.client() as restarted:
        # Purse documents no deduplication of creations: the SDK does not re-send.
        with pytest.raises(pa.OutcomeUnknownError) as info:
            await restarted.payments.authorize_with_retry(
                **mit_args(token, "SUB-MID"), attempt_store=ledger
            )
        assert info.value.idempotency_key == "SUB-MID/authorization/1"
        assert info.value.may_have_been_applied is True
        assert info.value.order_reference == "SUB-MID" and info.value.amount == AMOUNT
        assert info.value.currency == "EUR" and info.value.resource == "payment"
        # What to do: find out, then record what was found in the attempt store.
        assert "attempt 1 of order 'SUB-MID'" in str(info.value)
        assert "append its AttemptRecord" in str(info.value)
    assert len(created(purse_sandbox, "SUB-MID")) == 1
    # Once deduplication is confirmed, attempt 1 is replayed (409 -> the same payment), and
    # only if it is the same request: another amount under its key is refused, still in flight.
    async with purse_sandbox.client(idempotent_creates=True) as trusting:
        changed = {**mit_args(token, "SUB-MID"), "amount": AMOUNT - 1}
        changed["split"] = [{"wallet_token": token, "amount": AMOUNT - 1}]
        with pytest.raises(pa.IdempotencyConflictError):
            await trusting.payments.authorize_with_retry(**changed, attempt_store=ledger)
        assert [r.in_flight for r in fold(await ledger.get("SUB-MID"))] == [True]
        outcome = await trusting.payments.authorize_with_retry(
            **mit_args(token, "SUB-MID"), attempt_store=ledger
        )
    made = created(purse_sandbox, "SUB-MID")
    assert len(made) == 2 and len(authorized(made)) == 1
    assert outcome.attempts[0].payment_id == made[0]["id"]
    assert outcome.payment.id == made[1]["id"]


async def test_an_ambiguous_attempt_stops_the_loop(
    purse_client: pa.AsyncPurse, purse_sandbox: Sandbox
) -> None:
    token = purse_sandbox.save_card(MagicCards.SOFT_DECLINE_FIRST_PSP)
    ledger = MemoryAttemptStore()

    def lose_attempt_2(count: int, record: AttemptRecord) -> None:
        if record.attempt == 2 and record.in_flight:
            # Purse creates attempt 2, and its answer is lost on the way back.
            purse_sandbox.faults.drop_connection(when="after", path="/payment/v2/payments")

    with pytest.raises(pa.OutcomeUnknownError) as info:
        await purse_client.payments.authorize_with_retry(
            **mit_args(token, "SUB-LOST"),
            attempt_store=CrashingStore(ledger, on_append=lose_attempt_2),
        )
    assert info.value.idempotency_key == "SUB-LOST/authorization/2"
    assert [(r.attempt, r.in_flight) for r in await ledger.get("SUB-LOST")][-1] == (2, True)
    with pytest.raises(pa.OutcomeUnknownError):
        await purse_client.payments.authorize_with_retry(
            **mit_args(token, "SUB-LOST"), attempt_store=ledger
        )
    # Attempt 2 exists (authorized) and was never created a second time.
    made = created(purse_sandbox, "SUB-LOST")
    assert len(made) == 2 and len(authorized(made)) == 1


async def test_an_attempt_refused_by_purse_is_sent_again_under_its_key(
    purse_client: pa.AsyncPurse, purse_sandbox: Sandbox
) -> None:
    token = purse_sandbox.save_card(MagicCards.AUTHORIZED)
    ledger = MemoryAttemptStore()
    with pytest.raises(pa.UnprocessableEntityError) as info:
        await purse_client.payments.authorize_with_retry(
            **mit_args(token, "SUB-422", partner="nowhere"), attempt_store=ledger
        )
    assert info.value.may_have_been_applied is False
    (sent, refused) = await ledger.get("SUB-422")
    assert sent.in_flight and refused.status == NOT_CREATED
    outcome = await purse_client.payments.authorize_with_retry(
        **mit_args(token, "SUB-422"), attempt_store=ledger
    )
    assert [r.attempt for r in outcome.attempts] == [1]
    assert outcome.attempts[0].idempotency_key == "SUB-422/authorization/1"
    assert outcome.attempts[0].status == "AUTHORIZED"


async def test_arguments_are_checked_before_anything_is_sent(
    purse_client: pa.AsyncPurse, purse_sandbox: Sandbox
) -> None:
    token = purse_sandbox.save_card(MagicCards.AUTHORIZED)
    bad: list[dict[str, Any]] = [
        {**mit_args(token, "X"), "split": [{"vault_form_token": "tok_4242424242424242"}]},
        {**mit_args(token, "X"), "split": [{"wallet_token": token}, {"wallet_token": token}]},
        {**mit_args(token, "X"), "order": {"net_amount": AMOUNT}},
        {**mit_args(token, "X"), "currency": "euro"},
        {**mit_args(token, "X"), "retry": "yes"},
    ]
    for args in bad:
        with pytest.raises(pa.ValidationError):
            await purse_client.payments.authorize_with_retry(**args)
    with pytest.raises(pa.ValidationError):
        await purse_client.payments.create(
            **mit_args(token, "X"), retry=AuthorizationRetry(), idempotency_key="mine"
        )
    with pytest.raises(pa.ValidationError):
        await purse_client.payments.create(
            **mit_args(token, "X"), attempt_store=MemoryAttemptStore()
        )
    assert purse_sandbox.stats.requests_by_path["POST /payment/v2/payments"] == 0


class SpyStore(MemoryAttemptStore):
    """A store that counts every read and write of it."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    async def get(self, order_reference: str) -> list[AttemptRecord]:
        self.calls.append(f"get {order_reference}")
        return await super().get(order_reference)

    async def append(self, order_reference: str, record: AttemptRecord) -> None:
        self.calls.append(f"append {order_reference} {record.attempt}")
        await super().append(order_reference, record)


#: Arguments only the payment body checks, each with the field its error names: each must be
#: refused before the store is read, never as attempt 1 recorded in flight then NOT_CREATED.
INVALID_BODY_ARGS: list[tuple[dict[str, Any], str]] = [
    ({"customer": {"refrence": "x"}}, "customer.refrence"),
    ({"browser": {"user_agnet": "x"}}, "browser.user_agnet"),
    ({"webhook": {"urll": "https://shop.example/hook"}}, "webhook.urll"),
    ({"extra_body": {"amount": 1}}, "extra_body"),
    ({"entity_id": "  "}, "entity_id"),
    ({"order": {"reference": "  ", "net_amount": AMOUNT}}, "order.reference"),
]


@pytest.mark.parametrize(("bad", "field"), INVALID_BODY_ARGS)
async def test_an_invalid_argument_leaves_the_attempt_store_untouched(
    purse_client: pa.AsyncPurse, purse_sandbox: Sandbox, bad: dict[str, Any], field: str
) -> None:
    token = purse_sandbox.save_card(MagicCards.AUTHORIZED)
    store = SpyStore()
    with pytest.raises(pa.ValidationError) as info:
        await purse_client.payments.authorize_with_retry(
            **{**mit_args(token, "SUB-BAD"), **bad}, attempt_store=store
        )
    assert info.value.field == field
    assert store.calls == []
    assert purse_sandbox.stats.requests_by_path["POST /payment/v2/payments"] == 0


# -- the blocking face -----------------------------------------------------------------------


def test_sync_soft_decline_hard_decline_and_cit(threaded_sandbox: ThreadedSandbox) -> None:
    box = threaded_sandbox
    with purse_sync.Purse(**box.sandbox.client_kwargs()) as purse:
        soft = box.sandbox.save_card(MagicCards.SOFT_DECLINE_FIRST_PSP)
        outcome = purse.payments.authorize_with_retry(**mit_args(soft, "S-SOFT"))
        assert [r.status for r in outcome.attempts] == ["REFUSED", "AUTHORIZED"]
        assert [r.partners or (r.partner,) for r in outcome.attempts] == [("ingenico",), ("adyen",)]
        assert len(authorized(created(box.sandbox, "S-SOFT"))) == 1

        hard = box.sandbox.save_card(MagicCards.REFUSED)
        payment = purse.payments.create(**mit_args(hard, "S-HARD"), retry=AuthorizationRetry())
        assert payment.authorization is not None and payment.authorization.status == "REFUSED"
        assert len(created(box.sandbox, "S-HARD")) == 1
        decision = purse.payments.retry_decision(payment.id, initiator="MIT")
        assert decision.action is RetryAction.DONT_RETRY and decision.decline is pa.DeclineKind.HARD

        error = box.sandbox.save_card(MagicCards.ERROR)
        outcome = purse.payments.authorize_with_retry(**mit_args(error, "S-ERR"))
        assert len(outcome.attempts) == 2 and outcome.decision.action is RetryAction.RETRY_AT

        pending = box.sandbox.save_card(MagicCards.PENDING)
        outcome = purse.payments.authorize_with_retry(**mit_args(pending, "S-PEND"))
        assert len(outcome.attempts) == 1 and outcome.decision.action is RetryAction.DONT_RETRY

        session = purse.client_sessions.create(
            amount=AMOUNT,
            currency="EUR",
            shopper_redirection_url=RETURN,
            order={"reference": "S-CIT", "net_amount": AMOUNT},
        )
        url = box.checkout(session.id, card=MagicCards.SOFT_DECLINE_FIRST_PSP)
        redirect = purse.redirections.verify(url)
        assert redirect.payment_id is not None
        decision = purse.payments.retry_decision(redirect.payment_id, initiator="CIT")
        assert decision.action is RetryAction.ASK_SHOPPER
        assert decision.exclude_partners == ("ingenico",)


@pytest.mark.parametrize(("bad", "field"), INVALID_BODY_ARGS)
def test_sync_an_invalid_argument_leaves_the_attempt_store_untouched(
    threaded_sandbox: ThreadedSandbox, bad: dict[str, Any], field: str
) -> None:
    box = threaded_sandbox
    token = box.sandbox.save_card(MagicCards.AUTHORIZED)
    store = SpyStore()
    with (
        purse_sync.Purse(**box.sandbox.client_kwargs()) as purse,
        pytest.raises(pa.ValidationError) as info,
    ):
        purse.payments.authorize_with_retry(
            **{**mit_args(token, "S-BAD"), **bad}, attempt_store=store
        )
    assert info.value.field == field
    assert store.calls == []
    assert created(box.sandbox, "S-BAD") == []


def test_sync_crash_between_attempts(threaded_sandbox: ThreadedSandbox) -> None:
    box = threaded_sandbox
    token = box.sandbox.save_card(MagicCards.SOFT_DECLINE_FIRST_PSP)
    ledger = MemoryAttemptStore()
    with purse_sync.Purse(**box.sandbox.client_kwargs()) as worker, pytest.raises(WorkerCrash):
        worker.payments.authorize_with_retry(
            **mit_args(token, "S-CRASH"), attempt_store=CrashingStore(ledger, crash_on=3)
        )
    with purse_sync.Purse(**box.sandbox.client_kwargs()) as restarted:
        outcome = restarted.payments.authorize_with_retry(
            **mit_args(token, "S-CRASH"), attempt_store=ledger
        )
        again = restarted.payments.authorize_with_retry(
            **mit_args(token, "S-CRASH"), attempt_store=ledger
        )
    assert [r.status for r in outcome.attempts] == ["REFUSED", "AUTHORIZED"]
    assert again.payment.id == outcome.payment.id
    made = created(box.sandbox, "S-CRASH")
    assert len(made) == 2 and len(authorized(made)) == 1


async def test_deadline_bounds_the_whole_call_and_the_next_call_resumes(
    purse_client: pa.AsyncPurse, purse_sandbox: Sandbox
) -> None:
    token = purse_sandbox.save_card(MagicCards.SOFT_DECLINE_FIRST_PSP)
    ledger = MemoryAttemptStore()
    purse_sandbox.faults.latency(1.0, path="/eligible-solutions")
    with pytest.raises(pa.APITimeoutError):
        await purse_client.payments.authorize_with_retry(
            **mit_args(token, "SUB-SLOW"), attempt_store=ledger, deadline=0.5
        )
    # Attempt 1 was made and recorded; nothing is in flight.
    assert [(r.attempt, r.status) for r in fold(await ledger.get("SUB-SLOW"))] == [(1, "REFUSED")]
    purse_sandbox.faults.clear()
    outcome = await purse_client.payments.authorize_with_retry(
        **mit_args(token, "SUB-SLOW"), attempt_store=ledger, deadline=10
    )
    assert [r.status for r in outcome.attempts] == ["REFUSED", "AUTHORIZED"]
    assert len(created(purse_sandbox, "SUB-SLOW")) == 2


async def test_budget_and_helpers() -> None:
    from purse_async.resources import _authorize

    assert _authorize._Budget(None).left() is None and not _authorize._Budget(None).spent
    budget = _authorize._Budget(0.001)
    await asyncio.sleep(0.01)
    assert budget.spent
    with pytest.raises(pa.APITimeoutError) as caught:
        budget.left()
    # Raised before the next attempt is sent: a caller may safely try again.
    assert caught.value.may_have_been_applied is False
    bare = pa.Payment(id="p", order_reference="O-9", amount=100, currency="EUR")
    assert _authorize._order_of(bare) == {"reference": "O-9"}
    assert _authorize._order_of(pa.Payment(id="p")) is None
    assert _authorize._method_of(bare) == "creditcard"


async def test_retry_decision_checks_its_history(purse_client: pa.AsyncPurse) -> None:
    with pytest.raises(pa.ValidationError):
        await purse_client.payments.retry_decision(
            "pay-1",
            initiator="MIT",
            history=["not a record"],  # type: ignore[list-item]
        )
    with pytest.raises(pa.ValidationError):
        await purse_client.payments.retry_decision("../x", initiator="MIT")
