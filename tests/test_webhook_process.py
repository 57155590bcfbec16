"""`webhooks.process`: source and signature vetted, duplicates and stale versions dropped per
payment (highest `version` wins), the authoritative payment refetched on request; on both faces,
with bodies built here and end to end with the sandbox's webhook delivery faults."""

from __future__ import annotations

import asyncio
import http.server
import importlib.util
import json
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import aiohttp
import pytest
from aiohttp import web

import purse_async as pa
import purse_sync
from purse_async.resources._webhook_events import dedupe
from purse_async.resources._webhooks import compute_signature
from purse_async.testing import MagicCards, Sandbox, ThreadedSandbox
from tests._scripted import serve

SECRET = "whsec-process"
RETURN = "https://shop.example/back"
CREDENTIALS: dict[str, Any] = {"client_id": "c", "client_secret": "s", "api_key": "k"}
PURSE_IP = "34.22.174.22"  # a documented production source address
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "aiohttp_shop.py"


def body(payment_id: str = "pay-1", version: int | None = 1, **fields: Any) -> bytes:
    data: dict[str, Any] = {"id": payment_id, "amount": 12000, "currency": "EUR", **fields}
    if version is not None:
        data["version"] = version
    return json.dumps(data).encode()


def signed(raw: bytes, secret: str = SECRET) -> dict[str, str]:
    return {"Content-Type": "application/json", "X-Purse-Signature": compute_signature(raw, secret)}


Process = Callable[..., pa.WebhookEvent]


@pytest.fixture(params=["async", "sync"])
def process(request: pytest.FixtureRequest) -> Iterator[Process]:
    """`webhooks.process` of a production client as a blocking call, on either face."""
    if request.param == "async":
        loop = asyncio.new_event_loop()
        purse = pa.AsyncPurse(**CREDENTIALS, environment="production")
        yield lambda raw, **options: loop.run_until_complete(purse.webhooks.process(raw, **options))
        loop.run_until_complete(purse.aclose())
        loop.close()
    else:
        with purse_sync.Purse(**CREDENTIALS, environment="production") as client:
            yield client.webhooks.process


# -- dedupe and ordering ----------------------------------------------------------------------


def test_duplicates_are_processed_once(process: Process) -> None:
    first = process(body(version=1))
    assert (first.is_new, first.reason, first.seen_version) == (True, "new", None)
    assert first.payment == first.delivered and first.payment.id == "pay-1"
    assert (first.payment_id, first.version, first.refetched) == ("pay-1", 1, False)
    again = process(body(version=1))
    assert (again.is_new, again.reason, again.seen_version) == (False, "duplicate", 1)
    # Other payments are counted apart.
    assert process(body("pay-2", version=1)).reason == "new"


def test_an_older_version_after_a_newer_is_stale(process: Process) -> None:
    assert process(body(version=3)).reason == "new"
    stale = process(body(version=2))
    assert (stale.is_new, stale.reason, stale.seen_version) == (False, "stale", 3)
    assert stale.delivered.version == 2
    newer = process(body(version=4))
    assert (newer.is_new, newer.reason, newer.seen_version) == (True, "new", 3)
    assert process(body(version=3)).reason == "stale"


def test_unversioned_payments_are_new_and_not_recorded(process: Process) -> None:
    for _ in range(2):
        event = process(body(version=None))
        assert (event.is_new, event.reason, event.version) == (True, "unversioned", None)
    assert process(body(version=1)).reason == "new"


def test_source_is_vetted_when_remote_ip_is_given(process: Process) -> None:
    assert process(body(version=1), remote_ip=PURSE_IP).is_new
    assert process(body(version=2), remote_ip=f"::ffff:{PURSE_IP}").is_new  # dual-stack
    with pytest.raises(pa.WebhookError, match=r"'203\.0\.113\.9' refused"):
        process(body(version=3), remote_ip="203.0.113.9")
    with pytest.raises(pa.WebhookError, match="not an IP address"):
        process(body(version=3), remote_ip="")
    assert process(body(version=3), remote_ip="10.0.0.7", allowlist=["10.0.0.0/8"]).is_new
    with pytest.raises(pa.WebhookError, match="refused"):
        process(body(version=4), remote_ip=PURSE_IP, allowlist=["10.0.0.0/8"])
    with pytest.raises(pa.ConfigurationError, match="remote_ip"):
        process(body(version=4), allowlist=["10.0.0.0/8"])  # would check nothing
    # Nothing refused was recorded.
    assert process(body(version=4)).reason == "new"


def test_custom_base_url_has_no_documented_sources() -> None:
    async def run() -> None:
        async with pa.AsyncPurse(**CREDENTIALS, base_url="https://purse.internal") as purse:
            with pytest.raises(pa.WebhookError, match="pass allowlist"):
                await purse.webhooks.process(body(), remote_ip=PURSE_IP)

    asyncio.run(run())


def test_signature_is_checked_when_a_secret_is_given(process: Process) -> None:
    raw = body(version=5)
    with pytest.raises(pa.SignatureVerificationError, match="missing"):
        process(raw, headers={}, secret=SECRET)
    with pytest.raises(pa.SignatureVerificationError, match="does not match"):
        process(raw, headers=signed(raw, "another-secret"), secret=SECRET)
    tampered = raw.replace(b"12000", b"99000")
    with pytest.raises(pa.SignatureVerificationError):
        process(tampered, headers=signed(raw), secret=SECRET)
    # A forged delivery records nothing: the genuine one is still new.
    event = process(raw, headers=signed(raw), secret=["retired", SECRET])
    assert (event.is_new, event.reason) == (True, "new")


def test_bad_bodies_are_webhook_errors(process: Process) -> None:
    with pytest.raises(pa.WebhookError):
        process(b"not json")
    with pytest.raises(pa.WebhookError, match="not a valid id"):
        process(body("../payments/other"))
    with pytest.raises(pa.WebhookError, match="too large"):
        process(body(), max_size=10)
    with pytest.raises(pa.ConfigurationError, match="refetch"):
        process(body(), refetch="yes")


# -- stores -----------------------------------------------------------------------------------


class LoggingStore:
    """A WebhookStore of its own (what a shared database or Redis store implements)."""

    def __init__(self) -> None:
        self.versions: dict[str, int] = {}
        self.calls: list[tuple[str, str, int | None]] = []

    async def seen_version(self, payment_id: str) -> int | None:
        self.calls.append(("seen", payment_id, None))
        return self.versions.get(payment_id)

    async def record(self, payment_id: str, version: int) -> bool:
        self.calls.append(("record", payment_id, version))
        if self.versions.get(payment_id, -1) >= version:
            return False
        self.versions[payment_id] = version
        return True


def test_a_store_of_ones_own(process: Process) -> None:
    store = LoggingStore()
    assert isinstance(store, pa.WebhookStore)
    assert process(body(version=2), store=store).reason == "new"
    assert process(body(version=2), store=store).reason == "duplicate"
    assert process(body(version=1), store=store).reason == "stale"
    assert store.versions == {"pay-1": 2}
    assert store.calls == [
        ("seen", "pay-1", None),
        ("record", "pay-1", 2),
        ("seen", "pay-1", None),
        ("seen", "pay-1", None),
    ]
    # The client's own store did not see any of it.
    assert process(body(version=1)).reason == "new"
    with pytest.raises(pa.ConfigurationError, match="WebhookStore"):
        process(body(), store={"pay-1": 1})


async def test_a_lost_race_is_not_new() -> None:
    """Two workers with one delivery each: the store's atomic record decides."""

    class RacingStore(LoggingStore):
        async def seen_version(self, payment_id: str) -> int | None:
            found = await super().seen_version(payment_id)
            # Each worker looked before the other recorded; only a look after a refused
            # record sees the truth.
            return found if self.calls[-2:-1] == [("lost", payment_id, None)] else None

        async def record(self, payment_id: str, version: int) -> bool:
            recorded = await super().record(payment_id, version)
            if not recorded:
                self.calls.append(("lost", payment_id, None))
            return recorded

    store = RacingStore()
    delivered = pa.Payment(id="pay-1", version=3)
    first, second = [await dedupe(delivered, store, None) for _ in range(2)]
    assert (first.is_new, first.reason) == (True, "new")
    assert (second.is_new, second.reason) == (False, "duplicate")
    older = await dedupe(pa.Payment(id="pay-1", version=2), store, None)
    assert (older.is_new, older.reason) == (False, "stale")


async def test_memory_store_forgets_the_least_recently_updated() -> None:
    store = pa.MemoryWebhookStore(max_payments=2)
    assert await store.record("a", 1) and await store.record("b", 1)
    assert not await store.record("a", 1)
    assert await store.record("a", 2)  # a is now the most recent
    assert await store.record("c", 1)
    assert len(store) == 2
    assert await store.seen_version("b") is None  # forgotten
    assert await store.seen_version("a") == 2 and await store.seen_version("c") == 1
    with pytest.raises(pa.ConfigurationError, match="max_payments"):
        pa.MemoryWebhookStore(max_payments=0)
    assert pa.MemoryWebhookStore().max_payments == 100_000  # docs/webhooks.md's default


# -- refetch against the sandbox --------------------------------------------------------------


async def paid_payment(purse: pa.AsyncPurse, sandbox: Sandbox, **session: Any) -> str:
    created = await purse.client_sessions.create(
        amount=12000,
        currency="EUR",
        shopper_redirection_url=RETURN,
        order={"reference": "WH-1", "net_amount": 12000},
        **session,
    )
    redirect = await purse.redirections.verify(await sandbox.checkout(created.id))
    assert redirect.payment_id is not None
    return redirect.payment_id


async def test_refetch_gives_the_authoritative_payment(
    purse_client: pa.AsyncPurse, purse_sandbox: Sandbox
) -> None:
    payment_id = await paid_payment(purse_client, purse_sandbox)
    old = json.dumps(purse_sandbox.payment(payment_id)).encode()
    await purse_client.payments.capture(payment_id, amount=5000)
    current = json.dumps(purse_sandbox.payment(payment_id)).encode()
    gets = f"GET /payment/v2/payments/{payment_id}"
    before = purse_sandbox.stats.requests_by_path[gets]

    event = await purse_client.webhooks.process(old, refetch=True)
    assert (event.is_new, event.reason, event.refetched) == (True, "new", True)
    assert event.delivered.captures == ()
    assert [op.amount for op in event.payment.captures] == [5000]
    assert event.payment.version is not None and event.version is not None
    assert event.payment.version > event.version
    assert purse_sandbox.stats.requests_by_path[gets] == before + 1
    # The refetched version was recorded: its own webhook is then a duplicate, and nothing
    # that will be ignored is refetched.
    again = await purse_client.webhooks.process(current, refetch=True)
    assert (again.is_new, again.reason, again.refetched) == (False, "duplicate", False)
    assert purse_sandbox.stats.requests_by_path[gets] == before + 1


async def test_a_failed_refetch_records_nothing(
    purse_client: pa.AsyncPurse, purse_sandbox: Sandbox
) -> None:
    payment_id = await paid_payment(purse_client, purse_sandbox)
    raw = json.dumps(purse_sandbox.payment(payment_id)).encode()
    purse_sandbox.faults.fail_next(3, status=503)  # more than the client's retries
    with pytest.raises(pa.InternalServerError):
        await purse_client.webhooks.process(raw, refetch=True)
    event = await purse_client.webhooks.process(raw, refetch=True)
    assert (event.is_new, event.reason) == (True, "new")


def test_sync_refetch(threaded_sandbox: ThreadedSandbox) -> None:
    with purse_sync.Purse(**threaded_sandbox.sandbox.client_kwargs()) as purse:
        session = purse.client_sessions.create(
            amount=12000,
            currency="EUR",
            shopper_redirection_url=RETURN,
            order={"reference": "WH-S", "net_amount": 12000},
        )
        payment_id = purse.redirections.verify(threaded_sandbox.checkout(session.id)).payment_id
        assert payment_id is not None
        old = json.dumps(threaded_sandbox.sandbox.payment(payment_id)).encode()
        purse.payments.capture(payment_id, amount=5000)
        event = purse.webhooks.process(old, refetch=True)
        assert (event.is_new, event.refetched) == (True, True)
        assert [op.amount for op in event.payment.captures] == [5000]
        assert purse.webhooks.process(old).reason == "stale"


# -- end to end: the sandbox's deliveries with duplicates and out-of-order versions -----------


async def checkout_with_faults(purse: pa.AsyncPurse, sandbox: Sandbox, url: str) -> str:
    """v1 delivered twice; v2 held back until v3 was delivered: v1, v1, v3, v2 arrive."""
    sandbox.webhook_faults.duplicate_next(1)
    payment_id = await paid_payment(purse, sandbox, webhook={"url": url})
    await sandbox.wait_for_webhooks()
    sandbox.webhook_faults.hold_next(1)
    await purse.payments.capture(payment_id, amount=1000)
    await purse.payments.capture(payment_id, amount=2000)
    await sandbox.wait_for_webhooks()
    assert sandbox.webhook_faults.release_held() == 1
    await sandbox.wait_for_webhooks()
    return payment_id


EXPECTED = [("new", 1), ("duplicate", 1), ("new", 3), ("stale", 2)]


async def test_e2e_duplicates_and_out_of_order_processed_once_in_order() -> None:
    events: list[pa.WebhookEvent] = []
    handled: list[int | None] = []

    async with Sandbox(webhook_secret=SECRET) as sandbox, sandbox.client() as purse:

        async def hook(request: web.Request) -> web.Response:
            event = await purse.webhooks.process(
                await request.read(),
                headers=request.headers,
                remote_ip=request.remote,
                allowlist=["127.0.0.1"],
                secret=SECRET,
            )
            events.append(event)
            if event.is_new:
                handled.append(event.payment.version)
            return web.Response(status=204)

        app = web.Application()
        app.router.add_post("/hook", hook)
        async with serve(app) as base:
            await checkout_with_faults(purse, sandbox, f"{base}/hook")
        assert [d.status for d in sandbox.webhook_deliveries] == [204] * 4
    assert [(e.reason, e.version) for e in events] == EXPECTED
    assert handled == [1, 3]


class _Receiver(http.server.BaseHTTPRequestHandler):
    """A blocking webhook endpoint (as a WSGI app would be) calling purse_sync."""

    purse: purse_sync.Purse
    events: list[pa.WebhookEvent]

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers["Content-Length"]))
        try:
            event = self.purse.webhooks.process(
                raw,
                headers=dict(self.headers.items()),
                remote_ip=self.client_address[0],
                allowlist=["127.0.0.1"],
                secret=SECRET,
            )
        except pa.PurseError:
            self.send_response(400)
        else:
            self.events.append(event)
            self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_e2e_sync_duplicates_and_out_of_order_processed_once_in_order() -> None:
    with (
        ThreadedSandbox(webhook_secret=SECRET) as box,
        purse_sync.Purse(**box.sandbox.client_kwargs()) as purse,
    ):
        events: list[pa.WebhookEvent] = []
        handler = type("Receiver", (_Receiver,), {"purse": purse, "events": events})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            url = f"http://127.0.0.1:{server.server_address[1]}/hook"
            box.call(_checkout_on_the_sandbox_loop(box.sandbox, url))
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=10)
        assert [d.status for d in box.sandbox.webhook_deliveries] == [204] * 4
        assert [(e.reason, e.version) for e in events] == EXPECTED


async def _checkout_on_the_sandbox_loop(sandbox: Sandbox, url: str) -> None:
    # The shopper side and the faults run on the sandbox's loop; the webhooks reach the
    # blocking receiver, which processes them through purse_sync.
    async with sandbox.client() as purse:
        await checkout_with_faults(purse, sandbox, url)


# -- the aiohttp example's endpoint --------------------------------------------------------------


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("aiohttp_shop_webhooks", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while defined
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


async def serve_example(sandbox: Sandbox, **config: Any) -> tuple[ModuleType, web.Application]:
    module = load_example()
    app = module.make_app(sandbox.client_kwargs())
    app[module.WEBHOOKS] = module.WebhookConfig(**config)
    return module, app


async def test_aiohttp_example_webhook_pays_the_order(purse_sandbox: Sandbox) -> None:
    module, app = await serve_example(purse_sandbox, secret=SECRET, allowlist=("127.0.0.1",))
    async with serve(app) as base, aiohttp.ClientSession() as http_:
        async with http_.post(
            f"{base}/checkout/", json={"amount": 12000, "order_reference": "AIO-WH"}
        ) as resp:
            assert resp.status == 201
            session_id = (await resp.json())["client_session_id"]
        # The shopper pays and never comes back to the return URL: the webhook pays the order.
        await purse_sandbox.checkout(session_id, card=MagicCards.AUTHORIZED)
        payment_id = purse_sandbox.session(session_id)["payment_id"]
        raw = json.dumps(purse_sandbox.payment(payment_id)).encode()
        version = json.loads(raw)["version"]

        async with http_.post(f"{base}/purse/webhook/", data=raw, headers=signed(raw)) as resp:
            assert resp.status == 200
            found = await resp.json()
            assert found == {"payment_id": payment_id, "version": version, "reason": "new"}
        async with http_.post(f"{base}/purse/webhook/", data=raw, headers=signed(raw)) as resp:
            assert (await resp.json())["reason"] == "duplicate"
        assert app[module.ORDERS]["AIO-WH"].payment_id == payment_id
        async with http_.post(
            f"{base}/checkout/", json={"amount": 12000, "order_reference": "AIO-WH"}
        ) as resp:
            assert resp.status == 409  # already paid
        forged = signed(raw, "forged")
        async with http_.post(f"{base}/purse/webhook/", data=raw, headers=forged) as resp:
            assert resp.status == 400
            assert "x-purse-signature" in (await resp.json())["error"]


async def test_aiohttp_example_webhook_refuses_other_sources(purse_sandbox: Sandbox) -> None:
    # No allowlist: Purse's documented addresses only, and this test's client is 127.0.0.1.
    _, app = await serve_example(purse_sandbox)
    async with (
        serve(app) as base,
        aiohttp.ClientSession() as http_,
        http_.post(f"{base}/purse/webhook/", data=body()) as resp,
    ):
        assert resp.status == 400
        assert "127.0.0.1" in (await resp.json())["error"]
