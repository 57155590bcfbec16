"""The sandbox's RSA signing key (one per process), its JWKS, and the RS256 redirection tokens
(`purse-redirection-data`) it signs with PyJWT."""

from __future__ import annotations

import functools
import json
import time
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

__all__ = ["REDIRECTION_LIFETIME", "jwks", "sign_redirection"]

REDIRECTION_LIFETIME = 600


@functools.lru_cache(maxsize=1)
def _key() -> tuple[rsa.RSAPrivateKey, str]:
    # A 2048-bit key costs tens of milliseconds: generate it once per process, however many
    # sandboxes a test run starts.
    return rsa.generate_private_key(public_exponent=65537, key_size=2048), str(uuid.uuid4())


def jwks() -> dict[str, Any]:
    """The `GET /payment/v2/signing-jwks` body."""
    key, kid = _key()
    public = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    return {
        "keys": [
            {
                "kty": "RSA",
                "e": public["e"],
                "n": public["n"],
                "kid": kid,
                "alg": "RS256",
                "use": "sig",
            }
        ]
    }


def sign_redirection(
    claims: dict[str, Any],
    *,
    kid: str | None = None,
    headers: dict[str, Any] | None = None,
) -> str:
    """A compact RS256 JWS of `claims` under the sandbox key; `iat`/`exp` (iat + 600 s) are
    added unless given. `kid` and `headers` let tests forge unknown keys or odd headers."""
    key, default_kid = _key()
    now = int(time.time())
    payload = {"iat": now, "exp": now + REDIRECTION_LIFETIME, **claims}
    return jwt.encode(
        payload, key, algorithm="RS256", headers={"kid": kid or default_kid, **(headers or {})}
    )
