"""The money-safety rule: every error a keyed call raises carries its idempotency key and whether
the operation may have been applied, so retrying with `err.idempotency_key` is always safe.

Scripted answers reproduce each ambiguous outcome exactly; async and sync faces side by side.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from aiohttp import web

import purse_async as pa
import purse_sync as ps
from tests._scripted import ScriptedServer, drop, problem, reply

PAYMENT = "/payment/v2/payments/pay-1"
CAPTURES = PAYMENT + "/captures"
CONFLICT = {"type": "urn:eu.purse:write-conflict", "resource_id": "op-1"}


def operation_json(op_id: str = "op-1", amount: int = 5000) -> dict[str, Any]:
    return {"id": op_id, "status": "SUCCESS", "amount": amount, "partner_transactions": []}


def payment_json(*captures: dict[str, Any]) -> dict[str, Any]:
    return {"id": "pay-1", "amount": 12000, "currency": "EUR", "captures": list(captures)}


async def _no_sleep(delay: float) -> None:
    return None


def client_kwargs(server: ScriptedServer) -> dict[str, Any]:
    return {
        "client_id": "cid",
        "client_secret": "secret",
        "api_key": "key",
        "entity_id": "ent-1",
        "base_url": server.base_url,
        "retry_policy": pa.RetryPolicy(max_retries=2, initial_backoff=0.0, jitter=0.0),
    }


@pytest.fixture
async def purse(server: ScriptedServer) -> AsyncIterator[pa.AsyncPurse]:
    async with pa.AsyncPurse(**client_kwargs(server)) as client:
        yield client


def keys_sent(server: ScriptedServer, path: str = CAPTURES) -> list[str | None]:
    return [r.headers.get("x-idempotency-key") for r in server.of(path)]


# -- a 2xx whose body can't be decoded: applied, and the key must come back ----------------


@pytest.mark.parametrize(
    "answer",
    [
        reply(201, '{"id": "op-1", "amount": 50', content_type="application/json"),
        reply(201, {"id": "op-1", "amount": "5000", "status": "SUCCESS"}),
        reply(201, "[1, 2]"),
    ],
    ids=["truncated", "wrong-type", "wrong-shape"],
)
async def test_undecodable_answer_to_a_capture_carries_the_key(
    purse: pa.AsyncPurse, server: ScriptedServer, answer: Any
) -> None:
    server.add(CAPTURES, answer)
    with pytest.raises(pa.DecodeError) as caught:
        await purse.payments.capture("pay-1", amount=5000)
    err = caught.value
    assert err.idempotency_key is not None
    assert err.idempotency_key == keys_sent(server)[0]
    assert err.may_have_been_applied is True  # the server said 201: it was applied


# -- a write-conflict, then the GET that should resolve it fails ----------------------------


async def test_failed_replay_lookup_raises_with_the_operations_key(
    purse: pa.AsyncPurse, server: ScriptedServer
) -> None:
    purse._requester._sleep = _no_sleep
    server.add(CAPTURES, drop, problem(409, "Conflict", **CONFLICT))
    server.add(PAYMENT, problem(404, "Not Found"))
    with pytest.raises(pa.NotFoundError) as caught:
        await purse.payments.capture("pay-1", amount=5000)
    err = caught.value
    sent = keys_sent(server)
    assert sent[0] == sent[1] == err.idempotency_key
    assert err.may_have_been_applied is True  # the 409 said an operation with the key exists


async def test_replay_lookup_that_does_not_find_the_operation_is_never_a_success(
    purse: pa.AsyncPurse, server: ScriptedServer
) -> None:
    purse._requester._sleep = _no_sleep
    server.add(CAPTURES, drop, problem(409, "Conflict", **CONFLICT))
    server.add(PAYMENT, reply(200, payment_json()))
    with pytest.raises(pa.IdempotencyConflictError) as caught:
        await purse.payments.capture("pay-1", amount=5000)
    assert caught.value.idempotency_key == keys_sent(server)[0]
    assert caught.value.may_have_been_applied is True


# -- a 409 on the very first attempt with the SDK's own key ---------------------------------


async def test_first_attempt_conflict_with_the_sdks_own_key_resolves_to_the_operation(
    purse: pa.AsyncPurse, server: ScriptedServer
) -> None:
    # A fresh uuid4 can only conflict with this very request, delivered twice on the way (a
    # proxy or load balancer re-sent it): the operation it names is this call's.
    server.add(CAPTURES, problem(409, "Conflict", **CONFLICT))
    server.add(PAYMENT, reply(200, payment_json(operation_json())))
    capture = await purse.payments.capture("pay-1", amount=5000)
    assert capture.id == "op-1" and capture.replayed
    assert capture.idempotency_key == keys_sent(server)[0]


async def test_first_attempt_conflict_on_create_resolves_to_the_payment(
    purse: pa.AsyncPurse, server: ScriptedServer
) -> None:
    server.add(
        "/payment/v2/payments", problem(409, "Conflict", **{**CONFLICT, "resource_id": "pay-1"})
    )
    server.add(PAYMENT, reply(200, {**payment_json(), "order": {"reference": "o-1"}}))
    payment = await purse.payments.create(
        amount=12000,
        currency="EUR",
        order={"reference": "o-1"},
        split=[{"vault_form_token": "tok", "amount": 12000}],
        browser={"user_agent": "pytest"},
    )
    assert payment.id == "pay-1"


async def test_conflict_naming_another_amount_is_an_error_naming_the_difference(
    purse: pa.AsyncPurse, server: ScriptedServer
) -> None:
    server.add(CAPTURES, problem(409, "Conflict", **CONFLICT))
    server.add(PAYMENT, reply(200, payment_json(operation_json(amount=3000))))
    with pytest.raises(pa.IdempotencyConflictError, match=r"amount 3000 \(this call asked 5000\)"):
        await purse.payments.capture("pay-1", amount=5000, idempotency_key="k-1")


# -- the client closed while a capture the server applied was in flight --------------------


async def test_close_during_an_applied_capture_raises_client_closed_with_the_key(
    server: ScriptedServer,
) -> None:
    purse = pa.AsyncPurse(**client_kwargs(server))
    applied = asyncio.Event()
    release = asyncio.Event()

    async def applied_then_stall(request: web.Request) -> web.StreamResponse:
        applied.set()
        await release.wait()
        return web.json_response(operation_json(), status=201)

    server.add(CAPTURES, applied_then_stall)
    call = asyncio.create_task(purse.payments.capture("pay-1", amount=5000))
    await applied.wait()
    await purse.aclose()
    release.set()
    with pytest.raises(pa.PurseError) as caught:
        await call
    err = caught.value
    assert isinstance(err, (pa.ClientClosedError, pa.APIConnectionError))
    assert not isinstance(err, ValueError)
    assert err.idempotency_key == keys_sent(server)[0]
    assert err.may_have_been_applied is True


async def test_a_closed_client_refuses_with_its_own_error(purse: pa.AsyncPurse) -> None:
    await purse.aclose()
    with pytest.raises(pa.ClientClosedError) as caught:
        await purse.payments.capture("pay-1", amount=5000, idempotency_key="k-9")
    assert not isinstance(caught.value, ValueError)
    assert caught.value.idempotency_key == "k-9"
    assert caught.value.may_have_been_applied is False  # nothing was sent


# -- cancellation and a second event loop ---------------------------------------------------


async def test_cancelled_capture_carries_the_key(
    purse: pa.AsyncPurse, server: ScriptedServer
) -> None:
    arrived = asyncio.Event()

    async def stall_forever(request: web.Request) -> web.StreamResponse:
        arrived.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    server.add(CAPTURES, stall_forever)
    call = asyncio.create_task(purse.payments.capture("pay-1", amount=5000))
    await arrived.wait()
    call.cancel()
    with pytest.raises(asyncio.CancelledError) as caught:
        await call
    stamped: BaseException = caught.value
    if sys.version_info < (3, 11):
        # 3.10's Task hands out a new CancelledError; the call's own is its __context__.
        assert stamped.__context__ is not None
        stamped = stamped.__context__
    assert stamped.idempotency_key == keys_sent(server)[0]  # type: ignore[attr-defined]
    assert stamped.may_have_been_applied is True  # type: ignore[attr-defined]


async def test_client_used_from_a_second_event_loop_refuses_with_the_key(
    purse: pa.AsyncPurse, server: ScriptedServer
) -> None:
    server.add(CAPTURES, reply(201, operation_json()))
    await purse.payments.capture("pay-1", amount=5000)  # binds the client to this loop
    outcome: list[BaseException] = []

    def other_loop() -> None:
        try:
            asyncio.run(purse.payments.capture("pay-1", amount=5000, idempotency_key="k-2"))
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=other_loop)
    thread.start()
    await asyncio.to_thread(thread.join)
    (err,) = outcome
    assert isinstance(err, pa.ConfigurationError) and "another event loop" in str(err)
    assert err.idempotency_key == "k-2"
    assert err.may_have_been_applied is False
    assert len(server.of(CAPTURES)) == 1


# -- connection errors count their attempts -------------------------------------------------


async def test_connection_error_carries_its_attempt_count(
    purse: pa.AsyncPurse, server: ScriptedServer
) -> None:
    server.add(CAPTURES, drop, drop, drop)
    with pytest.raises(pa.APIConnectionError) as caught:
        await purse.payments.capture("pay-1", amount=5000)
    assert caught.value.attempts == 3
    assert len(set(keys_sent(server))) == 1


# -- the blocking face: the same promises ---------------------------------------------------


@pytest.fixture
def sync_server() -> Iterator[ScriptedServer]:
    """A scripted server on its own loop thread, for the blocking face."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = ScriptedServer()
    asyncio.run_coroutine_threadsafe(server.__aenter__(), loop).result(10)
    yield server
    asyncio.run_coroutine_threadsafe(server.__aexit__(None, None, None), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    loop.close()


def test_sync_undecodable_answer_carries_the_key(sync_server: ScriptedServer) -> None:
    sync_server.add(CAPTURES, reply(201, '{"id": "op-1"'))
    with ps.Purse(**client_kwargs(sync_server)) as purse, pytest.raises(pa.DecodeError) as caught:
        purse.payments.capture("pay-1", amount=5000)
    assert caught.value.idempotency_key == keys_sent(sync_server)[0]
    assert caught.value.may_have_been_applied is True


def test_sync_interrupted_capture_carries_the_key(sync_server: ScriptedServer) -> None:
    # Ctrl-C while the blocking call waits: the interruption propagates, stamped with the key.
    import _thread

    arrived = threading.Event()

    async def stall_forever(request: web.Request) -> web.StreamResponse:
        arrived.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    sync_server.add(CAPTURES, stall_forever)

    def interrupt_once_arrived() -> None:
        if arrived.wait(10):
            _thread.interrupt_main()

    interrupter = threading.Thread(target=interrupt_once_arrived)
    with ps.Purse(**client_kwargs(sync_server)) as purse:
        interrupter.start()
        with pytest.raises(KeyboardInterrupt) as caught:
            purse.payments.capture("pay-1", amount=5000)
        interrupter.join()
    assert caught.value.idempotency_key == keys_sent(sync_server)[0]  # type: ignore[attr-defined]
    assert caught.value.may_have_been_applied is True  # type: ignore[attr-defined]
