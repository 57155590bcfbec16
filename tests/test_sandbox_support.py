"""A raw HTTP client for the sandbox tests (plain aiohttp, never the SDK, so the sandbox is checked
against the wire contract itself), plus tests of the package surface and of the routing."""

from __future__ import annotations

import base64
import re
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any

import aiohttp
import attrs
import pytest

import purse_async.testing as testing
from purse_async.testing import MagicCards, Sandbox

RETURN = "https://shop.example/back"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@attrs.frozen
class Reply:
    status: int
    body: Any
    headers: dict[str, str]

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "").split(";")[0]


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


class Api:
    """Talks to one sandbox the way any HTTP client would."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sb = sandbox
        self.http = aiohttp.ClientSession()
        self._token: str | None = None

    async def __aenter__(self) -> Api:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.http.close()

    async def token_request(
        self, data: dict[str, str] | None = None, headers: dict[str, str] | None = None
    ) -> Reply:
        creds = self.sb.credentials
        default_headers = {
            "Authorization": basic(creds.client_id, creds.client_secret),
            "x-api-key": creds.api_key,
        }
        async with self.http.post(
            f"{self.sb.base_url}/oauth/token",
            data={"grant_type": "client_credentials"} if data is None else data,
            headers=default_headers if headers is None else headers,
        ) as resp:
            return Reply(resp.status, await resp.json(content_type=None), dict(resp.headers))

    async def token(self) -> str:
        if self._token is None:
            reply = await self.token_request()
            assert reply.status == 200, reply.body
            self._token = reply.body["access_token"]
        return self._token

    async def call(
        self,
        method: str,
        path: str,
        json: Any = None,
        *,
        headers: dict[str, str] | None = None,
        prefix: str = "/payment/v2",
        auth: bool = True,
        data: Any = None,
    ) -> Reply:
        sent = {"x-api-key": self.sb.credentials.api_key} if auth else {}
        if auth:
            sent["Authorization"] = f"Bearer {await self.token()}"
        sent.update(headers or {})
        async with self.http.request(
            method, f"{self.sb.base_url}{prefix}{path}", json=json, headers=sent, data=data
        ) as resp:
            text = await resp.text()
            body: Any = text
            if resp.content_type.endswith("json"):
                body = await resp.json(content_type=None)
            return Reply(resp.status, body, dict(resp.headers))

    async def session(self, amount: int = 12000, **fields: Any) -> dict[str, Any]:
        body = {
            "entity_id": self.sb.credentials.entity_id,
            "amount": amount,
            "currency": "EUR",
            "shopper_redirection_url": RETURN,
            "order": {"reference": "ORDER-1", "net_amount": amount},
            **fields,
        }
        reply = await self.call("POST", "/client-sessions", body)
        assert reply.status == 201, reply.body
        session: dict[str, Any] = reply.body
        return session

    async def paid(
        self, card: str = MagicCards.AUTHORIZED, amount: int = 12000, **checkout: Any
    ) -> dict[str, Any]:
        """A session paid with `card` through `Sandbox.checkout`; the payment as GET shows it."""
        session_fields = checkout.pop("session", {})
        session = await self.session(amount, **session_fields)
        await self.sb.checkout(session["id"], card=card, **checkout)
        return await self.payment(self.sb.session(session["id"])["payment_id"])

    async def payment(self, payment_id: str) -> dict[str, Any]:
        reply = await self.call("GET", f"/payments/{payment_id}")
        assert reply.status == 200, reply.body
        payment: dict[str, Any] = reply.body
        return payment


@pytest.fixture
async def api(purse_sandbox: Sandbox) -> AsyncIterator[Api]:
    async with Api(purse_sandbox) as client:
        yield client


def test_public_names() -> None:
    assert set(testing.__all__) >= {"Sandbox", "MagicCards"}
    assert all(hasattr(testing, name) for name in testing.__all__)


# Every Sandbox helper that reads or changes its state, and the blocking twin ThreadedSandbox
# runs on the sandbox's loop for a test's thread (purse_sync, Django).
TWINS = (
    "checkout",
    "pay_payment_link",
    "save_card",
    "settle_pending",
    "wait_for_webhooks",
    "payment",
    "payment_link",
    "session",
    "created",
    "ledger",
)


@pytest.mark.parametrize("name", TWINS)
def test_threaded_twins_take_the_sandbox_helpers_arguments(name: str) -> None:
    import inspect

    twin = inspect.signature(getattr(testing.ThreadedSandbox, name)).parameters
    helper = inspect.signature(getattr(Sandbox, name)).parameters
    as_listed = [(p.name, p.kind, p.default) for p in helper.values()]
    assert [(p.name, p.kind, p.default) for p in twin.values()] == as_listed
    assert f"Sandbox.{name}" in (getattr(testing.ThreadedSandbox, name).__doc__ or "")


def test_the_sandbox_imports_no_sdk_module_outside_testing() -> None:
    import pathlib

    for path in pathlib.Path(testing.__file__).parent.glob("*.py"):
        for line in path.read_text().splitlines():
            if line.startswith(("from ", "import ")):
                assert ".._" not in line and "from purse_async." not in line, (path.name, line)


async def test_base_url_credentials_and_client_kwargs(purse_sandbox: Sandbox) -> None:
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", purse_sandbox.base_url)
    kwargs = purse_sandbox.client_kwargs()
    creds = purse_sandbox.credentials
    assert kwargs == {
        "client_id": creds.client_id,
        "client_secret": creds.client_secret,
        "api_key": creds.api_key,
        "entity_id": creds.entity_id,
        "merchant_id": purse_sandbox.merchant_id,
        "base_url": purse_sandbox.base_url,
    }
    assert UUID.match(creds.entity_id)
    assert creds.client_secret not in repr(creds) and creds.api_key not in repr(creds)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        creds.client_id = "x"  # type: ignore[misc]


async def test_both_prefixes_and_request_counters(api: Api) -> None:
    payment = await api.paid()
    for prefix in ("/payment/v2", "/v2"):
        reply = await api.call("GET", f"/payments/{payment['id']}", prefix=prefix)
        assert reply.status == 200 and reply.body["id"] == payment["id"]
    counts = api.sb.stats.requests_by_path
    assert counts[f"GET /payment/v2/payments/{payment['id']}"] == 2
    assert counts[f"GET /v2/payments/{payment['id']}"] == 1
    assert counts["POST /payment/v2/client-sessions"] == 1
    assert counts["POST /oauth/token"] == api.sb.stats.token_requests == 1


async def test_unknown_api_route_is_a_problem(api: Api) -> None:
    reply = await api.call("GET", "/nothing-here")
    assert reply.status == 404 and reply.content_type == "application/problem+json"
    assert reply.body["status"] == 404 and reply.body["instance"] == "/payment/v2/nothing-here"
    reply = await api.call("DELETE", "/client-sessions")
    assert reply.status == 405 and reply.content_type == "application/problem+json"


async def test_two_sandboxes_are_independent_but_share_the_signing_key() -> None:
    async with Sandbox() as one, Sandbox() as two:
        assert one.base_url != two.base_url
        assert one.credentials.client_secret != two.credentials.client_secret
        assert one.jwks() == two.jwks()
        async with Api(one) as api:
            session = await api.session()
        with pytest.raises(KeyError):
            two.session(session["id"])
