"""Sandbox fault injection: injected errors (status, count, Retry-After, body, path filter),
429s, latency, dropped connections before and after the operation ran, clear()."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import aiohttp
import pytest

from purse_async.testing import Sandbox
from tests.test_sandbox_support import Api


@pytest.fixture
async def api(purse_sandbox: Sandbox) -> AsyncIterator[Api]:
    async with Api(purse_sandbox) as client:
        yield client


async def test_fail_next_serves_n_errors_then_recovers(api: Api) -> None:
    api.sb.faults.fail_next(2, status=503, retry_after=2)
    for _ in range(2):
        reply = await api.call("GET", "/payments/p-1")
        assert reply.status == 503 and reply.headers["Retry-After"] == "2"
        assert reply.content_type == "application/problem+json" and reply.body["status"] == 503
    assert (await api.call("GET", "/payments/p-1")).status == 404
    assert api.sb.faults.pending == 0
    # Faulted requests are counted like any other.
    assert api.sb.stats.requests_by_path["GET /payment/v2/payments/p-1"] == 3


async def test_fail_next_matches_a_path_substring(api: Api) -> None:
    payment = await api.paid()
    api.sb.faults.fail_next(1, status=502, path="/captures")
    assert (await api.call("GET", f"/payments/{payment['id']}")).status == 200
    capture = f"/payments/{payment['id']}/captures"
    assert (await api.call("POST", capture, {"amount": 100})).status == 502
    assert api.sb.ledger(payment["id"]) == []  # the request never reached the handler
    assert (await api.call("POST", capture, {"amount": 100})).status == 201


async def test_custom_fault_bodies(api: Api) -> None:
    api.sb.faults.fail_next(1, status=500, body={"oops": True})
    api.sb.faults.fail_next(1, status=502, body="<html>bad gateway</html>")
    first = await api.call("GET", "/payments/p-1")
    assert first.status == 500 and first.body == {"oops": True}
    second = await api.call("GET", "/payments/p-1")
    assert second.status == 502 and second.body == "<html>bad gateway</html>"


async def test_token_requests_are_faulted_only_when_named(api: Api) -> None:
    api.sb.faults.fail_next(1)
    assert (await api.token_request()).status == 200  # a pathless fault waits for an API call
    assert (await api.call("GET", "/payments/p-1")).status == 503
    api.sb.faults.fail_next(1, status=500, path="/oauth/token")
    assert (await api.token_request()).status == 500


async def test_rate_limit(api: Api) -> None:
    api.sb.faults.rate_limit(1, retry_after=0.25, path="/client-sessions")
    reply = await api.call("GET", "/client-sessions/s-1")
    assert reply.status == 429 and reply.headers["Retry-After"] == "0.25"
    assert reply.body["title"] == "Too Many Requests"
    assert (await api.call("GET", "/client-sessions/s-1")).status == 404


async def test_latency_until_cleared(api: Api) -> None:
    await api.token()
    api.sb.faults.latency(0.2, path="/payments/")
    started = time.monotonic()
    assert (await api.call("GET", "/payments/p-1")).status == 404
    assert time.monotonic() - started >= 0.2
    started = time.monotonic()
    await api.call("GET", "/client-sessions/s-1")
    assert time.monotonic() - started < 0.15  # another path: no delay
    api.sb.faults.clear()
    started = time.monotonic()
    await api.call("GET", "/payments/p-1")
    assert time.monotonic() - started < 0.15


async def test_drop_before_the_handler(api: Api) -> None:
    payment = await api.paid()
    api.sb.faults.drop_connection(1, when="before", path="/captures")
    with pytest.raises(aiohttp.ClientError):
        await api.call("POST", f"/payments/{payment['id']}/captures", {"amount": 100})
    assert api.sb.ledger(payment["id"]) == []
    assert (await api.payment(payment["id"]))["version"] == 1


async def test_drop_after_the_handler_applied_the_operation(api: Api) -> None:
    payment = await api.paid()
    api.sb.faults.drop_connection(1, when="after", path="/captures")
    path = f"/payments/{payment['id']}/captures"
    key = {"x-idempotency-key": "cap-1"}
    with pytest.raises(aiohttp.ClientError):
        await api.call("POST", path, {"amount": 100}, headers=key)
    (entry,) = api.sb.ledger(payment["id"])
    assert (entry.amount, entry.idempotency_key) == (100, "cap-1")
    # The client's retry with the same key learns what happened, and nothing runs twice.
    replay = await api.call("POST", path, {"amount": 100}, headers=key)
    assert replay.status == 409 and replay.body["resource_id"] == entry.id
    assert (await api.payment(payment["id"]))["amounts"]["total_captured"] == 100


async def test_drop_connection_checks_when(api: Api) -> None:
    with pytest.raises(ValueError, match="before"):
        api.sb.faults.drop_connection(1, when="during")  # type: ignore[arg-type]


async def test_clear_forgets_pending_faults(api: Api) -> None:
    api.sb.faults.fail_next(5)
    api.sb.faults.drop_connection(5)
    api.sb.faults.clear()
    assert api.sb.faults.pending == 0
    assert (await api.call("GET", "/payments/p-1")).status == 404
