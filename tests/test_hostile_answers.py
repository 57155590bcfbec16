"""Hostile answers and hostile input (issue 11): malformed HTTP, deep JSON, oversized and endless
bodies, errors that must pickle, and requests the SDK must refuse before sending anything.

Everything talks to 127.0.0.1 only: the scripted `server` fixture, or a raw asyncio server that
writes answers aiohttp cannot parse (so aiohttp raises its own exception, which holds the
request and its credential headers).
"""

from __future__ import annotations

import asyncio
import base64
import copy
import json
import logging
import pickle
import time
import traceback
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from typing import Any

import pytest
from aiohttp import web

import purse_async as pa
from purse_async import _errors
from purse_async._errors import Problem, make_status_error
from purse_async._json import DEFAULT_MAX_RESPONSE_SIZE, MAX_DEPTH, check_depth, loads
from tests._scripted import ScriptedServer, reply

# Random-looking, so that any 8 characters of one found in an error are a leak, not chance.
CLIENT_ID = "cid_5f1dQ0m3"
SECRET = "cs_9b7e2c41d0XqT8"
API_KEY = "ak_3c8a6f20e7WzK2"
BEARER = "bt_a41f09d2c6YrP5"
BASIC = base64.b64encode(f"{CLIENT_ID}:{SECRET}".encode()).decode("ascii")
CREDENTIALS = (API_KEY, SECRET, BEARER, BASIC)

PAYMENT = "/payment/v2/payments/pay-1"
CAPTURES = PAYMENT + "/captures"
CAP = 64 * 1024  # max_response_size of the capped clients below


def payment_json(**extra: Any) -> dict[str, Any]:
    return {"id": "pay-1", "amount": 12000, "currency": "EUR", **extra}


def operation_json() -> dict[str, Any]:
    return {
        "id": "op-1",
        "status": "SUCCESS",
        "amount": 5000,
        "created_at": "2025-04-09T12:52:14.281Z",
        "partner_transactions": [],
    }


def nested(levels: int) -> Any:
    value: Any = "bottom"
    for level in range(levels):
        value = {"a": value} if level % 2 else [value]
    return value


def deep_payment(levels: int = 100) -> bytes:
    """A valid payment whose unknown member nests `levels` deep."""
    return json.dumps(payment_json(extra_member=nested(levels))).encode()


UNCLOSED = b"[" * 100_000
BALANCED = b"[" * 100_000 + b"]" * 100_000
DEEP_BODIES = {
    "100k-unclosed": UNCLOSED,
    "100k-balanced": BALANCED,
    "100-in-a-payment": deep_payment(100),
    # UTF-16 is accepted by the parser: the depth check must see through it.
    "500-in-utf16": json.dumps(payment_json(note='"', x=nested(500))).encode("utf-16"),
}


TOKEN_ROUTE = reply(200, {"access_token": BEARER, "token_type": "Bearer", "expires_in": 3600})


def client(base_url: str, **options: Any) -> pa.AsyncPurse:
    return pa.AsyncPurse(
        client_id=CLIENT_ID,
        client_secret=SECRET,
        api_key=API_KEY,
        entity_id="ent-1",
        base_url=base_url,
        **options,
    )


@pytest.fixture
async def purse(server: ScriptedServer) -> AsyncIterator[pa.AsyncPurse]:
    server.routes["/oauth/token"] = TOKEN_ROUTE
    async with client(server.base_url, max_retries=0) as p:
        yield p


@pytest.fixture
async def capped(server: ScriptedServer) -> AsyncIterator[pa.AsyncPurse]:
    server.routes["/oauth/token"] = TOKEN_ROUTE
    async with client(server.base_url, max_retries=0, max_response_size=CAP) as p:
        yield p


# -- 1. malformed HTTP answers: no credential anywhere in the error or its chain ------------------


def _chain(err: BaseException) -> list[BaseException]:
    """`err` and every exception reachable from it (causes, contexts, exceptions in args)."""
    seen: list[BaseException] = []
    stack: list[Any] = [err]
    while stack:
        exc = stack.pop()
        if not isinstance(exc, BaseException) or any(exc is s for s in seen):
            continue
        seen.append(exc)
        stack.extend((exc.__cause__, exc.__context__, *exc.args))
        stack.extend(getattr(exc, "__dict__", {}).values())
    return seen


def _texts(err: BaseException) -> list[str]:
    texts = ["".join(traceback.format_exception(err))]
    for exc in _chain(err):
        texts += [repr(exc), str(exc), repr(exc.args)]
        texts += [repr(v) for v in getattr(exc, "__dict__", {}).values()]
        texts += [str(v) for v in getattr(exc, "__dict__", {}).values()]
    return texts


#: Every 8 characters of every credential: a credential cut short is still a leak.
PIECES = {secret[i : i + 8] for secret in CREDENTIALS for i in range(len(secret) - 7)}


def assert_no_credentials(err: BaseException) -> None:
    for text in _texts(err):
        for piece in PIECES:
            assert piece not in text, f"{piece!r} leaked in: {text[:2000]}"
    data = pickle.dumps(err)
    assert not any(piece.encode() in data for piece in PIECES)


def _echoed(head: bytes) -> bytes:
    """The credential header values of a request head (what a reflecting server echoes)."""
    return b" ".join(
        line.partition(b":")[2].strip()
        for line in head.split(b"\r\n")
        if line.lower().startswith((b"authorization:", b"x-api-key:"))
    )


def _reflect_in_long_header(offset: int) -> Callable[[bytes], bytes]:
    # A header line over aiohttp's 8190-byte limit: its error quotes the first 100 bytes.
    def answer(head: bytes) -> bytes:
        line = b"X-Pad: " + b"p" * offset + _echoed(head) + b"q" * 9000
        return b"HTTP/1.1 200 OK\r\n" + line + b"\r\n\r\n"

    return answer


Answer = bytes | Callable[[bytes], bytes]

GARBAGE: dict[str, Answer] = {
    "bad-content-length": b"HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n",
    "garbage-status-line": b"garbage\r\n\r\n",
    "nul-in-header": b"HTTP/1.1 200 OK\r\nX\x00Bad: y\r\nContent-Length: 2\r\n\r\n{}",
    # A hostile server (or proxy) reflecting the request into the line aiohttp quotes.
    "reflected-in-status-line": lambda head: b"garbage " + _echoed(head) + b"\r\n\r\n",
    # ... into a line aiohttp cuts short: a credential's first characters stay in the quote.
    **{f"reflected-cut-at-{n}": _reflect_in_long_header(n) for n in (40, 50, 70, 85, 90)},
}


@asynccontextmanager
async def raw_server(answer: Answer, *, token_ok: bool) -> AsyncIterator[str]:
    """127.0.0.1 server writing `answer` (or `answer(request head)`) to every request; the token
    request gets a valid token when `token_ok`."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                if length:
                    await reader.readexactly(length)
                if token_ok and head.startswith(b"POST /oauth/token "):
                    body = json.dumps(
                        {"access_token": BEARER, "token_type": "Bearer", "expires_in": 3600}
                    ).encode()
                    writer.write(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
                    )
                    await writer.drain()
                    continue
                writer.write(answer if isinstance(answer, bytes) else answer(head))
                await writer.drain()
                break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with suppress(ConnectionError):
                await writer.wait_closed()

    srv = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        port = srv.sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.close()
        await srv.wait_closed()


#: The C Task, and the pure-Python one (pytest-asyncio's on 3.10, custom task factories): it
#: throws a failed future's exception into the coroutine from inside its own `except` block.
TASKS = {"c-task": asyncio.Task, "py-task": getattr(asyncio.tasks, "_PyTask", asyncio.Task)}


async def in_task(task_class: Any, coro: Awaitable[Any]) -> Any:
    return await task_class(coro, loop=asyncio.get_running_loop())


@pytest.mark.parametrize("task_class", TASKS.values(), ids=TASKS.keys())
@pytest.mark.parametrize("answer", GARBAGE.values(), ids=GARBAGE.keys())
async def test_malformed_answer_to_an_api_call_leaks_no_credential(
    answer: Answer, task_class: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="purse")
    async with raw_server(answer, token_ok=True) as url, client(url, max_retries=0) as purse:
        with pytest.raises(pa.APIConnectionError) as info:
            capture = purse.payments.capture("pay-1", amount=100, idempotency_key="key-1")
            await in_task(task_class, capture)
    err = info.value
    assert type(err) is pa.APIConnectionError
    assert err.idempotency_key == "key-1"
    assert err.may_have_been_applied is True
    assert err.__cause__ is None
    assert err.__context__ is None
    assert_no_credentials(err)
    for record in caplog.records:
        assert not any(piece in record.getMessage() for piece in PIECES)


@pytest.mark.parametrize("task_class", TASKS.values(), ids=TASKS.keys())
@pytest.mark.parametrize("answer", GARBAGE.values(), ids=GARBAGE.keys())
async def test_malformed_answer_to_the_token_request_leaks_no_credential(
    answer: Answer, task_class: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="purse")
    async with raw_server(answer, token_ok=False) as url, client(url) as purse:
        purse._requester._sleep = _no_sleep
        with pytest.raises(pa.APIConnectionError) as info:
            await in_task(task_class, purse.payments.retrieve("pay-1"))
    err = info.value
    assert err.url is not None and err.url.endswith("/oauth/token")
    assert err.attempts == 3  # a token request is retried (it changes nothing)
    assert_no_credentials(err)
    for record in caplog.records:
        assert not any(piece in record.getMessage() for piece in PIECES)


async def _no_sleep(delay: float) -> None:
    return None


def test_the_leak_check_sees_aiohttp_request_headers() -> None:
    """The check is not vacuous: an aiohttp error for our request, chained, is caught."""
    import aiohttp
    from multidict import CIMultiDict, CIMultiDictProxy
    from yarl import URL

    headers = CIMultiDictProxy(CIMultiDict({"x-api-key": API_KEY}))
    info = aiohttp.RequestInfo(URL("http://127.0.0.1/"), "GET", headers, URL("http://127.0.0.1/"))
    inner = aiohttp.ClientResponseError(info, (), status=400, message="bad")
    outer = pa.APIConnectionError("failed")
    outer.__context__ = inner
    with pytest.raises(AssertionError):
        assert_no_credentials(outer)


# -- 2. deep JSON: a typed error, never RecursionError --------------------------------------------


def assert_no_recursion_error(err: BaseException) -> None:
    """No RecursionError in what a traceback shows (a suppressed `__context__` is not shown)."""
    shown: BaseException | None = err
    while shown is not None:
        assert not isinstance(shown, RecursionError)
        shown = shown.__cause__ or (None if shown.__suppress_context__ else shown.__context__)
    assert "RecursionError" not in "".join(traceback.format_exception(err))


@pytest.mark.parametrize("body", DEEP_BODIES.values(), ids=DEEP_BODIES.keys())
async def test_deep_json_in_a_2xx_answer_is_a_decode_error(
    server: ScriptedServer, purse: pa.AsyncPurse, body: bytes
) -> None:
    server.routes[PAYMENT] = reply(200, body)
    with pytest.raises(pa.ResponseTooLargeError) as info:
        await purse.payments.retrieve("pay-1")
    assert isinstance(info.value, pa.DecodeError)
    assert_no_recursion_error(info.value)


async def test_deep_json_in_a_keyed_2xx_answer_carries_the_key(
    server: ScriptedServer, purse: pa.AsyncPurse
) -> None:
    server.add(CAPTURES, reply(201, BALANCED))
    with pytest.raises(pa.ResponseTooLargeError) as info:
        await purse.payments.capture("pay-1", amount=100, idempotency_key="cap-deep")
    assert info.value.idempotency_key == "cap-deep"
    assert info.value.may_have_been_applied is True


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, pa.BadRequestError),
        (404, pa.NotFoundError),
        (422, pa.UnprocessableEntityError),
        (500, pa.InternalServerError),
    ],
)
@pytest.mark.parametrize("body", DEEP_BODIES.values(), ids=DEEP_BODIES.keys())
async def test_deep_json_in_an_error_body_keeps_the_status_class(
    server: ScriptedServer,
    purse: pa.AsyncPurse,
    status: int,
    cls: type[pa.APIStatusError],
    body: bytes,
) -> None:
    server.routes[PAYMENT] = reply(status, body, content_type="application/problem+json")
    with pytest.raises(pa.APIStatusError) as info:
        await purse.payments.retrieve("pay-1")
    assert type(info.value) is cls
    assert info.value.status == status
    assert len(str(info.value)) < 2000
    pickle.loads(pickle.dumps(info.value))


async def test_deep_problem_members_still_give_the_problem(
    server: ScriptedServer, purse: pa.AsyncPurse
) -> None:
    body = {"type": "about:blank", "title": "Nope", "status": 422, "x": nested(100)}
    server.routes[PAYMENT] = reply(422, body, content_type="application/problem+json")
    with pytest.raises(pa.UnprocessableEntityError) as info:
        await purse.payments.retrieve("pay-1")
    assert info.value.title == "Nope"


async def test_a_problem_nested_near_the_recursion_limit_still_pickles(
    server: ScriptedServer, purse: pa.AsyncPurse
) -> None:
    # Parsed (its title is read), but past the nesting cap the error keeps the text's start as
    # `raw`, not the nested objects: a Celery task's error must survive pickling.
    body = {"type": "about:blank", "title": "Nope", "status": 422, "x": nested(900)}
    server.routes[PAYMENT] = reply(422, body, content_type="application/problem+json")
    with pytest.raises(pa.UnprocessableEntityError) as info:
        await purse.payments.retrieve("pay-1")
    assert info.value.title == "Nope"
    again = pickle.loads(pickle.dumps(info.value))
    assert again.problem is not None and again.problem.title == "Nope"


@pytest.mark.parametrize("body", DEEP_BODIES.values(), ids=DEEP_BODIES.keys())
async def test_deep_json_in_a_token_answer_is_a_purse_error(
    server: ScriptedServer, body: bytes
) -> None:
    server.routes["/oauth/token"] = reply(200, body)
    server.routes[PAYMENT] = reply(200, payment_json())
    async with client(server.base_url, max_retries=0) as purse:
        with pytest.raises(pa.PurseError) as info:
            await purse.payments.retrieve("pay-1")
    assert isinstance(info.value, pa.DecodeError)
    assert_no_recursion_error(info.value)
    assert server.of(PAYMENT) == []


BAD_TOKEN_ANSWERS = {
    "deep-member": json.dumps({"access_token": BEARER, "expires_in": 3600, "x": nested(100)}),
    "not-json": f'{{"access_token": "{BEARER}", "expires_in": 3600,}}',
    "bad-expires-in": json.dumps({"access_token": BEARER, "expires_in": "soon"}),
    "deep-100k": f'{{"access_token": "{BEARER}", "x": ' + "[" * 100_000,
}


@pytest.mark.parametrize("body", BAD_TOKEN_ANSWERS.values(), ids=BAD_TOKEN_ANSWERS.keys())
async def test_unreadable_token_answers_do_not_carry_the_token(
    server: ScriptedServer, body: str
) -> None:
    server.routes["/oauth/token"] = reply(200, body)
    async with client(server.base_url, max_retries=0) as purse:
        with pytest.raises(pa.DecodeError) as info:
            await purse.payments.retrieve("pay-1")
    assert_no_credentials(info.value)
    assert_no_recursion_error(info.value)


@pytest.mark.parametrize("body", DEEP_BODIES.values(), ids=DEEP_BODIES.keys())
@pytest.mark.parametrize("as_text", [False, True], ids=["bytes", "str"])
async def test_deep_json_in_a_webhook_body_is_a_webhook_error(
    purse: pa.AsyncPurse, body: bytes, as_text: bool
) -> None:
    raw: bytes | str = body
    if as_text:
        raw = body.decode(json.detect_encoding(body))
    with pytest.raises(pa.WebhookError) as info:
        purse.webhooks.parse(raw)
    assert_no_recursion_error(info.value)


def test_depth_cap_is_exact() -> None:
    assert loads(b"[" * MAX_DEPTH + b"]" * MAX_DEPTH, what="x") is not None
    with pytest.raises(pa.ResponseTooLargeError):
        loads(b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1), what="x")
    # Objects and arrays alike, mixed: each counts one level.
    assert loads(json.dumps(nested(MAX_DEPTH)).encode(), what="x") is not None
    for levels in (MAX_DEPTH + 1, 2 * MAX_DEPTH - 1, 2 * MAX_DEPTH):
        with pytest.raises(pa.ResponseTooLargeError):
            loads(json.dumps(nested(levels)).encode(), what="x")
    # Brackets inside strings (escaped quotes included) are not nesting.
    text = json.dumps({"s": '\\"' + "[" * 500, "t": ["[{" * 300]})
    assert loads(text.encode(), what="x")["t"] == ["[{" * 300]
    assert loads(text.encode("utf-16"), what="x")["t"] == ["[{" * 300]


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 65 + b'"' + b'\\"' * 2_000_000,  # unterminated string of escaped quotes
        b"[" * 65 + b'"x' * 2_000_000,  # every other byte opens a string
        b'["\\' + b"[" * 4_000_000,
    ],
    ids=["escaped-quotes", "quote-storm", "trailing-backslash"],
)
def test_depth_check_is_linear_on_hostile_strings(body: bytes) -> None:
    """4 MiB of hostile string syntax is scanned in well under a second (was quadratic)."""
    started = time.perf_counter()
    with suppress(pa.DecodeError):
        check_depth(body)
        loads(body, what="x")
    assert time.perf_counter() - started < 2.0


# -- 3. size caps, enforced while reading ---------------------------------------------------------


def stalled_after_headers(length: int, stop: asyncio.Event) -> Any:
    """Announce `length` bytes, send 1 KiB, then send nothing more until `stop`."""

    async def handler(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        resp.content_length = length
        await resp.prepare(request)
        await resp.write(b" " * 1024)
        await stop.wait()
        return resp

    return handler


class Endless:
    """A chunked answer that never ends (bounded by `limit` bytes); counts what it sent."""

    def __init__(self, limit: int, chunk: int = 16 * 1024) -> None:
        self.limit = limit
        self.chunk = b" " * chunk
        self.sent = 0

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        with suppress(ConnectionError):
            while self.sent < self.limit:
                await resp.write(self.chunk)
                self.sent += len(self.chunk)
            await resp.write_eof()
        return resp


async def test_content_length_over_the_cap_is_refused_without_reading(
    server: ScriptedServer, capped: pa.AsyncPurse
) -> None:
    stop = asyncio.Event()
    server.routes[PAYMENT] = stalled_after_headers(100 * CAP, stop)
    started = time.monotonic()
    try:
        with pytest.raises(pa.ResponseTooLargeError, match="max_response_size"):
            # Reading the body would wait for bytes that never come (until the timeout).
            await capped.payments.retrieve("pay-1", timeout=30)
    finally:
        stop.set()
    assert time.monotonic() - started < 5


async def test_endless_chunked_answer_is_cut_at_the_cap(server: ScriptedServer) -> None:
    """Refused while reading, with the default cap: what the server got out when the error
    came includes what the kernel's loopback buffers absorbed (a few MiB)."""
    cap = DEFAULT_MAX_RESPONSE_SIZE
    endless = Endless(limit=20 * cap, chunk=64 * 1024)
    server.routes[PAYMENT] = endless
    server.routes["/oauth/token"] = TOKEN_ROUTE
    async with client(server.base_url, max_retries=0) as purse:
        tracemalloc.start()
        try:
            started = time.monotonic()
            with pytest.raises(pa.ResponseTooLargeError):
                await purse.payments.retrieve("pay-1", timeout=30)
            elapsed = time.monotonic() - started
            sent_when_refused = endless.sent
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert sent_when_refused < 10 * cap
    assert peak < 4 * cap
    assert elapsed < 10


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
async def test_default_cap_refuses_a_5_mib_answer(server: ScriptedServer, framing: str) -> None:
    size = 5 * 1024 * 1024
    if framing == "chunked":
        server.routes[PAYMENT] = Endless(limit=size, chunk=64 * 1024)
    else:
        server.routes[PAYMENT] = reply(200, b" " * size)
    server.routes["/oauth/token"] = TOKEN_ROUTE
    async with client(server.base_url, max_retries=0) as purse:
        with pytest.raises(pa.ResponseTooLargeError):
            await purse.payments.retrieve("pay-1")


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
async def test_an_answer_of_exactly_the_cap_is_read(
    server: ScriptedServer, capped: pa.AsyncPurse, framing: str
) -> None:
    body = json.dumps(payment_json()).encode()
    exact = body + b" " * (CAP - len(body))

    async def chunked(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        for start in range(0, len(exact), 4096):
            await resp.write(exact[start : start + 4096])
        await resp.write_eof()
        return resp

    server.add(PAYMENT, chunked if framing == "chunked" else reply(200, exact))
    payment = await capped.payments.retrieve("pay-1")
    assert payment.id == "pay-1"
    server.add(PAYMENT, reply(200, exact + b" "))
    with pytest.raises(pa.ResponseTooLargeError):
        await capped.payments.retrieve("pay-1")


@pytest.mark.parametrize("given_key", ["cap-key-1", None])
@pytest.mark.parametrize("framing", ["content-length", "chunked"])
async def test_keyed_call_refused_for_size_carries_its_key(
    server: ScriptedServer, capped: pa.AsyncPurse, given_key: str | None, framing: str
) -> None:
    if framing == "chunked":
        server.add(CAPTURES, Endless(limit=20 * CAP))
    else:
        server.add(CAPTURES, reply(201, b" " * (2 * CAP)))
    with pytest.raises(pa.ResponseTooLargeError) as info:
        await capped.payments.capture("pay-1", amount=5000, idempotency_key=given_key)
    err = info.value
    [sent] = server.of(CAPTURES)  # not re-sent
    assert err.idempotency_key == sent.headers["x-idempotency-key"]
    if given_key is not None:
        assert err.idempotency_key == given_key
    assert err.may_have_been_applied is True


def compressed(payload_size: int, encoding: str) -> bytes:
    """A payment JSON padded to `payload_size` bytes, compressed (a few KB on the wire)."""
    wbits = {"gzip": 31, "deflate": 15}[encoding]
    comp = zlib.compressobj(9, zlib.DEFLATED, wbits)
    head = b'{"id": "pay-1", "pad": "'
    parts = [comp.compress(head)]
    block = b" " * (1 << 20)
    left = payload_size - len(head) - 2
    while left > 0:
        parts.append(comp.compress(block[: min(left, len(block))]))
        left -= len(block)
    parts += [comp.compress(b'"}'), comp.flush()]
    return b"".join(parts)


def encoded_reply(body: bytes, encoding: str, *, chunked: bool) -> Any:
    async def handler(request: web.Request) -> web.StreamResponse:
        headers = {"Content-Type": "application/json", "Content-Encoding": encoding}
        if not chunked:
            return web.Response(body=body, headers=headers)
        resp = web.StreamResponse(status=200, headers=headers)
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        with suppress(ConnectionError):
            for start in range(0, len(body), 4096):
                await resp.write(body[start : start + 4096])
            await resp.write_eof()
        return resp

    return handler


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
async def test_a_compression_bomb_is_capped_while_decompressing(
    server: ScriptedServer, encoding: str, chunked: bool
) -> None:
    """Content-Length counts compressed bytes: 200 KB on the wire inflated to 200 MiB in
    memory (600 MiB peak) under a 4 MiB cap."""
    body = compressed(200 * 1024 * 1024, encoding)
    assert len(body) < 512 * 1024
    server.routes["/oauth/token"] = TOKEN_ROUTE
    server.routes[PAYMENT] = encoded_reply(body, encoding, chunked=chunked)
    async with client(server.base_url, max_retries=0) as purse:
        tracemalloc.start()
        try:
            with pytest.raises(pa.ResponseTooLargeError):
                await purse.payments.retrieve("pay-1")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak < 4 * DEFAULT_MAX_RESPONSE_SIZE


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
async def test_a_compressed_answer_under_the_cap_decodes(
    server: ScriptedServer, capped: pa.AsyncPurse, encoding: str, chunked: bool
) -> None:
    server.add(PAYMENT, encoded_reply(compressed(CAP, encoding), encoding, chunked=chunked))
    payment = await capped.payments.retrieve("pay-1")
    assert payment.id == "pay-1"
    server.add(PAYMENT, encoded_reply(compressed(CAP + 1, encoding), encoding, chunked=chunked))
    with pytest.raises(pa.ResponseTooLargeError):
        await capped.payments.retrieve("pay-1")


async def test_oversized_token_answer_is_refused(server: ScriptedServer) -> None:
    server.routes["/oauth/token"] = reply(200, b" " * (2 * CAP))
    async with client(server.base_url, max_retries=0, max_response_size=CAP) as purse:
        with pytest.raises(pa.ResponseTooLargeError):
            await purse.payments.retrieve("pay-1")
    assert server.of(PAYMENT) == []


# -- 4. every error pickles with every attribute --------------------------------------------------

URL = "http://127.0.0.1:1/payment/v2/payments/pay-1/captures"


def _problem(status: int, **fields: Any) -> bytes:
    return json.dumps(
        {"type": "about:blank", "title": "Title", "status": status, "detail": "Detail", **fields}
    ).encode()


STATUS_BODIES: list[tuple[int, bytes]] = [
    (400, _problem(400, errors=[{"pointer": "/amount", "detail": "too big"}])),
    (401, b'{"error": "invalid_client", "error_description": "bad credentials"}'),
    (403, _problem(403)),
    (404, _problem(404, instance="/payments/pay-1")),
    (409, _problem(409)),
    (409, _problem(409, type="urn:eu.purse:write-conflict", resource_id="op-7")),
    (418, b"I'm a teapot"),
    (422, _problem(422, errors=[{"field": "currency", "message": "unknown"}])),
    (429, _problem(429)),
    (500, b"<html>oops</html>"),
    (503, b""),
]


def _status_error(status: int, body: bytes) -> pa.APIStatusError:
    err = make_status_error(
        status=status,
        body=body,
        method="POST",
        url=URL,
        request_id="req-42",
        idempotency_key="key-42",
        retry_after=1.5 if status in (429, 503) else None,
    )
    err.attempts = 3
    err.may_have_been_applied = True
    return err


def _other_errors() -> list[pa.PurseError]:
    base = pa.PurseError("generic")
    base.idempotency_key = "key-1"
    base.may_have_been_applied = False
    closed = pa.ClientClosedError("this Purse client is closed")
    closed.idempotency_key = "key-2"
    closed.may_have_been_applied = True
    conn = pa.APIConnectionError(
        "POST x: cannot connect", method="POST", url=URL, idempotency_key="k", request_sent=False
    )
    conn.attempts = 3
    timeout = pa.APITimeoutError("timed out", method="GET", url=URL, idempotency_key=None)
    unknown = pa.OutcomeUnknownError(
        "maybe created",
        method="POST",
        url=URL,
        idempotency_key="key-3",
        resource="client_session",
        amount=12000,
        currency="EUR",
        order_reference="ORDER-1",
    )
    unknown.attempts = 2
    unknown_timeout = pa.OutcomeUnknownTimeoutError(
        "maybe created", method="POST", url=URL, idempotency_key="key-4", amount=1, currency="EUR"
    )
    auth = pa.AuthenticationError(
        "token request refused",
        status=401,
        problem=Problem(type="invalid_client", title="invalid_client", status=401),
        method="POST",
        url="http://127.0.0.1:1/oauth/token",
    )
    noted = pa.ValidationError("bad currency", field="currency", value="E1R")
    if hasattr(noted, "add_note"):
        noted.add_note("a note")
    return [
        base,
        pa.ConfigurationError("timeout must be > 0"),
        noted,
        pa.ValidationError("no field"),
        closed,
        pa.DecodeError("bad amount", path="$.amounts.total", body={"amounts": {"total": 1.5}}),
        pa.ResponseTooLargeError("too large", path="$", body=b"[[[["),
        pa.SignatureVerificationError("bad signature"),
        pa.WebhookError("not JSON"),
        conn,
        timeout,
        unknown,
        unknown_timeout,
        auth,
        pa.PaymentMismatchError(
            "payment p does not match the order: amount 1 (the order expects 2)",
            payment_id="p",
            mismatches=("amount 1 (the order expects 2)",),
        ),
    ]


ALL_ERRORS = [_status_error(s, b) for s, b in STATUS_BODIES] + _other_errors()


def test_every_error_class_is_covered() -> None:
    classes = {
        obj
        for name in _errors.__all__
        if isinstance(obj := getattr(_errors, name), type) and issubclass(obj, BaseException)
    }
    assert classes <= {type(e) for e in ALL_ERRORS}


def _assert_same(copied: BaseException, err: BaseException) -> None:
    assert type(copied) is type(err)
    assert str(copied) == str(err)
    assert repr(copied) == repr(err)
    assert copied.args == err.args
    assert copied.__dict__ == err.__dict__
    assert getattr(copied, "__notes__", None) == getattr(err, "__notes__", None)
    if isinstance(err, pa.APIStatusError):
        assert isinstance(copied, pa.APIStatusError)
        assert copied.problem == err.problem
        assert copied.problem.raw == err.problem.raw
        for name in ("status", "request_id", "idempotency_key", "attempts", "retry_after"):
            assert getattr(copied, name) == getattr(err, name)
        for name in ("type", "title", "detail", "resource_id", "errors"):
            assert getattr(copied, name) == getattr(err, name)
    for name in ("idempotency_key", "may_have_been_applied"):
        assert getattr(copied, name) == getattr(err, name)


@pytest.mark.parametrize("err", ALL_ERRORS, ids=[type(e).__name__ for e in ALL_ERRORS])
@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_errors_pickle_with_every_attribute(err: pa.PurseError, protocol: int) -> None:
    _assert_same(pickle.loads(pickle.dumps(err, protocol=protocol)), err)


@pytest.mark.parametrize("err", ALL_ERRORS, ids=[type(e).__name__ for e in ALL_ERRORS])
def test_errors_copy_with_every_attribute(err: pa.PurseError) -> None:
    _assert_same(copy.copy(err), err)
    _assert_same(copy.deepcopy(err), err)


def test_status_errors_map_to_their_classes() -> None:
    """The statuses above build every status class (the pickle tests rely on it)."""
    classes = {type(_status_error(status, body)) for status, body in STATUS_BODIES}
    assert classes == {
        pa.BadRequestError,
        pa.AuthenticationError,
        pa.PermissionDeniedError,
        pa.NotFoundError,
        pa.ConflictError,
        pa.IdempotencyConflictError,
        pa.UnprocessableEntityError,
        pa.RateLimitError,
        pa.InternalServerError,
        pa.APIStatusError,
    }


async def test_errors_raised_by_a_call_pickle(server: ScriptedServer, purse: pa.AsyncPurse) -> None:
    server.add(
        CAPTURES,
        reply(
            409,
            {"type": "urn:eu.purse:write-conflict", "title": "Conflict", "status": 409},
            headers={"x-request-id": "req-9"},
            content_type="application/problem+json",
        ),
    )
    with pytest.raises(pa.IdempotencyConflictError) as info:
        await purse.payments.capture("pay-1", amount=1, idempotency_key="key-9")
    copied = pickle.loads(pickle.dumps(info.value))
    _assert_same(copied, info.value)
    assert copied.request_id == "req-9"
    assert copied.idempotency_key == "key-9"
    assert copied.may_have_been_applied is True


# -- 5. input validation, before anything is sent -------------------------------------------------

BAD_KEYS = [
    "key\r\nX-Injected: 1",
    "key\n",
    "k\rey",
    "key\x00",
    "key\x7f",
    "key\tkey",
    "clé",
    "ключ",
    " key",
    "key ",
    "",
    "k" * 256,
]

BAD_HEADERS: list[dict[str, Any]] = [
    {"X-Note": "a\r\nX-Injected: 1"},
    {"X-Note": "a\nb"},
    {"X-Note": "a\rb"},
    {"X-Note": "a\x00b"},
    {"Bad Name": "v"},
    {"X-Note:": "v"},
    {"": "v"},
    {"X-Nöte": "v"},
    {"X-Note\r\nX-Injected": "v"},
    {"X-Note": 1},
    {"x-idempotency-key": "other"},
    {"X-Idempotency-Key": "other"},
    {"Authorization": "Bearer forged"},
    {"x-api-key": "forged"},
    {"X-API-KEY": "forged"},
    {"Content-Type": "text/plain"},
    # Body framing: a caller's Content-Length: 0 made a capture of 5000 arrive empty ("capture
    # everything") with its body left on the connection as the start of the next request.
    {"Content-Length": "0"},
    {"transfer-encoding": "chunked"},
]

BAD_CURRENCIES: list[Any] = ["E1R", "eur", "Eur", "EURO", "EU", "", " EUR", "EUR\n", "€UR", 978]

Call = Callable[[pa.AsyncPurse, dict[str, Any]], Awaitable[Any]]

SESSION = {
    "amount": 12000,
    "currency": "EUR",
    "shopper_redirection_url": "https://shop.example/back",
    "order": {"reference": "ORDER-1"},
}
NEW_PAYMENT = {
    "amount": 12000,
    "currency": "EUR",
    "split": [{"amount": 12000, "partner": "card", "method": "CARD"}],
    "browser": {"user_agent": "test"},
}

CALLS: dict[str, Call] = {
    "capture": lambda p, kw: p.payments.capture("pay-1", amount=100, **kw),
    "refund": lambda p, kw: p.payments.refund("pay-1", amount=100, **kw),
    "void": lambda p, kw: p.payments.void("pay-1", **kw),
    "payments.create": lambda p, kw: p.payments.create(**{**NEW_PAYMENT, **kw}),
    "payments.retrieve": lambda p, kw: p.payments.retrieve("pay-1", **kw),
    "client_sessions.create": lambda p, kw: p.client_sessions.create(**{**SESSION, **kw}),
}
#: The calls that write: only they take an idempotency key.
KEYED = {name: call for name, call in CALLS.items() if name != "payments.retrieve"}
KEYED["client_sessions.abort"] = lambda p, kw: p.client_sessions.abort("cs-1", **kw)


@pytest.mark.parametrize("call", KEYED.values(), ids=KEYED.keys())
@pytest.mark.parametrize("key", BAD_KEYS, ids=repr)
async def test_bad_idempotency_keys_are_refused_before_sending(
    server: ScriptedServer, purse: pa.AsyncPurse, call: Call, key: str
) -> None:
    with pytest.raises(pa.ValidationError) as info:
        await call(purse, {"idempotency_key": key})
    assert info.value.field == "idempotency_key"
    assert server.requests == []


@pytest.mark.parametrize("call", CALLS.values(), ids=CALLS.keys())
@pytest.mark.parametrize("headers", BAD_HEADERS, ids=repr)
async def test_bad_extra_headers_are_refused_before_sending(
    server: ScriptedServer, purse: pa.AsyncPurse, call: Call, headers: dict[str, Any]
) -> None:
    with pytest.raises(pa.ValidationError) as info:
        await call(purse, {"extra_headers": headers})
    assert info.value.field == "extra_headers"
    assert server.requests == []
    assert not any(piece in str(info.value) for piece in PIECES)


@pytest.mark.parametrize("headers", BAD_HEADERS, ids=repr)
async def test_bad_default_headers_are_refused_at_construction(
    server: ScriptedServer, headers: dict[str, Any]
) -> None:
    with pytest.raises(pa.ConfigurationError, match="default_headers"):
        client(server.base_url, default_headers=headers)
    assert server.requests == []


@pytest.mark.parametrize(
    "call",
    [CALLS["payments.create"], CALLS["client_sessions.create"]],
    ids=["payments.create", "client_sessions.create"],
)
@pytest.mark.parametrize("currency", BAD_CURRENCIES, ids=repr)
async def test_bad_currencies_are_refused_before_sending(
    server: ScriptedServer, purse: pa.AsyncPurse, call: Call, currency: Any
) -> None:
    with pytest.raises(pa.ValidationError) as info:
        await call(purse, {"currency": currency})
    assert info.value.field == "currency"
    assert server.requests == []


async def test_a_key_with_inner_spaces_and_harmless_headers_are_sent(
    server: ScriptedServer, purse: pa.AsyncPurse
) -> None:
    server.add(CAPTURES, reply(201, operation_json()))
    key = "order 42 / capture #1"
    operation = await purse.payments.capture(
        "pay-1",
        amount=5000,
        idempotency_key=key,
        extra_headers={"X-Trace": "abc\tdef", "X-Merchant": "shop-1"},
    )
    assert operation.idempotency_key == key
    [sent] = server.of(CAPTURES)
    assert sent.headers["x-idempotency-key"] == key
    assert sent.headers["X-Trace"] == "abc\tdef"
    assert sent.headers["X-Merchant"] == "shop-1"


async def test_harmless_default_headers_are_sent(server: ScriptedServer) -> None:
    server.routes["/oauth/token"] = TOKEN_ROUTE
    server.routes[PAYMENT] = reply(200, payment_json())
    async with client(server.base_url, default_headers={"X-Merchant": "shop-1"}) as purse:
        await purse.payments.retrieve("pay-1")
    [sent] = server.of(PAYMENT)
    assert sent.headers["X-Merchant"] == "shop-1"
