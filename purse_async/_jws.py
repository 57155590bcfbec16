"""Pure checks of the signed `purse-redirection-data` JWS: find it, vet its header, verify it.

Only RSA signatures are accepted: `none`, HS* (the public key used as an HMAC secret) and EC
algorithms are refused before any key is touched.

PyJWT (and the cryptography it loads) is imported on first use, not with `purse_async`: an
application that never verifies a redirection never pays for it (tests/test_packaging.py).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple
from urllib.parse import parse_qs, urlsplit

from ._errors import ConfigurationError, SignatureVerificationError

__all__ = [
    "ALLOWED_ALGORITHMS",
    "REDIRECTION_PARAM",
    "SigningKey",
    "check_binding",
    "check_binding_options",
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
    import jwt  # lazily: see the module's docstring

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
    import jwt  # lazily: see the module's docstring
    from jwt.algorithms import RSAAlgorithm

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
    expected_client_session_id: str | None = None,
    max_age: float | None = None,
    now: float | None = None,
) -> dict[str, Any]:
    """Verify the signature and `exp`/`nbf`/`iat` (when present), then the binding of the
    claims (`check_binding`), and return the claims.

    `alg` is the token header's algorithm; a `SigningKey` whose JWK publishes an `alg` is used
    only for that algorithm (RFC 7517 §4.4): an RS256 key never verifies a PS256 signature.
    """
    import jwt  # lazily: see the module's docstring

    check_binding_options(expected_client_session_id, max_age)
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
    check_binding(
        claims,
        expected_client_session_id=expected_client_session_id,
        max_age=max_age,
        leeway=leeway,
        now=now,
    )
    return claims


def check_binding_options(expected_client_session_id: object, max_age: object) -> None:
    """`ConfigurationError` unless `expected_client_session_id` is None or a non-empty string
    and `max_age` None or a finite number of seconds >= 0 (checked before any key is fetched)."""
    if expected_client_session_id is not None and (
        not isinstance(expected_client_session_id, str) or not expected_client_session_id
    ):
        raise ConfigurationError(
            "expected_client_session_id must be the client session id stored for the order "
            f"(a non-empty string), got {expected_client_session_id!r:.80}"
        )
    if max_age is not None and (
        isinstance(max_age, bool)
        or not isinstance(max_age, (int, float))
        or not math.isfinite(max_age)
        or max_age < 0
    ):
        raise ConfigurationError(
            f"max_age must be a number of seconds >= 0 or None, got {max_age!r:.80}"
        )


def check_binding(
    claims: Mapping[str, Any],
    *,
    expected_client_session_id: str | None = None,
    max_age: float | None = None,
    leeway: float = 30.0,
    now: float | None = None,
) -> None:
    """Refuse verified claims that are not for this checkout or not recent enough.

    - `expected_client_session_id`: the token's `client_session_id` must be this one (the
      session the merchant created for the order the shopper returns to): a validly signed
      token of another checkout, replayed on this order's return URL, is refused.
    - `max_age` (seconds): the token must carry a numeric `iat` no older than `max_age`
      (+ `leeway`); a token without `iat` is then refused.
    - a numeric `iat` more than `leeway` seconds in the future is always refused.

    `now` is the current Unix time (`time.time()` when None). Raises
    `SignatureVerificationError`.
    """
    check_binding_options(expected_client_session_id, max_age)
    if expected_client_session_id is not None:
        found = claims.get("client_session_id")
        if found != expected_client_session_id:
            raise SignatureVerificationError(
                f"the redirection token is for client session {found!s:.80}, "
                f"expected {expected_client_session_id:.80}"
            )
    now = time.time() if now is None else now
    iat = claims.get("iat")
    numeric = isinstance(iat, (int, float)) and not isinstance(iat, bool) and math.isfinite(iat)
    if iat is None or not numeric:
        if max_age is None:
            return
        if iat is None:
            raise SignatureVerificationError(
                f"the redirection token has no iat claim: its age cannot be bounded by "
                f"max_age={max_age}"
            )
        raise SignatureVerificationError(
            f"the redirection token's iat claim is not a number: {iat!r:.40}"
        )
    if iat > now + leeway:
        raise SignatureVerificationError(
            f"the redirection token is issued {iat - now:.0f} s in the future (iat {iat})"
        )
    if max_age is not None and now - iat > max_age + leeway:
        raise SignatureVerificationError(
            f"the redirection token was issued {now - iat:.0f} s ago, more than max_age={max_age} s"
        )
