"""The example shops against the sandbox, end to end: examples/aiohttp_shop.py in process and
as `python examples/aiohttp_shop.py` (no credentials: its embedded sandbox), and
examples/fastapi_shop.py through httpx's ASGI transport."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest

from purse_async.testing import MagicCards, Sandbox
from tests._scripted import serve

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
EXAMPLE = EXAMPLES / "aiohttp_shop.py"


def load_example(path: Path = EXAMPLE) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Registered first, as an import would (dataclasses look their module up while defining).
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


async def test_async_example_shop(purse_sandbox: Sandbox) -> None:
    shop = load_example()
    app = shop.make_app(purse_sandbox.client_kwargs())
    async with serve(app) as base, aiohttp.ClientSession() as http:
        async with http.post(
            f"{base}/checkout/", json={"amount": 12000, "order_reference": "AIO-1"}
        ) as resp:
            assert resp.status == 201
            session_id = (await resp.json())["client_session_id"]
        redirect = await purse_sandbox.checkout(session_id, card=MagicCards.AUTHORIZED)
        query = urlsplit(redirect).query
        assert query.startswith("order=AIO-1&")
        async with http.get(f"{base}/payment/return/?{query}") as resp:
            body = await resp.json()
            assert body["status"] == "AUTHORIZED"
            assert body["order_reference"] == "AIO-1"
        assert app[shop.ORDERS]["AIO-1"].payment_id == body["payment_id"]
        async with http.get(f"{base}/payment/return/?{query[:-6]}AAAAAA") as resp:
            assert resp.status == 400
        async with http.post(
            f"{base}/payments/{body['payment_id']}/capture/", json={"amount": 5000}
        ) as resp:
            assert resp.status == 201


async def test_async_example_binds_the_return_to_the_order(purse_sandbox: Sandbox) -> None:
    shop = load_example()
    app = shop.make_app(purse_sandbox.client_kwargs())
    async with serve(app) as base, aiohttp.ClientSession() as http:

        async def checkout(reference: str, card: str = MagicCards.AUTHORIZED) -> str:
            async with http.post(
                f"{base}/checkout/", json={"amount": 12000, "order_reference": reference}
            ) as resp:
                assert resp.status == 201
                session_id = (await resp.json())["client_session_id"]
            redirect = await purse_sandbox.checkout(session_id, card=card)
            return f"{base}/payment/return/?{urlsplit(redirect).query}"

        # A cheap order's signed return, replayed on another order's return URL: refused.
        paid_a = await checkout("AIO-A")
        await checkout("AIO-B", card=MagicCards.REFUSED)
        replayed = paid_a.replace("order=AIO-A", "order=AIO-B")
        async with http.get(replayed) as resp:
            assert resp.status == 400
            error = (await resp.json())["error"]
        assert app[shop.ORDERS]["AIO-A"].client_session_id in error
        assert f"expected {app[shop.ORDERS]['AIO-B'].client_session_id}" in error
        assert app[shop.ORDERS]["AIO-B"].payment_id is None
        async with http.get(paid_a) as resp:
            assert resp.status == 200
        async with http.get(paid_a.replace("order=AIO-A", "order=AIO-NONE")) as resp:
            assert resp.status == 404

        # The cart changed after the session was created: the payment no longer matches.
        paid_c = await checkout("AIO-C")
        app[shop.ORDERS]["AIO-C"].amount = 15000
        async with http.get(paid_c) as resp:
            assert resp.status == 409
            body = await resp.json()
        assert body["mismatches"] == [
            "amount 12000 (the order expects 15000)",
            "amounts.total_authorized 12000 (the order expects 15000)",
        ]
        assert app[shop.ORDERS]["AIO-C"].payment_id is None

        # A paid order is not checked out again.
        async with http.post(
            f"{base}/checkout/", json={"amount": 12000, "order_reference": "AIO-A"}
        ) as resp:
            assert resp.status == 409


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def no_purse_env() -> dict[str, str]:
    """This environment without PURSE_* and SHOP_* variables: as a new user's shell."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("PURSE_", "SHOP_"))}


@pytest.fixture
def aiohttp_shop_process(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes], Path]]:
    """`python examples/aiohttp_shop.py --port N` with no credentials, stopped afterwards."""
    port = free_port()
    log = tmp_path / "shop.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, str(EXAMPLE), "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**no_purse_env(), "PYTHONUNBUFFERED": "1"},
        )
    try:
        yield f"http://127.0.0.1:{port}", proc, log
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


async def test_aiohttp_example_runs_as_written_without_credentials(
    aiohttp_shop_process: tuple[str, subprocess.Popen[bytes], Path],
) -> None:
    base, proc, log = aiohttp_shop_process
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, f"the shop did not start:\n{log.read_text()}"
            try:
                async with http.get(f"{base}/") as resp:
                    assert resp.status == 200
                    assert 'action="/buy/"' in await resp.text()
                    break
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.05)
        # The shop's button: an order, a client session, a 303 to the embedded sandbox's page.
        async with http.post(f"{base}/buy/", allow_redirects=False) as resp:
            assert resp.status == 303
            hosted_page = resp.headers["Location"]
        assert "/hosted/sessions/" in hosted_page and not hosted_page.startswith(base)
        async with http.get(hosted_page) as resp:
            assert resp.status == 200
            assert 'id="card-number"' in await resp.text()
        # The shopper pays on the hosted page and is sent back to the shop's return URL.
        session_id = hosted_page.rsplit("/", 1)[-1]
        async with http.post(
            f"{hosted_page.rsplit('/', 1)[0]}/{session_id}/submit",
            data={"card_number": "4242424242424242", "holder": "Jane Doe", "expiry": "12/30"},
            allow_redirects=False,
        ) as resp:
            assert resp.status == 303
            back = resp.headers["Location"]
        assert back.startswith(f"{base}/payment/return/?order=AIO-")
        async with http.get(back) as resp:
            assert resp.status == 200
            body = await resp.json()
        assert body["status"] == "AUTHORIZED"
        # Checked server side too: the order is paid, a new checkout of it is refused.
        async with http.post(
            f"{base}/checkout/", json={"amount": 12000, "order_reference": body["order_reference"]}
        ) as resp:
            assert resp.status == 409
    proc.terminate()
    assert proc.wait(timeout=10) == 0, log.read_text()
    text = log.read_text()
    assert "No PURSE_* credentials: using an embedded sandbox at http://127.0.0.1:" in text
    assert "Traceback" not in text


# -- examples/fastapi_shop.py: httpx against the ASGI app, the lifespan run as a server would --


def signature(body: bytes, secret: str) -> str:
    """The `x-purse-signature` of a webhook body signed with `secret`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@pytest.fixture
def fastapi_shop() -> ModuleType:
    pytest.importorskip("fastapi")
    pytest.importorskip("httpx")
    return load_example(EXAMPLES / "fastapi_shop.py")


@contextlib.asynccontextmanager
async def asgi_client(app: Any, remote: str = "127.0.0.1") -> AsyncIterator[Any]:
    """An httpx client calling `app` in process (no socket) from `remote`, inside its lifespan."""
    import httpx

    transport = httpx.ASGITransport(app=app, client=(remote, 50000))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://shop.test") as http,
    ):
        yield http


async def test_fastapi_example_checkout_return_capture_and_webhook(
    fastapi_shop: ModuleType, purse_sandbox: Sandbox
) -> None:
    secret = "whsec-fastapi"
    app = fastapi_shop.create_app(
        purse_sandbox.client_kwargs(),
        base_url="http://shop.test",
        webhook_secret=secret,
        webhook_allowlist=("127.0.0.1",),
    )
    async with asgi_client(app) as http:

        async def checkout(reference: str, card: str = MagicCards.AUTHORIZED) -> str:
            resp = await http.post(
                "/checkout/", json={"amount": 12000, "order_reference": reference}
            )
            assert resp.status_code == 201, resp.text
            redirect = await purse_sandbox.checkout(resp.json()["client_session_id"], card=card)
            assert redirect.startswith(f"http://shop.test/payment/return/?order={reference}&")
            return f"/payment/return/?{urlsplit(redirect).query}"

        shop = app.state.shop
        paid = await checkout("FA-1")
        resp = await http.get(paid)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert body["status"] == "AUTHORIZED" and body["paid"] is True
        assert shop.orders["FA-1"].payment_id == body["payment_id"]
        # Forged, another order's, an unknown order's, or for another amount: refused.
        assert (await http.get(paid[:-6] + "AAAAAA")).status_code == 400
        await checkout("FA-2", card=MagicCards.REFUSED)
        replayed = await http.get(paid.replace("order=FA-1", "order=FA-2"))
        assert replayed.status_code == 400
        assert f"expected {shop.orders['FA-2'].client_session_id}" in replayed.json()["error"]
        assert (await http.get(paid.replace("order=FA-1", "order=FA-X"))).status_code == 404
        changed = await checkout("FA-3")
        shop.orders["FA-3"].amount = 15000
        mismatch = await http.get(changed)
        assert mismatch.status_code == 409
        assert "amount 12000 (the order expects 15000)" in mismatch.json()["mismatches"]
        # A paid order is not checked out again.
        again = await http.post("/checkout/", json={"amount": 12000, "order_reference": "FA-1"})
        assert again.status_code == 409

        # A capture with the same key twice is applied once.
        capture = {"amount": 5000, "idempotency_key": "FA-1-capture-1"}
        first = await http.post(f"/payments/{body['payment_id']}/capture/", json=capture)
        second = await http.post(f"/payments/{body['payment_id']}/capture/", json=capture)
        assert first.status_code == second.status_code == 201
        assert second.json()["capture_id"] == first.json()["capture_id"]
        assert second.json()["replayed"] is True
        assert len(purse_sandbox.ledger(body["payment_id"])) == 1

        # The webhook: raw body, signature, deduplicated; it pays an order the shopper left.
        resp = await http.post("/checkout/", json={"amount": 12000, "order_reference": "FA-4"})
        session_id = resp.json()["client_session_id"]
        await purse_sandbox.checkout(session_id)
        payment_id = purse_sandbox.session(session_id)["payment_id"]
        raw = json.dumps(purse_sandbox.payment(payment_id)).encode()
        signed = {"x-purse-signature": signature(raw, secret)}
        delivered = await http.post("/purse/webhook/", content=raw, headers=signed)
        assert delivered.status_code == 200, delivered.text
        assert delivered.json()["reason"] == "new"
        assert shop.orders["FA-4"].payment_id == payment_id
        duplicate = await http.post("/purse/webhook/", content=raw, headers=signed)
        assert duplicate.json()["reason"] == "duplicate"
        forged = {"x-purse-signature": signature(raw, "not-the-secret")}
        assert (await http.post("/purse/webhook/", content=raw, headers=forged)).status_code == 400
    async with asgi_client(app, remote="203.0.113.7") as http:
        untrusted = await http.post("/purse/webhook/", content=raw, headers=signed)
        assert untrusted.status_code == 400
        assert "203.0.113.7" in untrusted.json()["error"]


async def test_fastapi_example_runs_on_its_embedded_sandbox_without_credentials(
    fastapi_shop: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [*fastapi_shop.CREDENTIAL_VARIABLES, "SHOP_BASE_URL"]:
        monkeypatch.delenv(name, raising=False)
    app = fastapi_shop.create_app()
    async with asgi_client(app) as http:
        sandbox = app.state.sandbox
        assert isinstance(sandbox, Sandbox)
        home = await http.get("/")
        assert home.status_code == 200 and 'action="/buy/"' in home.text
        bought = await http.post("/buy/")
        assert bought.status_code == 303
        hosted_page = bought.headers["location"]
        assert hosted_page.startswith(f"{sandbox.base_url}/hosted/sessions/")
        redirect = await sandbox.checkout(hosted_page.rsplit("/", 1)[-1])
        assert redirect.startswith("http://127.0.0.1:8000/payment/return/?order=FA-")
        returned = await http.get(f"/payment/return/?{urlsplit(redirect).query}")
        assert returned.status_code == 200, returned.text
        assert returned.json()["status"] == "AUTHORIZED"
    assert app.state.shop.purse.is_closed
