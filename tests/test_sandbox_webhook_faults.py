"""Sandbox webhooks per change and their faults: one new `version` and one delivery per change
(settlements, automatic captures), in order per URL; duplicated, held back and released out of
order, delayed; each delivery carrying the payment as of its change."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import attrs
import pytest
from aiohttp import web

from purse_async.testing import MagicCards, Sandbox
from tests.test_sandbox_support import Api

SECRET = "whsec-faults"


@attrs.define
class Receiver:
    url: str = ""
    received: list[tuple[bytes, dict[str, str], float]] = attrs.field(factory=list)

    def versions(self) -> list[int]:
        return [json.loads(raw)["version"] for raw, _, _ in self.received]

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(raw) for raw, _, _ in self.received]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    box = Receiver()

    async def hook(request: web.Request) -> web.Response:
        box.received.append((await request.read(), dict(request.headers), time.monotonic()))
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", hook)
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


async def pay(api: Api, receiver: Receiver, **checkout: Any) -> dict[str, Any]:
    session = {"webhook": {"url": receiver.url}, **checkout.pop("session", {})}
    return await api.paid(session=session, **checkout)


async def capture(api: Api, payment_id: str, amount: int) -> None:
    reply = await api.call("POST", f"/payments/{payment_id}/captures", {"amount": amount})
    assert reply.status == 201, reply.body


# -- one version, one webhook per change -------------------------------------------------------


async def test_a_pending_settlement_is_a_new_version_and_a_webhook(
    api: Api, receiver: Receiver
) -> None:
    payment = await pay(api, receiver, card=MagicCards.PENDING)
    api.sb.settle_pending(payment["id"])
    await api.sb.wait_for_webhooks()
    bodies = receiver.bodies()
    assert [(b["version"], b["authorization"]["status"]) for b in bodies] == [
        (1, "PENDING"),
        (2, "AUTHORIZED"),
    ]
    assert bodies[-1] == await api.payment(payment["id"])


async def test_a_delayed_settlement_is_notified_too(receiver: Receiver) -> None:
    async with Sandbox(pending_delay=0.05) as sb, Api(sb) as api:
        await pay(api, receiver, card=MagicCards.PENDING)
        await asyncio.sleep(0.15)
        await sb.wait_for_webhooks()
    assert receiver.versions() == [1, 2]


async def test_an_automatic_capture_is_its_own_change(api: Api, receiver: Receiver) -> None:
    payment = await pay(api, receiver, session={"capture_mode": "AUTOMATIC"})
    await api.sb.wait_for_webhooks()
    first, second = receiver.bodies()
    assert (first["version"], first["amounts"]["total_captured"]) == (1, 0)
    assert (second["version"], second["amounts"]["total_captured"]) == (2, 12000)
    assert payment["version"] == 2


async def test_a_pending_mit_settles_with_a_webhook(api: Api, receiver: Receiver) -> None:
    body = {
        "entity_id": api.sb.credentials.entity_id,
        "amount": 700,
        "currency": "EUR",
        "order": {"reference": "MIT-WH"},
        "split": [{"wallet_token": api.sb.save_card(MagicCards.PENDING), "amount": 700}],
        "webhook": {"url": receiver.url},
    }
    reply = await api.call("POST", "/payments", body)
    assert reply.status == 201 and reply.body["authorization"]["status"] == "PENDING"
    api.sb.settle_pending(reply.body["id"], status="REFUSED")
    await api.sb.wait_for_webhooks()
    statuses = [b["authorization"]["status"] for b in receiver.bodies()]
    assert statuses == ["PENDING", "REFUSED"] and receiver.versions() == [1, 2]


async def test_quick_changes_arrive_in_version_order(api: Api, receiver: Receiver) -> None:
    payment = await pay(api, receiver)
    await asyncio.gather(*(capture(api, payment["id"], 100) for _ in range(8)))
    await api.sb.wait_for_webhooks()
    assert receiver.versions() == list(range(1, 10))


# -- faults -----------------------------------------------------------------------------------


async def test_duplicate_next_delivers_twice(receiver: Receiver) -> None:
    async with Sandbox(webhook_secret=SECRET) as sb, Api(sb) as api:
        payment = await pay(api, receiver)
        sb.webhook_faults.duplicate_next()
        await capture(api, payment["id"], 1000)
        await capture(api, payment["id"], 1000)
        await sb.wait_for_webhooks()
        records = sb.webhook_deliveries
    assert receiver.versions() == [1, 2, 2, 3]
    (_, h1, _), (_, h2, _) = receiver.received[1:3]
    assert receiver.received[1][0] == receiver.received[2][0]
    assert h1["x-purse-signature"] == h2["x-purse-signature"]
    assert [r.duplicate for r in records] == [False, False, True, False]
    assert all(r.status == 204 for r in records)


async def test_hold_then_release_arrives_out_of_order(api: Api, receiver: Receiver) -> None:
    payment = await pay(api, receiver)
    faults = api.sb.webhook_faults
    faults.hold_next()
    await capture(api, payment["id"], 1000)  # version 2: held
    await capture(api, payment["id"], 2000)  # version 3: sent
    await api.sb.wait_for_webhooks()
    assert receiver.versions() == [1, 3]
    assert [r.body["version"] for r in faults.held] == [2]
    assert faults.release_held() == 1
    assert faults.held == [] and faults.release_held() == 0
    await api.sb.wait_for_webhooks()
    assert receiver.versions() == [1, 3, 2]
    # The late one is the payment as of its own change, not as it is now.
    late = receiver.bodies()[-1]
    assert late["amounts"]["total_captured"] == 1000
    assert [(r.body["version"], r.held) for r in api.sb.webhook_deliveries] == [
        (1, False),
        (3, False),
        (2, True),
    ]


async def test_hold_and_duplicate_together(api: Api, receiver: Receiver) -> None:
    payment = await pay(api, receiver)
    api.sb.webhook_faults.hold_next(2)
    api.sb.webhook_faults.duplicate_next(1)
    await capture(api, payment["id"], 1)
    await capture(api, payment["id"], 1)
    await capture(api, payment["id"], 1)
    await api.sb.wait_for_webhooks()
    api.sb.webhook_faults.release_held()
    await api.sb.wait_for_webhooks()
    assert receiver.versions() == [1, 4, 2, 2, 3]


async def test_delay_makes_webhooks_late_but_not_the_api(api: Api, receiver: Receiver) -> None:
    payment = await pay(api, receiver)
    await api.sb.wait_for_webhooks()
    api.sb.webhook_faults.delay(0.3)
    started = time.monotonic()
    await capture(api, payment["id"], 1000)
    await capture(api, payment["id"], 1000)
    assert time.monotonic() - started < 0.25
    await api.sb.wait_for_webhooks()
    assert receiver.versions() == [1, 2, 3]
    assert all(at - started >= 0.3 for _, _, at in receiver.received[1:])
    assert [r.delay for r in api.sb.webhook_deliveries] == [0.0, 0.3, 0.3]
    api.sb.webhook_faults.delay(0)
    await capture(api, payment["id"], 1000)
    await api.sb.wait_for_webhooks()
    assert api.sb.webhook_deliveries[-1].delay == 0.0


async def test_clear_and_bad_arguments(api: Api, receiver: Receiver) -> None:
    faults = api.sb.webhook_faults
    faults.duplicate_next(3)
    faults.hold_next(3)
    faults.delay(5)
    faults.clear()
    await pay(api, receiver)
    await api.sb.wait_for_webhooks()
    assert receiver.versions() == [1]
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match="n must be"):
            faults.duplicate_next(bad)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="n must be"):
            faults.hold_next(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="seconds"):
        faults.delay(-0.1)


async def test_a_held_webhook_never_released_is_not_sent(receiver: Receiver) -> None:
    sb = await Sandbox().start()
    try:
        async with Api(sb) as api:
            sb.webhook_faults.hold_next()
            await pay(api, receiver)
            await sb.wait_for_webhooks()  # nothing scheduled: returns at once
    finally:
        await sb.close()
    assert receiver.received == [] and sb.webhook_deliveries == []
    assert len(sb.webhook_faults.held) == 1
