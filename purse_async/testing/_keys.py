"""The sandbox's RSA signing key (one per process, generated on first use), its JWKS, and the
RS256 redirection tokens it signs."""

from __future__ import annotations

import functools
import json
import time
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

__all__ = ["jwks", "sign_redirection"]


@functools.lru_cache(maxsize=1)
def _key() -> tuple[rsa.RSAPrivateKey, str]:
    # Generating a 2048-bit key costs ~50 ms: once per process, however many sandboxes run.
    return rsa.generate_private_key(public_exponent=65537, key_size=2048), str(uuid.uuid4())


def jwks() -> dict[str, Any]:
    key, kid = _key()
    public = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    return {"keys": [{**public, "kid": kid, "alg": "RS256", "use": "sig"}]}


def sign_redirection(
    claims: dict[str, Any],
    *,
    kid: str | None = None,
    headers: dict[str, Any] | None = None,
    lifetime: int = 600,
) -> str:
    """A compact RS256 JWS of `claims` (iat/exp added unless given) under the sandbox key."""
    key, default_kid = _key()
    now = int(time.time())
    payload = {"iat": now, "exp": now + lifetime, **claims}
    return jwt.encode(
        payload, key, algorithm="RS256", headers={"kid": kid or default_kid, **(headers or {})}
    )
