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


# -- both faces, exact answers (aioresponses) -----------------------------------------------

BASE = "http://purse.test"
TOKEN = {"access_token": "t-1", "token_type": "Bearer", "expires_in": 3600}
KEY = "k-caller"
ORDER = {"reference": "o-1"}
CARD_SPLIT = [{"vault_form_token": "tok", "amount": 1000}]
SESSIONS_URL = f"{BASE}/payment/v2/client-sessions"
PAYMENTS_URL = f"{BASE}/payment/v2/payments"
LINKS_URL = f"{BASE}/payment/v2/payment-links"


def mocked_kwargs() -> dict[str, Any]:
    return {
        "client_id": "c",
        "client_secret": "s",
        "api_key": "k",
        "entity_id": "ent-1",
        "base_url": BASE,
        "allow_insecure_http": True,
    }


@pytest.fixture(params=["async", "sync"])
async def face(request: pytest.FixtureRequest, mocked: Any) -> AsyncIterator[Any]:
    """An AsyncPurse or a blocking Purse, both answered by `mocked` (aioresponses)."""
    mocked.post(f"{BASE}/oauth/token", payload=TOKEN, repeat=True)
    if request.param == "async":
        async with pa.AsyncPurse(**mocked_kwargs()) as purse:
            yield purse
    else:
        with ps.Purse(**mocked_kwargs()) as blocking:
            yield blocking


async def call(purse: Any, method: str, *args: Any, **kw: Any) -> Any:
    """`purse.<resource>.<method>(...)` on either face (the blocking one off the loop)."""
    resource, name = method.split(".")
    fn = getattr(getattr(purse, resource), name)
    if isinstance(purse, pa.AsyncPurse):
        return await fn(*args, **kw)
    return await asyncio.to_thread(fn, *args, **kw)


def async_client(purse: Any) -> pa.AsyncPurse:
    return purse if isinstance(purse, pa.AsyncPurse) else purse._current()


def requests_to(mocked: Any, method: str, url: str) -> int:
    return sum(len(c) for (m, u), c in mocked.requests.items() if m == method and str(u) == url)


# -- an argument refused once the key is chosen still hands the key over ---------------------

PAYMENT_ARGS: dict[str, Any] = {"amount": 1000, "currency": "EUR", "split": CARD_SPLIT}
LINK_ARGS: dict[str, Any] = {
    "amount": 1000,
    "currency": "EUR",
    "shopper_redirection_url": "https://shop.example/back",
    "order": ORDER,
}
SAVING_ARGS: dict[str, Any] = {**PAYMENT_ARGS, "browser": {}, "order": ORDER}
CHARGE_ARGS: dict[str, Any] = {"wallet_token": "wt-1", "amount": 1000, "currency": "EUR"}


#: A keyed call, and the argument it refuses once its key is chosen.
REFUSALS: list[tuple[str, tuple[Any, ...], dict[str, Any], str]] = [
    ("payments.capture", ("pay-1",), {"priorities": [{"partnr": "*"}]}, "priorities[0].partnr"),
    ("payments.capture", ("pay/1",), {"amount": 100}, "payment_id"),
    ("payments.refund", ("pay-1",), {"amount": 0}, "amount"),
    (
        "payments.create",
        (),
        {**PAYMENT_ARGS, "browser": {"user_agnt": "x"}},
        "browser.user_agnt",
    ),
    ("payments.create", (), {**PAYMENT_ARGS, "amount": "1000"}, "amount"),
    ("payments.create", (), {**PAYMENT_ARGS, "extra_body": {"amount": 1}}, "extra_body"),
    ("payment_links.create", (), {**LINK_ARGS, "order": {"referense": "o"}}, "order.referense"),
    ("payment_links.create", (), {**LINK_ARGS, "extra_body": {"order": {}}}, "extra_body"),
    (
        "payments.create_for_future_usage",
        (),
        {**SAVING_ARGS, "customer": {"reference": "  "}},
        "customer.reference",
    ),
    (
        "payments.create_for_future_usage",
        (),
        {**SAVING_ARGS, "customer": {"reference": "c-1"}, "browser": {"user_agnt": "x"}},
        "browser.user_agnt",
    ),
    (
        "payments.charge_saved_card",
        (),
        {**CHARGE_ARGS, "order": {"reference": " "}},
        "order.reference",
    ),
    (
        "payments.charge_saved_card",
        (),
        {**CHARGE_ARGS, "order": {"referense": "o"}},
        "order.referense",
    ),
    (
        "payments.charge_saved_card",
        (),
        {**CHARGE_ARGS, "order": ORDER, "wallet_token": ""},
        "wallet_token",
    ),
    ("client_sessions.create", (), {**LINK_ARGS, "order": {"net_amout": 1}}, "order.net_amout"),
    (
        "client_sessions.create_for_future_usage",
        (),
        {**LINK_ARGS, "customer": {"reference": "  "}},
        "customer.reference",
    ),
    ("client_sessions.abort", ("cs/1",), {}, "client_session_id"),
]


@pytest.mark.parametrize(
    ("method", "args", "kwargs", "field"),
    REFUSALS,
    ids=[f"{method}-{field}" for method, _, _, field in REFUSALS],
)
async def test_an_argument_refused_after_the_key_is_chosen_carries_the_key(
    face: Any, mocked: Any, method: str, args: tuple[Any, ...], kwargs: dict[str, Any], field: str
) -> None:
    with pytest.raises(pa.ValidationError) as caught:
        await call(face, method, *args, idempotency_key=KEY, **kwargs)
    err = caught.value
    assert err.field == field
    # Retrying with err.idempotency_key is safe, and it was refused before anything was sent.
    assert (err.idempotency_key, err.may_have_been_applied) == (KEY, False)
    assert not mocked.requests


async def test_an_authorization_attempt_out_of_time_carries_its_key(face: Any, mocked: Any) -> None:
    from purse_async import MemoryAttemptStore

    class SlowStore(MemoryAttemptStore):
        async def get(self, order_reference: str) -> list[pa.AttemptRecord]:
            await asyncio.sleep(0.02)  # longer than the whole deadline
            return await super().get(order_reference)

    store = SlowStore()
    with pytest.raises(pa.APITimeoutError) as caught:
        await call(
            face,
            "payments.authorize_with_retry",
            amount=1000,
            currency="EUR",
            split=[{"wallet_token": "wt-1", "amount": 1000}],
            order=ORDER,
            attempt_store=store,
            deadline=0.001,
        )
    err = caught.value
    assert (err.idempotency_key, err.may_have_been_applied) == ("o-1/authorization/1", False)
    assert await MemoryAttemptStore.get(store, "o-1") == []  # not recorded: never sent
    assert requests_to(mocked, "POST", PAYMENTS_URL) == 0


# -- a write-conflict to an unkeyed creation --------------------------------------------------


async def test_a_write_conflict_to_an_unkeyed_creation_is_the_conflict(
    face: Any, mocked: Any
) -> None:
    mocked.post(SESSIONS_URL, status=409, payload={**CONFLICT, "resource_id": "cs-1"})
    with pytest.raises(pa.IdempotencyConflictError) as caught:
        await call(face, "client_sessions.create", **LINK_ARGS)
    assert caught.value.resource_id == "cs-1"
    assert caught.value.idempotency_key is None
    assert requests_to(mocked, "GET", f"{SESSIONS_URL}/cs-1") == 0  # nothing of this call's


# -- `deadline` bounds the whole call, the read-back after a write included ------------------


class Clock:
    """The requester's clock, moved on by the answers (no real waiting)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def after(self, seconds: float) -> Any:
        def advance(url: Any, **kwargs: Any) -> None:
            self.now += seconds

        return advance


class TimedSender:
    """The client's transport, recording each attempt's timeout."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.timeouts: list[tuple[str, str, float]] = []

    def send(self, method: str, url: str, **kwargs: Any) -> Any:
        self.timeouts.append((method, url, kwargs["timeout"]))
        return self.inner.send(method, url, **kwargs)


def payment_back(amount: int = 1000) -> dict[str, Any]:
    return {"id": "pay-1", "amount": amount, "currency": "EUR", "order": ORDER, "captures": []}


#: Each keyed call whose write may need a read-back: the write's URL and answer, the GET's
#: URL and answer, and the call.
READ_BACKS: list[
    tuple[str, dict[str, Any], str, dict[str, Any], str, tuple[Any, ...], dict[str, Any]]
] = [
    (
        f"{BASE}{CAPTURES}",
        {"status": 409, "payload": CONFLICT},
        f"{BASE}{PAYMENT}",
        {"payload": payment_json(operation_json(amount=500))},
        "payments.capture",
        ("pay-1",),
        {"amount": 500},
    ),
    (
        PAYMENTS_URL,
        {"status": 409, "payload": {**CONFLICT, "resource_id": "pay-1"}},
        f"{PAYMENTS_URL}/pay-1",
        {"payload": payment_back()},
        "payments.create",
        (),
        {**PAYMENT_ARGS, "order": ORDER},
    ),
    (
        SESSIONS_URL,
        {"status": 409, "payload": {**CONFLICT, "resource_id": "cs-1"}},
        f"{SESSIONS_URL}/cs-1",
        {"payload": {"id": "cs-1", "amount": 1000, "currency": "EUR", "order": ORDER}},
        "client_sessions.create",
        (),
        LINK_ARGS,
    ),
    (
        LINKS_URL,
        {"status": 409, "payload": {**CONFLICT, "resource_id": "pl-1"}},
        f"{LINKS_URL}/pl-1",
        {"payload": {"id": "pl-1", "amount": 1000, "currency": "EUR", "order": ORDER}},
        "payment_links.create",
        (),
        LINK_ARGS,
    ),
    (
        f"{SESSIONS_URL}/cs-1/abort",
        {"status": 303, "headers": {"Location": "https://shop.example/back"}},
        f"{SESSIONS_URL}/cs-1",
        {"payload": {"id": "cs-1", "status": "ABORTED_BY_MERCHANT"}},
        "client_sessions.abort",
        ("cs-1",),
        {},
    ),
]
READ_BACK_IDS = [case[4] for case in READ_BACKS]


@pytest.mark.parametrize(
    ("post_url", "post", "get_url", "get", "method", "args", "kwargs"),
    READ_BACKS,
    ids=READ_BACK_IDS,
)
async def test_the_read_back_gets_only_what_is_left_of_the_deadline(
    face: Any,
    mocked: Any,
    post_url: str,
    post: dict[str, Any],
    get_url: str,
    get: dict[str, Any],
    method: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> None:
    requester = async_client(face)._requester
    clock = requester._clock = Clock()
    sender = requester._transport = TimedSender(requester._transport)
    mocked.post(post_url, callback=clock.after(0.7), **post)
    mocked.get(get_url, **get)
    await call(face, method, *args, idempotency_key=KEY, deadline=1.0, **kwargs)
    (read_back,) = [t for m, u, t in sender.timeouts if (m, u) == ("GET", get_url)]
    assert read_back == pytest.approx(0.3)  # not a second full second


@pytest.mark.parametrize(
    ("post_url", "post", "get_url", "get", "method", "args", "kwargs"),
    READ_BACKS,
    ids=READ_BACK_IDS,
)
async def test_a_deadline_spent_by_the_write_is_a_keyed_timeout_not_a_read_back(
    face: Any,
    mocked: Any,
    post_url: str,
    post: dict[str, Any],
    get_url: str,
    get: dict[str, Any],
    method: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> None:
    clock = async_client(face)._requester._clock = Clock()
    mocked.post(post_url, callback=clock.after(1.1), **post)
    mocked.get(get_url, **get)
    with pytest.raises(pa.APITimeoutError) as caught:
        await call(face, method, *args, idempotency_key=KEY, deadline=1.0, **kwargs)
    err = caught.value
    # The write was applied (a write-conflict, a 303): retry with the key to learn its result.
    assert (err.idempotency_key, err.may_have_been_applied) == (KEY, True)
    assert requests_to(mocked, "GET", get_url) == 0
