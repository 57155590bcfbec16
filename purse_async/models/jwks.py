"""The signing key set (`GET /payment/v2/signing-jwks`) that redirection tokens are verified with.

Kept as published: the verifier builds RSA keys from the raw members.
"""

from __future__ import annotations

from typing import Any

import attrs

__all__ = ["JsonWebKey", "JsonWebKeySet"]


@attrs.frozen(kw_only=True)
class JsonWebKey:
    """One public key (RFC 7517); Purse publishes RSA keys (`kty` "RSA", `n`, `e`)."""

    kty: str | None = None
    kid: str | None = None
    alg: str | None = None
    use: str | None = None
    n: str | None = None
    e: str | None = None
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)


@attrs.frozen(kw_only=True)
class JsonWebKeySet:
    """The published keys; `find(kid)` picks one."""

    keys: tuple[JsonWebKey, ...] = ()
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)

    def find(self, kid: str) -> JsonWebKey | None:
        return next((key for key in self.keys if key.kid == kid), None)
