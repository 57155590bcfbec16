"""Webhooks end to end: the sandbox POSTs the payment JSON on every amounts change, signed with
an HMAC when configured; the SDK parses and verifies what the merchant's endpoint received."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web

import purse_async as pa
from purse_async.testing import Sandbox
from tests._scripted import serve

SECRET = "whsec-test"


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[str, list[tuple[bytes, dict[str, str]]]]]:
    received: list[tuple[bytes, dict[str, str]]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append((await request.read(), dict(request.headers)))
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/purse-webhook", hook)
    async with serve(app) as base:
        yield f"{base}/purse-webhook", received


async def test_webhooks_follow_the_amounts_and_verify(
    receiver: tuple[str, list[tuple[bytes, dict[str, str]]]],
) -> None:
    url, received = receiver
    async with Sandbox(webhook_secret=SECRET) as sandbox, sandbox.client() as purse:
        session = await purse.client_sessions.create(
            amount=12000,
            currency="EUR",
            shopper_redirection_url="https://shop.example/back",
            order={"reference": "wh-1"},
            webhook={"url": url},
        )
        redirect = await purse.redirections.verify(await sandbox.checkout(session.id))
        assert redirect.payment_id is not None
        await purse.payments.capture(redirect.payment_id, amount=5000)
        await sandbox.wait_for_webhooks()

        assert [d.status for d in sandbox.webhook_deliveries] == [204, 204]
        payments = [
            purse.webhooks.parse(body, headers=headers, secret=SECRET) for body, headers in received
        ]
        assert [p.id for p in payments] == [redirect.payment_id] * 2
        assert [p.amounts.available_to_capture for p in payments if p.amounts] == [12000, 7000]
        versions = [p.version or 0 for p in payments]
        assert versions == sorted(versions) and versions[0] < versions[1]

        body, headers = received[0]
        # During a secret rotation the endpoint accepts the old and the new secret.
        for secrets in (["retired-secret", SECRET], (SECRET, "next-secret")):
            assert purse.webhooks.parse(body, headers=headers, secret=secrets) == payments[0]
        with pytest.raises(pa.SignatureVerificationError):
            purse.webhooks.parse(body, headers=headers, secret=["retired-secret", "next-secret"])
        with pytest.raises(pa.SignatureVerificationError):
            purse.webhooks.parse(body, headers=headers, secret="another-secret")
        with pytest.raises(pa.SignatureVerificationError):
            purse.webhooks.parse(body.replace(b"12000", b"99999"), headers=headers, secret=SECRET)


async def test_unreachable_webhook_is_recorded_not_fatal() -> None:
    async with Sandbox() as sandbox, sandbox.client() as purse:
        session = await purse.client_sessions.create(
            amount=100,
            currency="EUR",
            shopper_redirection_url="https://shop.example/back",
            order={"reference": "wh-2"},
            webhook={"url": "http://127.0.0.1:9/nothing-listens"},
        )
        await sandbox.checkout(session.id)
        await sandbox.wait_for_webhooks()
        (delivery,) = sandbox.webhook_deliveries
        assert delivery.status is None and delivery.error
