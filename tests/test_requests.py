"""The request loop against a scripted loopback server: tokens, 401 refresh, retries, idempotency.

Each test scripts the exact answers and asserts what the user sees and what went over the wire.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

import purse_async as pa
from tests._scripted import ScriptedServer, drop, problem, reply, stall

PAYMENT = "/payment/v2/payments/pay-1"
CAPTURES = PAYMENT + "/captures"
SECRET = "very-secret-client-secret"
API_KEY = "api-key-not-for-logs"


def payment_json(**extra: Any) -> dict[str, Any]:
    return {"id": "pay-1", "amount": 12000, "currency": "EUR", **extra}


def operation_json(op_id: str = "op-1", amount: int = 5000) -> dict[str, Any]:
    return {
        "id": op_id,
        "status": "SUCCESS",
        "amount": amount,
        "created_at": "2025-04-09T12:52:14.281Z",
        "partner_transactions": [],
    }


class FakeSleep:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


@pytest.fixture
async def purse(server: ScriptedServer) -> AsyncIterator[pa.AsyncPurse]:
    async with pa.AsyncPurse(
        client_id="cid",
        client_secret=SECRET,
        api_key=API_KEY,
        entity_id="ent-1",
        base_url=server.base_url,
    ) as client:
        yield client


@pytest.fixture
def sleeps(purse: pa.AsyncPurse) -> FakeSleep:
    fake = FakeSleep()
    purse._requester._sleep = fake
    return fake


async def test_token_is_fetched_once_for_200_concurrent_calls(
    server: ScriptedServer, purse: pa.AsyncPurse
) -> None:
    server.routes[PAYMENT] = reply(200, payment_json())
    server.token_gate = asyncio.Event()
    calls = [asyncio.ensure_future(purse.payments.retrieve("pay-1")) for _ in range(200)]
    await asyncio.sleep(0.05)
    server.token_gate.set()
    results = await asyncio.gather(*calls)
    assert all(p.id == "pay-1" for p in results)
    assert server.token_count == 1
    assert purse.token_requests == 1
    token_call = server.of("/oauth/token")[0]
    assert token_call.body == b"grant_type=client_credentials"
    assert token_call.headers["x-api-key"] == API_KEY
    assert token_call.headers["Authorization"].startswith("Basic ")


async def test_api_calls_carry_bearer_and_api_key(
    server: ScriptedServer, purse: pa.AsyncPurse
) -> None:
    server.routes[PAYMENT] = reply(200, payment_json())
    await purse.payments.retrieve("pay-1")
    sent = server.of(PAYMENT)[0]
    assert sent.headers["Authorization"] == "Bearer tok-1"
    assert sent.headers["x-api-key"] == API_KEY


async def test_expired_token_is_refreshed_ahead_of_time(server: ScriptedServer) -> None:
    server.token_lifetime = 1
    server.routes[PAYMENT] = reply(200, payment_json())
    async with pa.AsyncPurse(
        client_id="c", client_secret="s", api_key="k", base_url=server.base_url
    ) as purse:
        await purse.payments.retrieve("pay-1")
        await asyncio.sleep(0.6)  # past half of the 1 s lifetime: refreshed before use
        await purse.payments.retrieve("pay-1")
    assert [r.headers["Authorization"] for r in server.of(PAYMENT)] == [
        "Bearer tok-1",
        "Bearer tok-2",
    ]


async def test_401_refreshes_the_token_and_retries_once(
    server: ScriptedServer, purse: pa.AsyncPurse
) -> None:
    server.add(PAYMENT, problem(401, "Unauthorized"))
    server.routes[PAYMENT] = reply(200, payment_json())
    payment = await purse.payments.retrieve("pay-1")
    assert payment.id == "pay-1"
    assert [r.headers["Authorization"] for r in server.of(PAYMENT)] == [
        "Bearer tok-1",
        "Bearer tok-2",
    ]


async def test_second_401_raises_authentication_error(
    server: ScriptedServer, purse: pa.AsyncPurse
) -> None:
    server.routes[PAYMENT] = problem(401, "Unauthorized", detail="token revoked")
    with pytest.raises(pa.AuthenticationError, match="token revoked") as info:
        await purse.payments.retrieve("pay-1")
    assert len(server.of(PAYMENT)) == 2
    assert info.value.status == 401


async def test_token_endpoint_refusal_carries_oauth_text_not_the_secret(
    server: ScriptedServer, purse: pa.AsyncPurse
) -> None:
    server.add(
        "/oauth/token",
        reply(
            401, {"error": "invalid_client", "error_description": "Client authentication failed"}
        ),
    )
    with pytest.raises(pa.AuthenticationError) as info:
        await purse.payments.retrieve("pay-1")
    text = str(info.value) + repr(info.value.__dict__)
    assert "Client authentication failed" in text
    assert SECRET not in text and API_KEY not in text
    assert server.of(PAYMENT) == []


async def test_retry_sequence_honours_retry_after(
    server: ScriptedServer, purse: pa.AsyncPurse, sleeps: FakeSleep
) -> None:
    server.add(
        PAYMENT,
        reply(503, {"title": "Unavailable"}, headers={"Retry-After": "2"}),
        reply(429, {"title": "Slow"}, headers={"Retry-After": "1.5"}),
    )
    server.routes[PAYMENT] = reply(200, payment_json())
    payment = await purse.payments.retrieve("pay-1")
    assert payment.id == "pay-1"
    assert sleeps.delays == [2.0, 1.5]
    assert len(server.of(PAYMENT)) == 3


async def test_retries_stop_after_max_retries_with_the_last_error(
    server: ScriptedServer, purse: pa.AsyncPurse, sleeps: FakeSleep
) -> None:
    server.routes[PAYMENT] = problem(502, "Bad gateway")
    with pytest.raises(pa.InternalServerError) as info:
        await purse.payments.retrieve("pay-1", max_retries=3)
    assert len(server.of(PAYMENT)) == 4
    assert info.value.attempts == 4
    assert len(sleeps.delays) == 3


async def test_unkeyed_post_is_not_retried_once_sent(
    server: ScriptedServer, purse: pa.AsyncPurse, sleeps: FakeSleep
) -> None:
    path = "/payment/v2/client-sessions"
    server.add(path, problem(503, "Unavailable"))
    with pytest.raises(pa.InternalServerError):
        await purse.client_sessions.create(
            amount=1000,
            currency="EUR",
            shopper_redirection_url="https://shop.example/back",
            order={"reference": "o-1"},
        )
    assert len(server.of(path)) == 1
    server.add(path, drop)
    with pytest.raises(pa.APIConnectionError):
        await purse.client_sessions.create(
            amount=1000,
            currency="EUR",
            shopper_redirection_url="https://shop.example/back",
            order={"reference": "o-1"},
        )
    assert len(server.of(path)) == 2
    assert sleeps.delays == []


async def test_one_idempotency_key_across_every_attempt(
    server: ScriptedServer, purse: pa.AsyncPurse, sleeps: FakeSleep
) -> None:
    server.add(CAPTURES, problem(503, "Unavailable"), drop, reply(201, operation_json()))
    capture = await purse.payments.capture("pay-1", amount=5000)
    sent = server.of(CAPTURES)
    keys = {r.headers["x-idempotency-key"] for r in sent}
    assert len(sent) == 3 and len(keys) == 1
    assert capture.idempotency_key == keys.pop()
    assert capture.replayed is False
    assert sent[0].json() == {"amount": 5000}


async def test_caller_idempotency_key_is_sent(server: ScriptedServer, purse: pa.AsyncPurse) -> None:
    server.add(CAPTURES, reply(201, operation_json()))
    capture = await purse.payments.capture("pay-1", amount=5000, idempotency_key="order-42-cap")
    assert server.of(CAPTURES)[0].headers["x-idempotency-key"] == "order-42-cap"
    assert capture.idempotency_key == "order-42-cap"


async def test_write_conflict_on_retry_resolves_to_the_existing_operation(
    server: ScriptedServer, purse: pa.AsyncPurse, sleeps: FakeSleep
) -> None:
    # The first attempt reached the server and was applied, but the answer was lost.
    server.add(
        CAPTURES,
        drop,
        problem(
            409, "Idempotency violation", type="urn:eu.purse:write-conflict", resource_id="op-7"
        ),
    )
    server.routes[PAYMENT] = reply(200, payment_json(captures=[operation_json("op-7", 5000)]))
    capture = await purse.payments.capture("pay-1", amount=5000)
    assert capture.id == "op-7"
    assert capture.replayed is True
    assert capture.amount == 5000
    assert len(server.of(CAPTURES)) == 2


async def test_write_conflict_naming_another_amount_is_not_hidden(
    server: ScriptedServer, purse: pa.AsyncPurse
) -> None:
    server.add(
        CAPTURES,
        problem(
            409, "Idempotency violation", type="urn:eu.purse:write-conflict", resource_id="op-7"
        ),
    )
    server.routes[PAYMENT] = reply(200, payment_json(captures=[operation_json("op-7", 100)]))
    with pytest.raises(pa.IdempotencyConflictError) as info:
        await purse.payments.capture("pay-1", amount=5000, idempotency_key="reused")
    assert info.value.resource_id == "op-7"


async def test_call_deadline_bounds_the_whole_call(
    server: ScriptedServer, purse: pa.AsyncPurse
) -> None:
    server.routes[PAYMENT] = stall(5)
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(pa.APITimeoutError):
        await purse.payments.retrieve("pay-1", deadline=0.2)
    assert loop.time() - started < 2


async def test_non_json_success_body_is_a_decode_error(
    server: ScriptedServer, purse: pa.AsyncPurse
) -> None:
    server.add(PAYMENT, reply(200, b"<html>oops</html>", content_type="text/html"))
    with pytest.raises(pa.DecodeError):
        await purse.payments.retrieve("pay-1")


@pytest.mark.parametrize(
    "body",
    [
        b'{"id": "pay-1"}',
        b'\n  {"id": "pay-1"}\n',
        b'\xef\xbb\xbf{"id": "pay-1"}',
        '{"id": "pay-1"}'.encode("utf-16"),
    ],
    ids=["plain", "surrounding-blanks", "utf8-bom", "utf16"],
)
async def test_json_bodies_in_any_json_encoding_decode(
    server: ScriptedServer, purse: pa.AsyncPurse, body: bytes
) -> None:
    server.add(PAYMENT, reply(200, body))
    assert (await purse.payments.retrieve("pay-1")).id == "pay-1"


@pytest.mark.parametrize("body", [b'{"id": "pay-1"} trailing', b'{"id": "pay-1"}{}'])
async def test_trailing_garbage_after_json_is_a_decode_error(
    server: ScriptedServer, purse: pa.AsyncPurse, body: bytes
) -> None:
    server.add(PAYMENT, reply(200, body))
    with pytest.raises(pa.DecodeError, match="not JSON"):
        await purse.payments.retrieve("pay-1")


async def test_connection_refused_is_a_connection_error() -> None:
    async with pa.AsyncPurse(
        client_id="c", client_secret="s", api_key="k", base_url="http://127.0.0.1:9", max_retries=0
    ) as purse:
        with pytest.raises(pa.APIConnectionError) as info:
            await purse.payments.retrieve("pay-1")
    assert info.value.request_sent is False


@pytest.mark.parametrize("bad", ["", "a/../b", "../x", "has space", 42, None])
async def test_bad_ids_are_refused_before_sending(
    server: ScriptedServer, purse: pa.AsyncPurse, bad: Any
) -> None:
    with pytest.raises(pa.ValidationError) as info:
        await purse.payments.retrieve(bad)
    assert info.value.field == "payment_id"
    assert server.requests == [] or all("/payments/" not in r.path for r in server.requests)


@pytest.mark.parametrize("amount", [12.5, "5000", True, -1, 0])
async def test_bad_amounts_are_refused_naming_the_field(purse: pa.AsyncPurse, amount: Any) -> None:
    with pytest.raises(pa.ValidationError, match="amount") as info:
        await purse.payments.capture("pay-1", amount=amount)
    assert info.value.field == "amount"


async def test_no_secret_in_logs(
    server: ScriptedServer,
    purse: pa.AsyncPurse,
    sleeps: FakeSleep,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    server.add(PAYMENT, problem(401, "Unauthorized"), problem(503, "Unavailable"))
    server.routes[PAYMENT] = reply(200, payment_json())
    server.add(CAPTURES, reply(201, operation_json()))
    await purse.payments.retrieve("pay-1")
    await purse.payments.capture("pay-1", amount=5000)
    assert caplog.records, "the purse logger should say what it did"
    text = "\n".join(r.getMessage() for r in caplog.records)
    for secret in (SECRET, API_KEY, "tok-1", "tok-2"):
        assert secret not in text


async def test_client_deadline_bounds_every_call(server: ScriptedServer) -> None:
    server.routes[PAYMENT] = stall(5)
    async with pa.AsyncPurse(
        client_id="c", client_secret="s", api_key="k", base_url=server.base_url, deadline=0.3
    ) as purse:
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(pa.APITimeoutError):
            await purse.payments.retrieve("pay-1")
        assert loop.time() - started < 2


async def test_typed_problem_details_on_errors(
    server: ScriptedServer, purse: pa.AsyncPurse
) -> None:
    server.add(
        CAPTURES,
        reply(
            400,
            {
                "type": "urn:purse:amount",
                "title": "Invalid amount",
                "status": 400,
                "errors": [{"pointer": "/amount", "detail": "too high"}],
            },
            headers={"x-request-id": "req-42"},
        ),
    )
    with pytest.raises(pa.BadRequestError) as info:
        await purse.payments.capture("pay-1", amount=99999, idempotency_key="k-1")
    err = info.value
    assert (err.status, err.type, err.request_id, err.idempotency_key) == (
        400,
        "urn:purse:amount",
        "req-42",
        "k-1",
    )
    assert err.method == "POST" and err.url.endswith(CAPTURES)
    assert err.errors[0].pointer == "/amount"


@pytest.mark.parametrize(
    ("body", "path"),
    [
        (b"not json", "$.access_token"),
        (b'{"token_type": "Bearer"}', "$.access_token"),
        (b'{"access_token": ""}', "$.access_token"),
        (b'{"access_token": "t", "expires_in": "soon"}', "$.expires_in"),
    ],
)
async def test_unreadable_token_answer_is_a_decode_error(
    server: ScriptedServer, purse: pa.AsyncPurse, body: bytes, path: str
) -> None:
    server.add("/oauth/token", reply(200, body))
    with pytest.raises(pa.DecodeError) as info:
        await purse.payments.retrieve("pay-1")
    assert info.value.path == path
    assert server.of(PAYMENT) == []
