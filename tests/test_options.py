"""One meaning per option, clients derived with `with_options`, and response metadata
(`with_raw_response`), on both faces side by side.

- `timeout` bounds each attempt and `deadline` the whole call with its retries, whether given
  to the client (or `with_options`) or to one call;
- `with_options(...)` shares the pool, the token and the caches; closing the derived client
  leaves the parent working, closing the parent closes both; what would need another pool or
  other credentials is refused;
- `with_raw_response` returns an `APIResponse` with status, headers, request id, attempts,
  idempotency key and elapsed time;
- `idempotency_key` is taken by the calls that write only.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from aiohttp import web

import purse_async as pa
import purse_sync
from purse_async import resources as async_resources
from tests._scripted import ScriptedServer, drop, problem, reply, stall

PAYMENT = "/payment/v2/payments/pay-1"
CAPTURES = PAYMENT + "/captures"
SESSION = "/payment/v2/client-sessions/cs-1"
JWKS = "/payment/v2/signing-jwks"
CREDS = {"client_id": "cid", "client_secret": "secret", "api_key": "key"}
FAST = pa.RetryPolicy(max_retries=3, initial_backoff=0.01, max_backoff=0.02, deadline=None)


def payment_json(**extra: Any) -> dict[str, Any]:
    return {"id": "pay-1", "amount": 12000, "currency": "EUR", **extra}


def operation_json(op_id: str = "op-1", amount: int = 100) -> dict[str, Any]:
    return {
        "id": op_id,
        "status": "SUCCESS",
        "amount": amount,
        "created_at": "2025-04-09T12:52:14.281Z",
        "partner_transactions": [],
    }


def with_request_id(request_id: str, body: Any, status: int = 200) -> Any:
    return reply(status, body, headers={"x-request-id": request_id})


class ThreadedServer:
    """The scripted server on its own loop thread, for the blocking face."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server = ScriptedServer()
        asyncio.run_coroutine_threadsafe(self.server.__aenter__(), self.loop).result(10)

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.server.__aexit__(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def sync_server() -> Iterator[ScriptedServer]:
    threaded = ThreadedServer()
    yield threaded.server
    threaded.close()


@pytest.fixture
async def purse(server: ScriptedServer) -> AsyncIterator[pa.AsyncPurse]:
    async with pa.AsyncPurse(**CREDS, base_url=server.base_url, retry_policy=FAST) as client:
        yield client


@pytest.fixture
def sync_purse(sync_server: ScriptedServer) -> Iterator[purse_sync.Purse]:
    with purse_sync.Purse(**CREDS, base_url=sync_server.base_url, retry_policy=FAST) as client:
        yield client


def elapsed(started: float) -> float:
    return time.monotonic() - started


# -- timeout per attempt, deadline per call: on the client and on one call ---------------------


async def test_client_timeout_bounds_each_attempt(server: ScriptedServer) -> None:
    server.add(PAYMENT, stall(5), with_request_id("r-2", payment_json()))
    async with pa.AsyncPurse(
        **CREDS, base_url=server.base_url, retry_policy=FAST, timeout=0.2
    ) as purse:
        started = time.monotonic()
        raw = await purse.payments.with_raw_response.retrieve("pay-1")
    # The first attempt was cut at 0.2s and retried: per attempt, not for the whole call.
    assert raw.attempts == 2 and raw.parsed.id == "pay-1" and raw.request_id == "r-2"
    assert elapsed(started) < 2


def test_sync_client_timeout_bounds_each_attempt(sync_server: ScriptedServer) -> None:
    sync_server.add(PAYMENT, stall(5), with_request_id("r-2", payment_json()))
    with purse_sync.Purse(
        **CREDS, base_url=sync_server.base_url, retry_policy=FAST, timeout=0.2
    ) as purse:
        started = time.monotonic()
        raw = purse.payments.with_raw_response.retrieve("pay-1")
    assert raw.attempts == 2 and raw.parsed.id == "pay-1" and raw.request_id == "r-2"
    assert elapsed(started) < 2


async def test_client_deadline_bounds_the_whole_call(server: ScriptedServer) -> None:
    server.routes[PAYMENT] = stall(5)
    policy = pa.RetryPolicy(max_retries=50, initial_backoff=0.01, max_backoff=0.02, deadline=0.6)
    async with pa.AsyncPurse(
        **CREDS, base_url=server.base_url, retry_policy=policy, timeout=0.25
    ) as purse:
        started = time.monotonic()
        with pytest.raises(pa.APITimeoutError) as caught:
            await purse.payments.retrieve("pay-1")
    assert 0.5 < elapsed(started) < 2
    assert 2 <= caught.value.attempts <= 3  # attempts of 0.25s until the 0.6s deadline


def test_sync_client_deadline_bounds_the_whole_call(sync_server: ScriptedServer) -> None:
    sync_server.routes[PAYMENT] = stall(5)
    policy = pa.RetryPolicy(max_retries=50, initial_backoff=0.01, max_backoff=0.02, deadline=0.6)
    with purse_sync.Purse(
        **CREDS, base_url=sync_server.base_url, retry_policy=policy, timeout=0.25
    ) as purse:
        started = time.monotonic()
        with pytest.raises(purse_sync.APITimeoutError) as caught:
            purse.payments.retrieve("pay-1")
    assert 0.5 < elapsed(started) < 2
    assert 2 <= caught.value.attempts <= 3


async def test_call_timeout_bounds_each_attempt(
    server: ScriptedServer, purse: pa.AsyncPurse
) -> None:
    server.add(PAYMENT, stall(5), reply(200, payment_json()))
    started = time.monotonic()
    raw = await purse.payments.with_raw_response.retrieve("pay-1", timeout=0.2)
    assert raw.attempts == 2 and elapsed(started) < 2  # the client's 30s did not apply


def test_sync_call_timeout_bounds_each_attempt(
    sync_server: ScriptedServer, sync_purse: purse_sync.Purse
) -> None:
    sync_server.add(PAYMENT, stall(5), reply(200, payment_json()))
    started = time.monotonic()
    raw = sync_purse.payments.with_raw_response.retrieve("pay-1", timeout=0.2)
    assert raw.attempts == 2 and elapsed(started) < 2


async def test_call_deadline_bounds_the_whole_call(
    server: ScriptedServer, purse: pa.AsyncPurse
) -> None:
    server.routes[PAYMENT] = stall(5)
    started = time.monotonic()
    with pytest.raises(pa.APITimeoutError) as caught:
        await purse.payments.retrieve("pay-1", timeout=0.25, deadline=0.6, max_retries=50)
    assert 0.5 < elapsed(started) < 2
    assert 2 <= caught.value.attempts <= 3


def test_sync_call_deadline_bounds_the_whole_call(
    sync_server: ScriptedServer, sync_purse: purse_sync.Purse
) -> None:
    sync_server.routes[PAYMENT] = stall(5)
    started = time.monotonic()
    with pytest.raises(purse_sync.APITimeoutError) as caught:
        sync_purse.payments.retrieve("pay-1", timeout=0.25, deadline=0.6, max_retries=50)
    assert 0.5 < elapsed(started) < 2
    assert 2 <= caught.value.attempts <= 3


async def test_a_keyed_write_times_out_per_attempt_under_one_key(
    server: ScriptedServer, purse: pa.AsyncPurse
) -> None:
    server.add(CAPTURES, stall(5), reply(201, operation_json()))
    raw = await purse.payments.with_raw_response.capture(
        "pay-1", amount=100, idempotency_key="cap-9", timeout=0.2
    )
    assert raw.attempts == 2 and raw.idempotency_key == "cap-9"
    assert [r.headers["x-idempotency-key"] for r in server.of(CAPTURES)] == ["cap-9"] * 2


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"timeout": 0}, "timeout must be a number > 0"),
        ({"deadline": -1}, "deadline must be a number > 0"),
        ({"deadline": True}, "deadline must be a number > 0"),
    ],
)
async def test_bad_per_call_bounds_are_refused_before_sending(
    server: ScriptedServer, purse: pa.AsyncPurse, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(pa.ConfigurationError, match=message):
        await purse.payments.retrieve("pay-1", **options)
    assert server.requests == []


# -- with_options ------------------------------------------------------------------------------


async def test_with_options_shares_the_pool_and_the_token(server: ScriptedServer) -> None:
    peers: list[Any] = []

    async def answer(request: web.Request) -> web.StreamResponse:
        assert request.transport is not None
        peers.append(request.transport.get_extra_info("peername"))
        return web.json_response(payment_json())

    server.routes[PAYMENT] = answer
    async with pa.AsyncPurse(
        **CREDS, base_url=server.base_url, default_headers={"x-shop": "main"}
    ) as purse:
        quick = purse.with_options(timeout=5, deadline=10, default_headers={"x-tenant": "b"})
        assert isinstance(quick, pa.AsyncPurse) and quick is not purse
        await purse.payments.retrieve("pay-1")
        await quick.payments.retrieve("pay-1")
        await purse.payments.retrieve("pay-1")
        # One token for both, one keep-alive connection for all three requests.
        assert server.token_count == 1 and quick.token_requests == purse.token_requests == 1
        assert len(set(peers)) == 1
        # Each sends its own defaults.
        sent = [r.headers for r in server.of(PAYMENT)]
        assert [h.get("x-tenant") for h in sent] == [None, "b", None]
        assert [h.get("x-shop") for h in sent] == ["main"] * 3
        assert (quick.settings.timeout, quick.settings.retry.deadline) == (5.0, 10.0)
        assert (purse.settings.timeout, purse.settings.retry.deadline) == (30.0, 120.0)
        # Caches and in-memory stores are shared too.
        assert quick.redirections._cache is purse.redirections._cache
        assert quick.payments._attempt_store is purse.payments._attempt_store
        assert quick.webhooks._memory_store is purse.webhooks._memory_store


async def test_closing_a_derived_client_keeps_the_parent_working(
    server: ScriptedServer, purse: pa.AsyncPurse
) -> None:
    server.routes[PAYMENT] = reply(200, payment_json())
    child = purse.with_options(max_retries=0)
    grandchild = child.with_options(timeout=3)
    await child.payments.retrieve("pay-1")
    async with child:
        pass  # closed on exit
    assert child.is_closed and not purse.is_closed and not grandchild.is_closed
    with pytest.raises(pa.ClientClosedError):
        await child.payments.retrieve("pay-1")
    assert (await purse.payments.retrieve("pay-1")).id == "pay-1"
    assert (await grandchild.payments.retrieve("pay-1")).id == "pay-1"
    await purse.aclose()  # the parent's close closes the pool: every derived client with it
    assert grandchild.is_closed
    with pytest.raises(pa.ClientClosedError):
        await grandchild.payments.retrieve("pay-1")


def test_sync_with_options_shares_the_pool_and_the_token(
    sync_server: ScriptedServer, sync_purse: purse_sync.Purse
) -> None:
    sync_server.routes[PAYMENT] = reply(200, payment_json())
    child = sync_purse.with_options(timeout=5, max_retries=0)
    assert isinstance(child, purse_sync.Purse)
    assert child.settings.timeout == 5.0 and child.settings.retry.max_retries == 0
    assert sync_purse.settings.timeout == 30.0
    assert child.settings.retry.initial_backoff == FAST.initial_backoff  # the rest kept
    sync_purse.payments.retrieve("pay-1")
    child.payments.retrieve("pay-1")
    assert sync_server.token_count == 1 and child.token_requests == 1
    child.close()
    assert child.is_closed and not sync_purse.is_closed
    with pytest.raises(purse_sync.ClientClosedError):
        child.payments.retrieve("pay-1")
    assert sync_purse.payments.retrieve("pay-1").id == "pay-1"
    other = sync_purse.with_options(deadline=5)
    sync_purse.close()
    assert other.is_closed
    with pytest.raises(purse_sync.ClientClosedError):
        other.payments.retrieve("pay-1")


@pytest.mark.parametrize(
    "name",
    [
        *("base_url", "client_id", "client_secret", "api_key", "entity_id", "token_store"),
        *("max_connections", "max_response_size", "allow_insecure_http", "environment"),
    ],
)
async def test_what_needs_another_pool_or_credentials_is_refused(
    purse: pa.AsyncPurse, name: str
) -> None:
    with pytest.raises(pa.ConfigurationError, match=f"cannot change {name}"):
        purse.with_options(**{name: None})
    with (
        purse_sync.Purse(**CREDS) as blocking,
        pytest.raises(purse_sync.ConfigurationError, match=f"cannot change {name}"),
    ):
        blocking.with_options(**{name: None})


@pytest.mark.parametrize(
    ("overrides", "error", "message"),
    [
        ({"timeout": 0}, pa.ConfigurationError, "timeout must be a number > 0"),
        ({"timeout": None}, pa.ConfigurationError, "timeout must be a number > 0"),
        ({"deadline": "5"}, pa.ConfigurationError, "deadline must be None or a number > 0"),
        ({"max_retries": -1}, pa.ConfigurationError, "max_retries must be an int >= 0"),
        ({"max_retries": True}, pa.ConfigurationError, "max_retries must be an int >= 0"),
        ({"retry_policy": 3}, pa.ConfigurationError, "retry_policy must be a RetryPolicy"),
        ({"default_headers": {"x-a": "1\r\nx-b: 2"}}, pa.ConfigurationError, "default_headers"),
        ({"default_headers": {"x-api-key": "k"}}, pa.ConfigurationError, "x-api-key"),
        ({"idempotent_creates": "yes"}, pa.ConfigurationError, "idempotent_creates"),
        ({"timeuot": 5}, TypeError, "unexpected keyword argument 'timeuot'"),
    ],
)
async def test_bad_overrides_are_refused(
    purse: pa.AsyncPurse, overrides: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        purse.with_options(**overrides)


async def test_with_options_policy_and_creates(purse: pa.AsyncPurse) -> None:
    policy = pa.RetryPolicy(max_retries=7, initial_backoff=0.3)
    child = purse.with_options(retry_policy=policy, deadline=None, idempotent_creates=True)
    assert child.settings.retry == pa.RetryPolicy(max_retries=7, initial_backoff=0.3, deadline=None)
    assert child.settings.idempotent_creates and not purse.settings.idempotent_creates
    assert child.with_options().settings == child.settings
    assert repr(child) == repr(purse)


# -- response metadata ---------------------------------------------------------------------------


async def test_raw_response_carries_the_request_id_and_headers(
    server: ScriptedServer, purse: pa.AsyncPurse
) -> None:
    server.add(PAYMENT, with_request_id("req-123", payment_json()))
    raw = await purse.payments.with_raw_response.retrieve("pay-1")
    assert isinstance(raw, pa.APIResponse) and isinstance(raw.parsed, pa.Payment)
    assert raw.parsed.id == "pay-1"
    assert (raw.status, raw.request_id, raw.attempts) == (200, "req-123", 1)
    assert raw.headers["X-Request-Id"] == "req-123"  # case-insensitive
    assert raw.idempotency_key is None and raw.method == "GET"
    assert raw.url == server.base_url + PAYMENT and 0 < raw.elapsed < 5
    assert "req-123" in repr(raw) and "x-request-id" not in repr(raw)
    # The client's requester records nothing: only the raw call's own copy did.
    assert purse._requester._recording is None


def test_sync_raw_response_carries_the_request_id_and_headers(
    sync_server: ScriptedServer, sync_purse: purse_sync.Purse
) -> None:
    sync_server.add(PAYMENT, with_request_id("req-456", payment_json()))
    raw = sync_purse.payments.with_raw_response.retrieve("pay-1")
    assert isinstance(raw, purse_sync.APIResponse) and isinstance(raw.parsed, purse_sync.Payment)
    assert (raw.status, raw.request_id, raw.attempts) == (200, "req-456", 1)


async def test_raw_response_counts_the_attempts_after_a_retry(
    server: ScriptedServer, purse: pa.AsyncPurse
) -> None:
    # (A dropped connection would be re-sent by aiohttp itself, within the same attempt.)
    server.add(PAYMENT, problem(503), problem(502), with_request_id("req-3", payment_json()))
    raw = await purse.payments.with_raw_response.retrieve("pay-1")
    assert raw.attempts == 3 and raw.request_id == "req-3" and raw.parsed.id == "pay-1"


def test_sync_raw_response_counts_the_attempts_after_a_retry(
    sync_server: ScriptedServer, sync_purse: purse_sync.Purse
) -> None:
    sync_server.add(PAYMENT, problem(503), with_request_id("req-2", payment_json()))
    raw = sync_purse.payments.with_raw_response.retrieve("pay-1")
    assert raw.attempts == 2 and raw.request_id == "req-2"


async def test_raw_capture_carries_its_idempotency_key(
    server: ScriptedServer, purse: pa.AsyncPurse
) -> None:
    server.add(CAPTURES, with_request_id("req-c", operation_json(), status=201))
    raw = await purse.payments.with_raw_response.capture("pay-1", amount=100, idempotency_key="c1")
    assert raw.status == 201 and raw.method == "POST" and raw.request_id == "req-c"
    assert raw.idempotency_key == raw.parsed.idempotency_key == "c1"
    assert server.of(CAPTURES)[0].headers["x-idempotency-key"] == "c1"
    # Without a key of the caller's: the one the SDK generated and sent.
    server.add(CAPTURES, reply(201, operation_json("op-2")))
    generated = await purse.payments.with_raw_response.capture("pay-1", amount=100)
    assert generated.idempotency_key is not None
    assert generated.idempotency_key == generated.parsed.idempotency_key
    assert server.of(CAPTURES)[1].headers["x-idempotency-key"] == generated.idempotency_key


def test_sync_raw_capture_carries_its_idempotency_key(
    sync_server: ScriptedServer, sync_purse: purse_sync.Purse
) -> None:
    sync_server.add(CAPTURES, reply(201, operation_json()))
    raw = sync_purse.payments.with_raw_response.capture("pay-1", amount=100, idempotency_key="c2")
    assert raw.idempotency_key == raw.parsed.idempotency_key == "c2"
    assert sync_server.of(CAPTURES)[0].headers["x-idempotency-key"] == "c2"


async def test_raw_replay_reports_every_attempt_and_the_answer_read(
    server: ScriptedServer, purse: pa.AsyncPurse
) -> None:
    conflict = problem(409, "Conflict", type="urn:eu.purse:write-conflict", resource_id="op-7")
    server.add(CAPTURES, drop, conflict)
    server.routes[PAYMENT] = with_request_id(
        "req-p", payment_json(captures=[operation_json("op-7")])
    )
    raw = await purse.payments.with_raw_response.capture("pay-1", amount=100, idempotency_key="k7")
    assert raw.parsed.replayed and raw.parsed.id == "op-7"
    # Two POSTs under the key, then the GET the existing capture was read from.
    assert raw.attempts == 3 and raw.idempotency_key == "k7"
    assert (raw.method, raw.status, raw.request_id) == ("GET", 200, "req-p")


async def test_every_endpoint_has_a_raw_twin(server: ScriptedServer, purse: pa.AsyncPurse) -> None:
    server.add(SESSION, reply(200, {"id": "cs-1", "status": "CREATED"}))
    session = await purse.client_sessions.with_raw_response.retrieve("cs-1")
    assert session.parsed.id == "cs-1"
    server.add(JWKS, reply(200, {"keys": []}))
    keys = await purse.signing_keys.with_raw_response.retrieve()
    assert keys.parsed.keys == () or list(keys.parsed.keys) == []
    server.add(SESSION + "/abort", reply(200, {"id": "cs-1", "status": "ABORTED_BY_MERCHANT"}))
    aborted = await purse.client_sessions.with_raw_response.abort("cs-1", idempotency_key="ab")
    assert aborted.idempotency_key == "ab" and aborted.method == "POST"
    assert server.of(SESSION + "/abort")[0].headers["x-idempotency-key"] == "ab"
    server.add(
        "/payment/v2/eligible-solutions",
        reply(200, {"amount": 100, "currency": "EUR", "eligible_solutions": []}),
    )
    listed = await purse.eligible_solutions.with_raw_response.list(
        amount=100, currency="EUR", order={"reference": "o"}, entity_id="e"
    )
    assert listed.parsed.amount == 100 and listed.idempotency_key is not None


@pytest.mark.parametrize("name", ["ClientSessions", "EligibleSolutions", "Payments", "SigningKeys"])
def test_raw_twins_have_the_plain_methods_signatures(name: str) -> None:
    async_cls = getattr(pa, f"Async{name}")
    async_raw = inspect.signature(async_cls.with_raw_response.fget).return_annotation
    sync_cls = getattr(purse_sync, name)
    sync_raw = inspect.signature(sync_cls.with_raw_response.fget).return_annotation
    assert (async_raw, sync_raw) == (f"Async{name}WithRawResponse", f"{name}WithRawResponse")
    async_twin = vars(inspect.getmodule(async_cls))[async_raw]
    sync_twin = vars(inspect.getmodule(sync_cls))[sync_raw]
    methods = [m for m in vars(async_twin) if not m.startswith("_")]
    assert methods and methods == [m for m in vars(sync_twin) if not m.startswith("_")]
    for method in methods:
        plain = inspect.signature(getattr(async_cls, method))
        returns = f"APIResponse[{plain.return_annotation}]"
        for twin, annotation in [
            (getattr(async_twin, method), f"Awaitable[{returns}]"),
            (getattr(sync_twin, method), returns),
        ]:
            raw = inspect.signature(twin)
            assert list(raw.parameters.values())[1:] == list(plain.parameters.values())[1:]
            assert raw.return_annotation == annotation


# -- idempotency_key only on writes; the same tail everywhere ----------------------------------

READS: dict[str, Callable[[Any], Any]] = {
    "payments.retrieve": lambda p: p.payments.retrieve("pay-1", idempotency_key="k"),
    "client_sessions.retrieve": lambda p: p.client_sessions.retrieve("cs-1", idempotency_key="k"),
    "signing_keys.retrieve": lambda p: p.signing_keys.retrieve(idempotency_key="k"),
    "redirections.verify": lambda p: p.redirections.verify("x.y.z", idempotency_key="k"),
    "eligible_solutions.list": lambda p: p.eligible_solutions.list(
        amount=1, currency="EUR", order={}, idempotency_key="k"
    ),
    "payments.wait_for_authorization": lambda p: p.payments.wait_for_authorization(
        "pay-1", idempotency_key="k"
    ),
    "payments.watch": lambda p: p.payments.watch("pay-1", idempotency_key="k"),
    "payments.retry_decision": lambda p: p.payments.retry_decision(
        "pay-1", initiator="MIT", idempotency_key="k"
    ),
    "raw payments.retrieve": lambda p: p.payments.with_raw_response.retrieve(
        "pay-1", idempotency_key="k"
    ),
}


@pytest.mark.parametrize("call", READS.values(), ids=READS.keys())
async def test_reads_take_no_idempotency_key(
    server: ScriptedServer, purse: pa.AsyncPurse, call: Callable[[Any], Any]
) -> None:
    with pytest.raises(TypeError, match="idempotency_key"):
        call(purse)  # at the call, before anything is awaited
    assert server.requests == []


@pytest.mark.parametrize("call", READS.values(), ids=READS.keys())
def test_sync_reads_take_no_idempotency_key(
    sync_server: ScriptedServer, sync_purse: purse_sync.Purse, call: Callable[[Any], Any]
) -> None:
    with pytest.raises(TypeError, match="idempotency_key"):
        call(sync_purse)
    assert sync_server.requests == []


WRITES = {
    "AsyncClientSessions": {"create", "abort", "create_for_future_usage"},
    "AsyncPaymentLinks": {"create"},
    "AsyncPayments": {
        "create",
        "capture",
        "refund",
        "void",
        "create_for_future_usage",
        "charge_saved_card",
    },
}
TAIL = ["timeout", "deadline", "max_retries", "extra_headers"]


@pytest.mark.parametrize("cls_name", async_resources.__all__)
def test_every_call_has_the_same_tail(cls_name: str) -> None:
    cls = getattr(async_resources, cls_name)
    for name, member in vars(cls).items():
        if name.startswith("_") or not inspect.isfunction(member):
            continue
        params = inspect.signature(member).parameters
        if "timeout" not in params:
            assert cls_name == "AsyncWebhooks", f"{cls_name}.{name} has no timeout"
            continue
        assert [p for p in params if p in TAIL] == TAIL, f"{cls_name}.{name}"
        for option in TAIL:
            assert params[option].kind is inspect.Parameter.KEYWORD_ONLY
        assert ("idempotency_key" in params) == (name in WRITES.get(cls_name, ())), name
        # One meaning per name: a per-attempt timeout never has a default bound here.
        assert params["timeout"].default is None
