"""Token freshness decisions and the pluggable token store."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

import purse_async as pa
from purse_async._auth import AccessToken, is_token_fresh
from tests._scripted import ScriptedServer, reply

PAYMENT = "/payment/v2/payments/pay-1"


def token(expires_at: float, lifetime: float = 3600.0) -> AccessToken:
    return AccessToken(value="v", expires_at=expires_at, lifetime=lifetime)


def test_no_token_is_stale() -> None:
    assert not is_token_fresh(None, now=0.0, margin=60)


def test_token_is_refreshed_margin_seconds_before_expiry() -> None:
    t = token(expires_at=1000.0)
    assert is_token_fresh(t, now=939.0, margin=60)
    assert not is_token_fresh(t, now=940.0, margin=60)
    assert not is_token_fresh(t, now=2000.0, margin=60)


def test_short_lived_token_uses_half_its_lifetime_as_margin() -> None:
    t = token(expires_at=10.0, lifetime=10.0)  # issued at 0 for 10 s
    assert is_token_fresh(t, now=4.9, margin=60)
    assert not is_token_fresh(t, now=5.0, margin=60)


def test_token_repr_hides_the_value() -> None:
    assert "v'" not in repr(AccessToken(value="v", expires_at=1.0))
    assert "secret-token" not in repr(AccessToken(value="secret-token", expires_at=1.0))


@pytest.fixture
async def server() -> AsyncIterator[ScriptedServer]:
    async with ScriptedServer() as srv:
        srv.routes[PAYMENT] = reply(200, {"id": "pay-1"})
        yield srv


async def test_shared_store_lets_two_clients_use_one_token(server: ScriptedServer) -> None:
    store = pa.MemoryTokenStore()
    kwargs = {"client_id": "c", "client_secret": "s", "api_key": "k", "base_url": server.base_url}
    async with pa.AsyncPurse(**kwargs, token_store=store) as first:
        await first.payments.retrieve("pay-1")
    async with pa.AsyncPurse(**kwargs, token_store=store) as second:
        await second.payments.retrieve("pay-1")
    assert server.token_count == 1
    assert isinstance(store, pa.TokenStore)


async def test_refused_token_is_dropped_from_the_shared_store(server: ScriptedServer) -> None:
    from tests._scripted import problem

    store = pa.MemoryTokenStore()
    kwargs = {"client_id": "c", "client_secret": "s", "api_key": "k", "base_url": server.base_url}
    async with pa.AsyncPurse(**kwargs, token_store=store) as first:
        await first.payments.retrieve("pay-1")
    server.add(PAYMENT, problem(401, "Unauthorized"))
    async with pa.AsyncPurse(**kwargs, token_store=store) as second:
        await second.payments.retrieve("pay-1")
    assert [r.headers["Authorization"] for r in server.of(PAYMENT)] == [
        "Bearer tok-1",
        "Bearer tok-1",
        "Bearer tok-2",
    ]


async def test_authenticate_fails_fast_on_bad_credentials(server: ScriptedServer) -> None:
    server.add("/oauth/token", reply(401, {"error": "invalid_client"}))
    async with pa.AsyncPurse(
        client_id="c", client_secret="s", api_key="k", base_url=server.base_url
    ) as purse:
        with pytest.raises(pa.AuthenticationError, match="invalid_client"):
            await purse.authenticate()
