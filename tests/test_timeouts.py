"""Per-attempt timeouts: one watchdog per client cancels overdue attempts and reports a timeout,
never swallowing or inventing a cancellation of the caller's task."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

import purse_async as pa
from purse_async._watchdog import Watchdog
from tests._scripted import ScriptedServer, reply, stall

PAYMENT = "/payment/v2/payments/pay-1"
SLOW = "/payment/v2/payments/pay-slow"

needs_uncancel = pytest.mark.skipif(
    sys.version_info < (3, 11), reason="the watchdog needs Task.uncancel (Python 3.11+)"
)


@pytest.fixture
async def purse(server: ScriptedServer) -> AsyncIterator[pa.AsyncPurse]:
    async with pa.AsyncPurse(
        client_id="cid", client_secret="s", api_key="k", base_url=server.base_url
    ) as client:
        await client.authenticate()
        yield client


async def request_arrived(server: ScriptedServer, path: str) -> None:
    for _ in range(500):
        if server.of(path):
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{path} never reached the server")


async def test_an_overdue_attempt_is_a_timeout_and_the_task_lives_on(
    server: ScriptedServer, purse: pa.AsyncPurse
) -> None:
    server.add(PAYMENT, stall(30), reply(200, {"id": "pay-1"}))
    with pytest.raises(pa.APITimeoutError, match="timed out"):
        await purse.payments.retrieve("pay-1", timeout=0.2, max_retries=0)
    task = asyncio.current_task()
    assert task is not None
    if sys.version_info >= (3, 11):
        assert task.cancelling() == 0
    await asyncio.sleep(0)  # no cancellation left pending for the caller's next await
    assert (await purse.payments.retrieve("pay-1")).id == "pay-1"


async def test_the_callers_cancellation_is_not_turned_into_a_timeout(
    server: ScriptedServer, purse: pa.AsyncPurse
) -> None:
    server.add(PAYMENT, stall(30))
    call = asyncio.ensure_future(purse.payments.retrieve("pay-1", timeout=20))
    await request_arrived(server, PAYMENT)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call


async def test_only_the_overdue_attempt_is_cancelled(
    server: ScriptedServer, purse: pa.AsyncPurse
) -> None:
    gate = asyncio.Event()

    async def slow(request: web.Request) -> web.StreamResponse:
        await gate.wait()
        return web.json_response({"id": "pay-slow"})

    server.add(SLOW, slow)
    server.add(PAYMENT, stall(30))
    # The long deadline is registered first: the shorter one must still fire on time.
    patient = asyncio.ensure_future(purse.payments.retrieve("pay-slow", timeout=20))
    await request_arrived(server, SLOW)
    with pytest.raises(pa.APITimeoutError):
        await purse.payments.retrieve("pay-1", timeout=0.2, max_retries=0)
    assert not patient.done()
    gate.set()
    assert (await patient).id == "pay-slow"


@needs_uncancel
async def test_deadline_and_caller_cancelling_together_stays_a_cancellation() -> None:
    loop = asyncio.get_running_loop()
    watchdog = Watchdog(loop)
    parked = asyncio.Event()
    outcome: list[str] = []

    async def attempt() -> None:
        task = asyncio.current_task()
        assert task is not None
        cancelling = watchdog.watch(task, 30)
        try:
            parked.set()
            await loop.create_future()
        except asyncio.CancelledError:
            outcome.append("timeout" if watchdog.cancelled_by_us(task, cancelling) else "cancel")
            raise

    task = asyncio.ensure_future(attempt())
    await parked.wait()
    watchdog._deadlines[task] = loop.time() - 1  # overdue now
    watchdog._sweep()
    task.cancel()  # and the caller cancels in the same instant
    with pytest.raises(asyncio.CancelledError):
        await task
    assert outcome == ["cancel"]
    watchdog.close()


@needs_uncancel
async def test_the_watchdog_rearms_for_the_next_deadline_and_stops_when_idle() -> None:
    loop = asyncio.get_running_loop()
    watchdog = Watchdog(loop)
    results: dict[str, str] = {}

    async def attempt(name: str, seconds: float) -> None:
        task = asyncio.current_task()
        assert task is not None
        cancelling = watchdog.watch(task, seconds)
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            if watchdog.cancelled_by_us(task, cancelling):
                results[name] = "timed out"
                return
            raise
        finally:
            watchdog.release(task)

    await asyncio.gather(attempt("late", 0.2), attempt("early", 0.05))
    assert results == {"early": "timed out", "late": "timed out"}
    assert watchdog._timer is None and not watchdog._deadlines and not watchdog._expired
