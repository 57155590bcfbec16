"""Verification of the signed redirection: pure JWS checks, and the cached JWKS via the client."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

import purse_async as pa
from purse_async._jws import extract_token, read_header
from tests._scripted import ScriptedServer, reply

JWKS_PATH = "/payment/v2/signing-jwks"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
CLAIMS = {
    "client_session_id": "cs-1",
    "payment_id": "pay-1",
    "authorization_status": "AUTHORIZED",
    "client_session_status": "SUBMITTED",
}


def jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    data = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    return {**data, "kid": kid, "alg": "RS256", "use": "sig"}


def sign(
    claims: dict[str, Any] | None = None, *, key: Any = KEY, kid: str = "k1", alg: str = "RS256"
) -> str:
    return jwt.encode(claims or dict(CLAIMS), key, algorithm=alg, headers={"kid": kid})


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


@pytest.fixture
async def server() -> AsyncIterator[ScriptedServer]:
    async with ScriptedServer() as srv:
        srv.routes[JWKS_PATH] = reply(200, {"keys": [jwk(KEY, "k1")]})
        yield srv


@pytest.fixture
async def purse(server: ScriptedServer) -> AsyncIterator[pa.AsyncPurse]:
    async with pa.AsyncPurse(
        client_id="c", client_secret="s", api_key="k", base_url=server.base_url
    ) as client:
        yield client


def test_token_is_found_in_url_query_or_bare() -> None:
    token = sign()
    assert extract_token(token) == token
    assert extract_token(f"https://shop.example/back?purse-redirection-data={token}") == token
    assert extract_token(f"?a=1&purse-redirection-data={token}") == token
    assert extract_token(f"purse-redirection-data={token}") == token


@pytest.mark.parametrize(
    "value",
    ["", "not-a-token", "https://shop.example/back?x=1", "https://s/?purse-redirection-data="],
)
def test_no_token_is_a_verification_error(value: str) -> None:
    with pytest.raises(pa.SignatureVerificationError):
        extract_token(value)


def test_two_tokens_in_one_url_are_refused() -> None:
    t = sign()
    with pytest.raises(pa.SignatureVerificationError, match="more than once"):
        extract_token(f"https://s/?purse-redirection-data={t}&purse-redirection-data={t}")


def test_alg_none_and_hmac_are_refused_before_any_key_is_used() -> None:
    unsigned = b64({"alg": "none", "kid": "k1"}) + "." + b64(CLAIMS) + "."
    with pytest.raises(pa.SignatureVerificationError, match="'none'"):
        read_header(unsigned)
    public_pem = KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    # The classic confusion attack: HS256 keyed with the (public) RSA key.
    hs = b64({"alg": "HS256", "kid": "k1"}) + "." + b64(CLAIMS)
    import hashlib
    import hmac

    sig = (
        base64.urlsafe_b64encode(hmac.new(public_pem, hs.encode(), hashlib.sha256).digest())
        .rstrip(b"=")
        .decode()
    )
    with pytest.raises(pa.SignatureVerificationError, match="HS256"):
        read_header(hs + "." + sig)


async def test_valid_redirection_gives_typed_claims(purse: pa.AsyncPurse) -> None:
    token = sign()
    result = await purse.redirections.verify(
        f"https://shop.example/back?purse-redirection-data={token}"
    )
    assert result.payment_id == "pay-1"
    assert result.client_session_id == "cs-1"
    assert result.authorization_status == "AUTHORIZED"
    assert result.client_session_status == "SUBMITTED"


async def test_tampered_payload_is_refused(purse: pa.AsyncPurse) -> None:
    header, _, signature = sign().split(".")
    forged = f"{header}.{b64({**CLAIMS, 'authorization_status': 'AUTHORIZED', 'payment_id': 'x'})}"
    with pytest.raises(pa.SignatureVerificationError, match="signature"):
        await purse.redirections.verify(f"{forged}.{signature}")


async def test_signed_by_another_key_is_refused(purse: pa.AsyncPurse) -> None:
    with pytest.raises(pa.SignatureVerificationError):
        await purse.redirections.verify(sign(key=OTHER_KEY))


async def test_expired_token_is_refused(purse: pa.AsyncPurse) -> None:
    old = {**CLAIMS, "iat": int(time.time()) - 3600, "exp": int(time.time()) - 600}
    with pytest.raises(pa.SignatureVerificationError, match="expired"):
        await purse.redirections.verify(sign(old))


async def test_alg_none_is_refused_through_the_client(
    purse: pa.AsyncPurse, server: ScriptedServer
) -> None:
    unsigned = b64({"alg": "none", "kid": "k1"}) + "." + b64(CLAIMS) + "."
    with pytest.raises(pa.SignatureVerificationError):
        await purse.redirections.verify(unsigned)
    assert server.of(JWKS_PATH) == []


async def test_keys_are_cached(purse: pa.AsyncPurse, server: ScriptedServer) -> None:
    for _ in range(5):
        await purse.redirections.verify(sign())
    assert len(server.of(JWKS_PATH)) == 1


async def test_unknown_kid_refetches_at_most_once_per_interval(
    purse: pa.AsyncPurse, server: ScriptedServer
) -> None:
    await purse.redirections.verify(sign())
    with pytest.raises(pa.SignatureVerificationError, match="kid"):
        await purse.redirections.verify(sign(kid="unknown"))
    with pytest.raises(pa.SignatureVerificationError, match="kid"):
        await purse.redirections.verify(sign(kid="unknown"))
    # First fetch, then no refetch: the interval since it has not passed.
    assert len(server.of(JWKS_PATH)) == 1


async def test_rotated_key_is_picked_up(server: ScriptedServer) -> None:
    async with pa.AsyncPurse(
        client_id="c", client_secret="s", api_key="k", base_url=server.base_url
    ) as purse:
        purse.redirections._cache._min_interval = 0.0
        await purse.redirections.verify(sign())
        server.routes[JWKS_PATH] = reply(200, {"keys": [jwk(KEY, "k1"), jwk(OTHER_KEY, "k2")]})
        result = await purse.redirections.verify(sign(key=OTHER_KEY, kid="k2"))
    assert result.payment_id == "pay-1"
    assert len(server.of(JWKS_PATH)) == 2


async def test_concurrent_unknown_kid_fetches_once(server: ScriptedServer) -> None:
    import asyncio

    async with pa.AsyncPurse(
        client_id="c", client_secret="s", api_key="k", base_url=server.base_url
    ) as purse:
        results = await asyncio.gather(*(purse.redirections.verify(sign()) for _ in range(50)))
    assert len(results) == 50
    assert len(server.of(JWKS_PATH)) == 1
