"""Waiting on a payment: the pure backoff decisions (no I/O), the polling loops on a fake clock,
and `payments.wait_for_authorization` / `payments.watch` against the sandbox on both faces."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

import purse_async as pa
import purse_sync
from purse_async.resources import _polling
from purse_async.resources._polling import (
    FINAL_POLL_RESERVE,
    Fetch,
    is_final,
    next_poll_delay,
    plan_sleep,
)
from purse_async.testing import MagicCards, Sandbox, ThreadedSandbox

RETURN = "https://shop.example/back"
FAST: dict[str, Any] = {"poll_interval": 0.02, "max_poll_interval": 0.1}


def payment(status: str | None, version: int | None = 1) -> pa.Payment:
    auth = None if status is None else pa.Authorization(status=pa.AuthorizationStatus(status))
    return pa.Payment(id="pay-1", version=version, authorization=auth)


# -- pure decisions -------------------------------------------------------------------------


def test_delays_grow_by_half_up_to_the_ceiling() -> None:
    delays = [next_poll_delay(n, poll_interval=1.0, max_poll_interval=30.0) for n in range(12)]
    assert delays[:5] == [1.0, 1.5, 2.25, 3.375, 5.0625]
    assert delays == sorted(delays)
    assert delays[-1] == 30.0 and delays.count(30.0) == 3
    # A long quiet watch never overflows.
    assert next_poll_delay(100_000, poll_interval=1.0, max_poll_interval=30.0) == 30.0
    assert next_poll_delay(-1, poll_interval=5.0, max_poll_interval=2.0) == 2.0
    assert next_poll_delay(2, poll_interval=1.0, max_poll_interval=9.0, factor=2.0) == 4.0


def test_plan_sleep_keeps_time_for_a_last_poll() -> None:
    assert plan_sleep(3.0, None) == (3.0, False)  # no deadline
    assert plan_sleep(3.0, 100.0) == (3.0, False)
    assert plan_sleep(3.0, 3.0 + FINAL_POLL_RESERVE) == (3.0, False)
    # Too late: the poll moves earlier, FINAL_POLL_RESERVE before the deadline, and is the last.
    assert plan_sleep(30.0, 10.0) == (10.0 - FINAL_POLL_RESERVE, True)
    # Little time left: half of it is kept for the poll.
    assert plan_sleep(3.0, 1.0) == (0.5, True)
    assert plan_sleep(1.0, 0.0) is None
    assert plan_sleep(1.0, -0.5) is None


def test_final_is_anything_but_pending() -> None:
    for status in ("AUTHORIZED", "REFUSED", "ERROR", "ABORTED"):
        assert is_final(payment(status))
    unknown = payment("UNDER_REVIEW")
    assert unknown.authorization is not None and unknown.authorization.status is not None
    assert not unknown.authorization.status.is_known and is_final(unknown)
    assert not is_final(payment("PENDING"))
    assert not is_final(payment(None))  # no outcome yet


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"deadline": 0}, "deadline must be (None or )?a number > 0"),
        ({"deadline": float("inf")}, "deadline must be finite"),
        ({"poll_interval": -1}, "poll_interval must be a number > 0"),
        ({"max_poll_interval": True}, "max_poll_interval must be a number > 0"),
        ({"timeout": "5"}, "timeout must be None or a number > 0"),
        ({"poll_interval": 5.0, "max_poll_interval": 1.0}, "max_poll_interval"),
    ],
)
async def test_bad_options_are_refused_before_any_request(
    options: dict[str, Any], message: str
) -> None:
    async with pa.AsyncPurse(client_id="c", client_secret="s", api_key="k") as purse:
        with pytest.raises(pa.ConfigurationError, match=message):
            await purse.payments.wait_for_authorization("pay-1", **options)
        with pytest.raises(pa.ConfigurationError, match=message):
            purse.payments.watch("pay-1", **options)  # checked when called
        with pytest.raises(pa.ValidationError, match="payment_id"):
            purse.payments.watch("../x")


# -- the loops on a fake clock ----------------------------------------------------------------


class Clock:
    """A fake monotonic clock: sleeping advances it; each GET takes `get_time`."""

    def __init__(self, get_time: float = 0.0) -> None:
        self.now = 0.0
        self.get_time = get_time
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


class Script:
    """A scripted `payments.retrieve`: hands out `answers` in turn (the last one forever)."""

    def __init__(self, clock: Clock, answers: Sequence[pa.Payment | Exception]) -> None:
        self.clock = clock
        self.answers = answers
        self.calls: list[dict[str, Any]] = []

    async def __call__(self, payment_id: str, **options: Any) -> pa.Payment:
        self.calls.append({"payment_id": payment_id, **options})
        self.clock.now += self.clock.get_time
        answer = self.answers[min(len(self.calls), len(self.answers)) - 1]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def fetch(self, timeout: float | None = None, deadline: float | None = 120.0) -> Fetch:
        return Fetch(
            self,
            "pay-1",
            timeout=timeout,
            call_deadline=deadline,
            max_retries=1,
            extra_headers={"x-trace": "t"},
        )


async def test_wait_polls_with_backoff_until_final() -> None:
    clock = Clock()
    script = Script(clock, [payment("PENDING", 1)] * 3 + [payment("AUTHORIZED", 2)])
    found = await _polling.wait_for_authorization(
        script.fetch(timeout=2.0),
        deadline=300.0,
        poll_interval=1.0,
        max_poll_interval=30.0,
        clock=clock,
        sleep=clock.sleep,
    )
    assert found.version == 2 and is_final(found)
    assert clock.sleeps == [1.0, 1.5, 2.25]
    # Each GET carries the per-request options (`timeout` per attempt); the wait leaves it
    # the client's deadline.
    assert script.calls[0] == {
        "payment_id": "pay-1",
        "timeout": 2.0,
        "deadline": 120.0,
        "max_retries": 1,
        "extra_headers": {"x-trace": "t"},
    }


async def test_wait_times_out_naming_the_payment_and_last_status() -> None:
    clock = Clock(get_time=0.1)
    script = Script(clock, [payment("PENDING", 4)])
    with pytest.raises(pa.APITimeoutError) as caught:
        await _polling.wait_for_authorization(
            script.fetch(),
            deadline=10.0,
            poll_interval=1.0,
            max_poll_interval=4.0,
            clock=clock,
            sleep=clock.sleep,
        )
    message = str(caught.value)
    assert "payment pay-1" in message and "still PENDING at version 4" in message
    assert "10s" in message
    assert clock.now <= 10.0  # never past the deadline
    # The last poll was moved to just before the deadline rather than skipped.
    assert clock.now == pytest.approx(10.0 - FINAL_POLL_RESERVE + 0.1)
    # GETs near the end are bounded by the time left, not the client's deadline.
    assert script.calls[-1]["deadline"] == pytest.approx(FINAL_POLL_RESERVE)


async def test_a_get_cut_short_by_the_wait_is_the_wait_timing_out() -> None:
    clock = Clock()
    cut = pa.APITimeoutError("GET /payments/pay-1: deadline of 5s exhausted")
    script = Script(clock, [payment("PENDING"), cut])
    with pytest.raises(pa.APITimeoutError, match=r"still PENDING.*the last poll: GET") as caught:
        await _polling.wait_for_authorization(
            script.fetch(),
            deadline=5.0,
            poll_interval=1.0,
            max_poll_interval=1.0,
            clock=clock,
            sleep=clock.sleep,
        )
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    # A GET that times out within the client's deadline is that GET's error, as is.
    script = Script(Clock(), [cut])
    with pytest.raises(pa.APITimeoutError) as caught:
        await _polling.wait_for_authorization(
            script.fetch(deadline=1.0),
            deadline=5.0,
            poll_interval=1.0,
            max_poll_interval=1.0,
            clock=script.clock,
            sleep=script.clock.sleep,
        )
    assert caught.value is cut
    # Other errors end the wait at once.
    script = Script(Clock(), [pa.DecodeError("not a payment")])
    with pytest.raises(pa.DecodeError):
        await _polling.wait_for_authorization(
            script.fetch(), deadline=5.0, poll_interval=1.0, max_poll_interval=1.0
        )


async def test_watch_yields_new_versions_only_and_resets_the_interval() -> None:
    clock = Clock()
    answers = [payment("PENDING", 1)] * 3 + [payment("AUTHORIZED", 2), payment("PENDING", 1)]
    answers += [payment("AUTHORIZED", 2)] * 2 + [payment("AUTHORIZED", 3)]
    script = Script(clock, answers)
    seen = []
    watch = _polling.watch(
        script.fetch(),
        deadline=None,
        poll_interval=1.0,
        max_poll_interval=10.0,
        clock=clock,
        sleep=clock.sleep,
    )
    async for found in watch:
        seen.append(found.version)
        if found.version == 3:
            break
    # An older answer (a lagging replica) is never yielded: versions only grow.
    assert seen == [1, 2, 3]
    assert clock.sleeps == [1.0, 1.5, 2.25, 1.0, 1.5, 2.25, 3.375]


async def test_watch_ends_quietly_at_its_deadline() -> None:
    clock = Clock(get_time=0.01)
    script = Script(clock, [payment("AUTHORIZED", 1)])
    watch = _polling.watch(
        script.fetch(),
        deadline=10.0,
        poll_interval=1.0,
        max_poll_interval=4.0,
        clock=clock,
        sleep=clock.sleep,
    )
    assert [p.version async for p in watch] == [1]
    assert clock.now <= 10.0 and len(script.calls) > 3


async def test_watch_without_versions_compares_the_payments() -> None:
    clock = Clock()
    script = Script(clock, [payment("PENDING", None)] * 2 + [payment("AUTHORIZED", None)])
    watch = _polling.watch(
        script.fetch(),
        deadline=5.0,
        poll_interval=1.0,
        max_poll_interval=1.0,
        clock=clock,
        sleep=clock.sleep,
    )
    statuses = [str(p.authorization.status) async for p in watch if p.authorization]
    assert statuses == ["PENDING", "AUTHORIZED"]


# -- against the sandbox: async face ---------------------------------------------------------


async def pending_payment(purse: pa.AsyncPurse, sandbox: Sandbox, reference: str) -> pa.Payment:
    session = await purse.client_sessions.create(
        amount=12000,
        currency="EUR",
        shopper_redirection_url=RETURN,
        order={"reference": reference, "net_amount": 12000},
    )
    redirect = await purse.redirections.verify(
        await sandbox.checkout(session.id, card=MagicCards.PENDING)
    )
    assert redirect.payment_id is not None
    found = await purse.payments.retrieve(redirect.payment_id)
    assert found.authorization is not None and found.authorization.status == "PENDING"
    return found


@pytest.mark.purse_sandbox(pending_delay=0.3)
async def test_wait_returns_once_the_pending_payment_settles(
    purse_client: pa.AsyncPurse, purse_sandbox: Sandbox
) -> None:
    pending = await pending_payment(purse_client, purse_sandbox, "W-1")
    settled = await purse_client.payments.wait_for_authorization(pending.id, deadline=10, **FAST)
    assert settled.authorization is not None and settled.authorization.status == "AUTHORIZED"
    assert settled.version is not None and pending.version is not None
    assert settled.version > pending.version
    # Already final: one GET, returned at once.
    again = await purse_client.payments.wait_for_authorization(pending.id, deadline=1)
    assert again.version == settled.version


async def test_wait_times_out_on_the_sandbox(
    purse_client: pa.AsyncPurse, purse_sandbox: Sandbox
) -> None:
    pending = await pending_payment(purse_client, purse_sandbox, "W-2")
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(pa.APITimeoutError, match=f"payment {pending.id}.*still PENDING"):
        await purse_client.payments.wait_for_authorization(pending.id, deadline=0.5, **FAST)
    assert loop.time() - started < 0.5 + 0.5  # bounded by the deadline, GETs included


async def test_wait_goes_through_the_client_retries(
    purse_client: pa.AsyncPurse, purse_sandbox: Sandbox
) -> None:
    pending = await pending_payment(purse_client, purse_sandbox, "W-3")
    purse_sandbox.settle_pending(pending.id, status="REFUSED")
    purse_sandbox.faults.fail_next(2, status=503)
    refused = await purse_client.payments.wait_for_authorization(pending.id, deadline=10, **FAST)
    assert refused.authorization is not None and refused.authorization.status == "REFUSED"


async def test_watch_yields_each_new_version(
    purse_client: pa.AsyncPurse, purse_sandbox: Sandbox
) -> None:
    pending = await pending_payment(purse_client, purse_sandbox, "W-4")
    watch = purse_client.payments.watch(pending.id, deadline=10, **FAST)
    first = await anext(watch)
    assert first.version == pending.version
    purse_sandbox.settle_pending(pending.id)
    settled = await anext(watch)
    assert settled.authorization is not None and settled.authorization.status == "AUTHORIZED"
    await purse_client.payments.capture(pending.id, amount=5000)
    captured = await anext(watch)
    assert [op.amount for op in captured.captures] == [5000]
    assert first.version is not None and settled.version is not None
    assert captured.version is not None and first.version < settled.version < captured.version
    await watch.aclose()  # type: ignore[attr-defined]


async def test_watch_of_a_quiet_payment_ends_at_its_deadline(
    purse_client: pa.AsyncPurse, purse_sandbox: Sandbox
) -> None:
    pending = await pending_payment(purse_client, purse_sandbox, "W-5")
    versions = [
        p.version async for p in purse_client.payments.watch(pending.id, deadline=0.3, **FAST)
    ]
    assert versions == [pending.version]


# -- against the sandbox: sync face ----------------------------------------------------------


@pytest.fixture
def pending_box() -> Iterator[ThreadedSandbox]:
    box = ThreadedSandbox()
    yield box
    box.close()


def sync_pending_payment(purse: purse_sync.Purse, box: ThreadedSandbox, reference: str) -> str:
    session = purse.client_sessions.create(
        amount=12000,
        currency="EUR",
        shopper_redirection_url=RETURN,
        order={"reference": reference, "net_amount": 12000},
    )
    redirect = purse.redirections.verify(box.checkout(session.id, card=MagicCards.PENDING))
    assert redirect.payment_id is not None
    return redirect.payment_id


def settle(box: ThreadedSandbox, payment_id: str, status: str = "AUTHORIZED") -> None:
    async def on_loop() -> None:
        box.sandbox.settle_pending(payment_id, status)

    box.call(on_loop())


def test_sync_wait_for_authorization() -> None:
    with (
        ThreadedSandbox(pending_delay=0.3) as box,
        purse_sync.Purse(**box.sandbox.client_kwargs()) as purse,
    ):
        payment_id = sync_pending_payment(purse, box, "S-1")
        settled = purse.payments.wait_for_authorization(payment_id, deadline=10, **FAST)
        assert settled.authorization is not None and settled.authorization.status == "AUTHORIZED"

        other = sync_pending_payment(purse, box, "S-2")
        box.sandbox.pending_delay = None
        with pytest.raises(purse_sync.APITimeoutError, match=f"payment {other}.*still PENDING"):
            purse.payments.wait_for_authorization(other, deadline=0.3, **FAST)


def test_sync_watch_is_a_plain_iterator(pending_box: ThreadedSandbox) -> None:
    with purse_sync.Purse(**pending_box.sandbox.client_kwargs()) as purse:
        payment_id = sync_pending_payment(purse, pending_box, "S-3")
        watch = purse.payments.watch(payment_id, deadline=10, **FAST)
        assert iter(watch) is watch and not hasattr(watch, "__anext__")
        first = next(watch)
        settle(pending_box, payment_id)
        settled = next(watch)
        assert settled.authorization is not None and settled.authorization.status == "AUTHORIZED"
        purse.payments.capture(payment_id, amount=5000)
        captured = next(watch)
        assert [op.amount for op in captured.captures] == [5000]
        assert first.version is not None and settled.version is not None
        assert captured.version is not None and first.version < settled.version < captured.version
        watch.close()  # type: ignore[attr-defined]

        quiet = list(purse.payments.watch(payment_id, deadline=0.3, **FAST))
        assert [p.version for p in quiet] == [captured.version]
