"""Pure checks of the signed `purse-redirection-data` JWS: find it, vet its header, verify it.

Only RSA signatures are accepted: `none`, HS* (the public key used as an HMAC secret) and EC
algorithms are refused before any key is touched.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple
from urllib.parse import parse_qs, urlsplit

import jwt
from jwt.algorithms import RSAAlgorithm

from ._errors import SignatureVerificationError

__all__ = [
    "ALLOWED_ALGORITHMS",
    "REDIRECTION_PARAM",
    "SigningKey",
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


class SigningKey(NamedTuple):
    """An RSA public key from the JWKS and the `alg` its JWK publishes (None when it has none)."""

    key: Any
    alg: str | None


def rsa_keys_by_kid(jwks: Mapping[str, Any]) -> dict[str | None, SigningKey]:
    """Parse a JWKS document into RSA public keys by kid, each with its JWK's `alg`.

    Non-RSA keys, keys not for signatures and malformed keys (an `alg` that is not a string
    included) are ignored.
    """
    keys = jwks.get("keys") if isinstance(jwks, Mapping) else None
    if not isinstance(keys, Sequence):
        raise SignatureVerificationError("the signing JWKS has no 'keys' list")
    found: dict[str | None, SigningKey] = {}
    for jwk in keys:
        if not isinstance(jwk, Mapping) or jwk.get("kty") != "RSA":
            continue
        if jwk.get("use") not in (None, "sig"):
            continue
        alg = jwk.get("alg")
        if alg is not None and not isinstance(alg, str):
            continue
        try:
            key = RSAAlgorithm.from_jwk(dict(jwk))
        except (jwt.PyJWTError, ValueError, TypeError, KeyError):
            continue
        found[jwk.get("kid")] = SigningKey(key, alg)
    return found


def verify_token(
    token: str,
    key: SigningKey | Any,
    alg: str,
    *,
    leeway: float = 30.0,
    required_claims: Sequence[str] = ("client_session_id",),
) -> dict[str, Any]:
    """Verify the signature and `exp`/`nbf` (when present) and return the claims.

    `alg` is the token header's algorithm; a `SigningKey` whose JWK publishes an `alg` is used
    only for that algorithm (RFC 7517 §4.4): an RS256 key never verifies a PS256 signature.
    """
    if isinstance(key, SigningKey):
        if key.alg is not None and key.alg != alg:
            raise SignatureVerificationError(
                f"the token is signed with {alg} but its key is published for {key.alg}"
            )
        key = key.key
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
