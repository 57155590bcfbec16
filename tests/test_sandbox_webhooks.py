"""Sandbox webhooks: the payment JSON POSTed to a local aiohttp.web receiver whenever the amounts
change, the HMAC header with a secret, no blocking of the API answer, failures recorded."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import attrs
import pytest
from aiohttp import web

from purse_async.testing import MagicCards, Sandbox
from tests.test_sandbox_support import Api

SECRET = "whsec-sandbox-test"


@attrs.define
class Receiver:
    url: str
    received: list[tuple[bytes, dict[str, str]]]
    delay: float = 0.0

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(body) for body, _ in self.received]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    box = Receiver("", [])

    async def hook(request: web.Request) -> web.Response:
        body = await request.read()
        await asyncio.sleep(box.delay)
        box.received.append((body, dict(request.headers)))
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", hook)
    # A client that gives up (the sandbox closing) ends the slow handler, so teardown is quick.
    runner = web.AppRunner(app, access_log=None, handler_cancellation=True, shutdown_timeout=0.5)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    box.url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    yield box
    await runner.cleanup()


@pytest.fixture
async def api(purse_sandbox: Sandbox) -> AsyncIterator[Api]:
    async with Api(purse_sandbox) as client:
        yield client


async def pay(api: Api, url: str, **checkout: Any) -> dict[str, Any]:
    return await api.paid(session={"webhook": {"url": url}}, **checkout)


async def test_deliveries_follow_the_amounts_with_a_valid_hmac(receiver: Receiver) -> None:
    async with Sandbox(webhook_secret=SECRET) as sb, Api(sb) as api:
        payment = await pay(api, receiver.url)
        await api.call("POST", f"/payments/{payment['id']}/captures", {"amount": 5000})
        await api.call("POST", f"/payments/{payment['id']}/refunds", {"amount": 1000})
        await sb.wait_for_webhooks()
        final = await api.payment(payment["id"])
    bodies = receiver.bodies()
    assert [b["id"] for b in bodies] == [payment["id"]] * 3
    assert [b["version"] for b in bodies] == [1, 2, 3]
    assert [b["amounts"]["available_to_capture"] for b in bodies] == [12000, 7000, 7000]
    assert [b["amounts"]["total_refunded"] for b in bodies] == [0, 0, 1000]
    assert bodies[-1] == final  # the body is the GET payment JSON, no envelope
    for raw, headers in receiver.received:
        expected = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
        assert headers["x-purse-signature"] == expected
        assert headers["Content-Type"] == "application/json"
    records = sb.webhook_deliveries
    assert [(r.url, r.status, r.error) for r in records] == [(receiver.url, 204, None)] * 3
    assert [r.body for r in records] == bodies


async def test_no_signature_without_a_secret(api: Api, receiver: Receiver) -> None:
    await pay(api, receiver.url)
    await api.sb.wait_for_webhooks()
    ((_, headers),) = receiver.received
    assert "x-purse-signature" not in headers


async def test_pending_settlement_and_refusals_are_notified(api: Api, receiver: Receiver) -> None:
    pending = await pay(api, receiver.url, card=MagicCards.PENDING)
    api.sb.settle_pending(pending["id"])
    await pay(api, receiver.url, card=MagicCards.REFUSED)
    await api.sb.wait_for_webhooks()
    statuses = [b["authorization"]["status"] for b in receiver.bodies()]
    assert statuses == ["PENDING", "AUTHORIZED", "REFUSED"]


async def test_a_replayed_operation_sends_nothing(api: Api, receiver: Receiver) -> None:
    payment = await pay(api, receiver.url)
    key = {"x-idempotency-key": "k-1"}
    for _ in range(2):
        await api.call("POST", f"/payments/{payment['id']}/voids", {"amount": 1}, headers=key)
    await api.sb.wait_for_webhooks()
    assert len(receiver.received) == 2


async def test_no_webhook_url_no_delivery(api: Api) -> None:
    await api.paid()
    await api.sb.wait_for_webhooks()
    assert api.sb.webhook_deliveries == []


async def test_delivery_does_not_block_the_api_answer(api: Api, receiver: Receiver) -> None:
    payment = await pay(api, receiver.url)
    receiver.delay = 0.5
    started = time.monotonic()
    reply = await api.call("POST", f"/payments/{payment['id']}/captures", {"amount": 1})
    assert reply.status == 201 and time.monotonic() - started < 0.4
    await api.sb.wait_for_webhooks()
    assert len(receiver.received) == 2


async def test_unreachable_receiver_is_recorded(api: Api) -> None:
    await pay(api, "http://127.0.0.1:9/nothing-listens")
    await api.sb.wait_for_webhooks()
    (record,) = api.sb.webhook_deliveries
    assert record.status is None and record.error


async def test_close_does_not_wait_forever_for_a_slow_receiver(receiver: Receiver) -> None:
    receiver.delay = 30
    sb = await Sandbox().start()
    try:
        async with Api(sb) as api:
            await pay(api, receiver.url)
    finally:
        started = time.monotonic()
        await sb.close(webhook_grace=0.05)
    assert time.monotonic() - started < 1
    assert sb.webhook_deliveries[0].status is None  # cancelled, not left running
    await sb.close()  # twice is fine
