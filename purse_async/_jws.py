"""Pure checks of the signed `purse-redirection-data` JWS: find it, vet its header, verify it.

Only RSA signatures are accepted: `none`, HS* (the public key used as an HMAC secret) and EC
algorithms are refused before any key is touched.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
from jwt.algorithms import RSAAlgorithm

from ._errors import SignatureVerificationError

__all__ = [
    "ALLOWED_ALGORITHMS",
    "REDIRECTION_PARAM",
    "extract_token",
    "read_header",
    "rsa_keys_by_kid",
    "verify_token",
]

REDIRECTION_PARAM = "purse-redirection-data"
ALLOWED_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"})


def extract_token(value: str) -> str:
    """The compact JWS inside a full redirect URL, a query string, or the bare token itself."""
    if not isinstance(value, str) or not value.strip():
        raise SignatureVerificationError(
            f"expected a redirect URL, query string or JWS, got {value!r:.80}"
        )
    text = value.strip()
    if REDIRECTION_PARAM in text:
        query = urlsplit(text).query if "://" in text or text.startswith("/") else text
        query = query.lstrip("?")
        found = parse_qs(query, keep_blank_values=True).get(REDIRECTION_PARAM)
        if not found or not found[0]:
            raise SignatureVerificationError(f"no {REDIRECTION_PARAM} parameter in {text!r:.120}")
        if len(found) > 1:
            # Two tokens in one URL is an attempt to confuse whoever reads the first one.
            raise SignatureVerificationError(f"{REDIRECTION_PARAM} appears more than once")
        text = found[0]
    if text.count(".") != 2:
        raise SignatureVerificationError("not a compact JWS (expected three dot-separated parts)")
    return text


def read_header(token: str) -> tuple[str, str | None]:
    """The (alg, kid) of a token, refusing any algorithm that is not an RSA signature."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise SignatureVerificationError(f"unreadable JWS header: {exc}") from None
    alg = header.get("alg")
    if alg not in ALLOWED_ALGORITHMS:
        raise SignatureVerificationError(
            f"JWS algorithm {alg!r} is not accepted (only {', '.join(sorted(ALLOWED_ALGORITHMS))})"
        )
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise SignatureVerificationError(f"JWS kid must be a string, got {kid!r}")
    return alg, kid


def rsa_keys_by_kid(jwks: Mapping[str, Any]) -> dict[str | None, Any]:
    """Parse a JWKS document into RSA public keys by kid (non-RSA keys are ignored)."""
    keys = jwks.get("keys") if isinstance(jwks, Mapping) else None
    if not isinstance(keys, Sequence):
        raise SignatureVerificationError("the signing JWKS has no 'keys' list")
    found: dict[str | None, Any] = {}
    for jwk in keys:
        if not isinstance(jwk, Mapping) or jwk.get("kty") != "RSA":
            continue
        if jwk.get("use") not in (None, "sig"):
            continue
        try:
            key = RSAAlgorithm.from_jwk(dict(jwk))
        except (jwt.PyJWTError, ValueError, TypeError, KeyError):
            continue
        found[jwk.get("kid")] = key
    return found


def verify_token(
    token: str,
    key: Any,
    alg: str,
    *,
    leeway: float = 30.0,
    required_claims: Sequence[str] = ("client_session_id",),
) -> dict[str, Any]:
    """Verify the signature and `exp`/`nbf` (when present) and return the claims."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[alg],
            leeway=leeway,
            options={"require": [], "verify_aud": False, "verify_iss": False},
        )
    except jwt.ExpiredSignatureError:
        raise SignatureVerificationError("the redirection token has expired") from None
    except jwt.InvalidSignatureError:
        raise SignatureVerificationError("the redirection token's signature is invalid") from None
    except jwt.PyJWTError as exc:
        raise SignatureVerificationError(f"the redirection token is invalid: {exc}") from None
    for name in required_claims:
        if not isinstance(claims.get(name), str) or not claims[name]:
            raise SignatureVerificationError(f"the redirection token has no {name} claim")
    return claims
