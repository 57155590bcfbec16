"""The async example shop (examples/aiohttp_shop.py) against the sandbox, end to end."""

from __future__ import annotations

import importlib.util
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
    spec.loader.exec_module(module)
    return module


async def test_async_example_shop(purse_sandbox: Sandbox) -> None:
    shop = load_example()
    async with (
        serve(shop.make_app(purse_sandbox.client_kwargs())) as base,
        aiohttp.ClientSession() as http,
    ):
        async with http.post(
            f"{base}/checkout/", json={"amount": 12000, "order_reference": "AIO-1"}
        ) as resp:
            assert resp.status == 201
            session_id = (await resp.json())["client_session_id"]
        redirect = await purse_sandbox.checkout(session_id, card=MagicCards.AUTHORIZED)
        query = urlsplit(redirect).query
        async with http.get(f"{base}/payment/return/?{query}") as resp:
            body = await resp.json()
            assert body["status"] == "AUTHORIZED"
        async with http.get(f"{base}/payment/return/?{query[:-6]}AAAAAA") as resp:
            assert resp.status == 400
        async with http.post(
            f"{base}/payments/{body['payment_id']}/capture/", json={"amount": 5000}
        ) as resp:
            assert resp.status == 201
