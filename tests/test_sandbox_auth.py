"""Sandbox OAuth2: token issue and refusals (OAuth2 error bodies), bearer and x-api-key checks
on every API call (401/403 problems), token expiry, and the public JWKS."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from purse_async.testing import Sandbox
from tests.test_sandbox_support import Api, basic


@pytest.fixture
async def api(purse_sandbox: Sandbox) -> AsyncIterator[Api]:
    async with Api(purse_sandbox) as client:
        yield client


async def test_token_with_basic_auth(api: Api) -> None:
    reply = await api.token_request()
    assert reply.status == 200
    assert reply.body["token_type"] == "Bearer"
    assert reply.body["expires_in"] == 3600
    assert reply.body["access_token"]
    assert api.sb.stats.token_requests == 1


async def test_token_with_form_credentials(api: Api) -> None:
    creds = api.sb.credentials
    reply = await api.token_request(
        data={
            "grant_type": "client_credentials",
            "client_id": creds.client_id,
            "client_secret": creds.client_secret,
        },
        headers={"x-api-key": creds.api_key},
    )
    assert reply.status == 200 and reply.body["access_token"]


@pytest.mark.purse_sandbox(token_lifetime=5)
async def test_token_lifetime_is_configurable_via_the_plugin_marker(api: Api) -> None:
    assert (await api.token_request()).body["expires_in"] == 5


@pytest.mark.parametrize(
    ("case", "status", "error"),
    [
        ("wrong secret", 401, "invalid_client"),
        ("unknown client", 401, "invalid_client"),
        ("no credentials", 401, "invalid_client"),
        ("no api key", 401, "invalid_client"),
        ("wrong api key", 401, "invalid_client"),
        ("password grant", 400, "unsupported_grant_type"),
    ],
)
async def test_token_refusals_are_oauth2_errors(
    api: Api, case: str, status: int, error: str
) -> None:
    creds = api.sb.credentials
    headers = {"Authorization": basic(creds.client_id, creds.client_secret)}
    headers["x-api-key"] = creds.api_key
    data = {"grant_type": "client_credentials"}
    if case == "wrong secret":
        headers["Authorization"] = basic(creds.client_id, "nope")
    elif case == "unknown client":
        headers["Authorization"] = basic("someone", creds.client_secret)
    elif case == "no credentials":
        del headers["Authorization"]
    elif case == "no api key":
        del headers["x-api-key"]
    elif case == "wrong api key":
        headers["x-api-key"] = "nope"
    else:
        data = {"grant_type": "password"}
    reply = await api.token_request(data=data, headers=headers)
    assert reply.status == status
    assert reply.body["error"] == error and reply.body["error_description"]
    assert "access_token" not in reply.body


async def test_api_calls_need_a_known_bearer_token(api: Api) -> None:
    key = {"x-api-key": api.sb.credentials.api_key}
    for headers in (key, {**key, "Authorization": "Bearer forged"}, {**key, "Authorization": "x"}):
        reply = await api.call("GET", "/payments/p-1", headers=headers, auth=False)
        assert reply.status == 401
        assert reply.content_type == "application/problem+json"
        assert reply.body["status"] == 401 and reply.body["type"] == "urn:eu.purse:unauthorized"
        assert reply.headers["WWW-Authenticate"].startswith("Bearer")


async def test_api_calls_need_the_api_key(api: Api) -> None:
    bearer = {"Authorization": f"Bearer {await api.token()}"}
    missing = await api.call("GET", "/payments/p-1", headers=bearer, auth=False)
    assert missing.status == 401 and missing.content_type == "application/problem+json"
    wrong = await api.call(
        "GET", "/payments/p-1", headers={**bearer, "x-api-key": "nope"}, auth=False
    )
    assert wrong.status == 403 and wrong.body["type"] == "urn:eu.purse:forbidden"
    # With both right, the call goes through to the (here: unknown) resource.
    assert (await api.call("GET", "/payments/p-1")).status == 404


async def test_expire_all_tokens(api: Api) -> None:
    assert (await api.call("GET", "/payments/p-1")).status == 404
    api.sb.expire_all_tokens()
    assert (await api.call("GET", "/payments/p-1")).status == 401


async def test_tokens_expire_with_the_clock(api: Api) -> None:
    assert (await api.call("GET", "/payments/p-1")).status == 404
    api.sb.advance_clock(3599)
    assert (await api.call("GET", "/payments/p-1")).status == 404
    api.sb.advance_clock(2)
    reply = await api.call("GET", "/payments/p-1")
    assert reply.status == 401 and "expired" in reply.body["detail"]


async def test_signing_jwks_with_or_without_a_token(api: Api) -> None:
    anonymous = await api.call("GET", "/signing-jwks", auth=False)
    authenticated = await api.call("GET", "/signing-jwks")
    assert anonymous.status == authenticated.status == 200
    assert anonymous.body == authenticated.body == api.sb.jwks()
    (key,) = anonymous.body["keys"]
    assert key["kty"] == "RSA" and key["alg"] == "RS256" and key["use"] == "sig"
    assert key["e"] == "AQAB" and len(key["n"]) > 300 and key["kid"]
    assert (await api.call("GET", "/signing-jwks", prefix="/v2", auth=False)).status == 200
