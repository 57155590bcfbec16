"""The async example shop (examples/aiohttp_shop.py) against the sandbox, end to end."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from urllib.parse import urlsplit

import aiohttp

from purse_async.testing import MagicCards, Sandbox
from tests._scripted import serve

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "aiohttp_shop.py"


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("aiohttp_shop", EXAMPLE)
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
