"""`purse.signing_keys` and `purse.redirections`: the JWKS, cached, and verification of the
signed `purse-redirection-data` the shopper brings back (never trust an unverified one)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from typing import Any

from .._converter import structure
from .._errors import SignatureVerificationError
from .._jws import extract_token, read_header, rsa_keys_by_kid, verify_token
from .._logging import logger
from .._requester import Requester
from ..models.jwks import JsonWebKeySet
from ..models.redirection import RedirectionResult
from ._base import API_PREFIX, AsyncAPIResource, check_idempotency_key

__all__ = ["AsyncRedirections", "AsyncSigningKeys"]

#: Keys are refetched after this long even when every kid is known, to follow rotations.
JWKS_MAX_AGE = 3600.0


class AsyncSigningKeys(AsyncAPIResource):
    """The public keys Purse signs redirections with."""

    async def retrieve(
        self,
        *,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> JsonWebKeySet:
        """Get the signing JWKS (`GET /payment/v2/signing-jwks`)."""
        result = await self._requester.request(
            "GET",
            f"{API_PREFIX}/signing-jwks",
            idempotency_key=check_idempotency_key(idempotency_key),
            timeout=timeout,
            max_retries=max_retries,
            extra_headers=extra_headers,
        )
        return self._decode(result, JsonWebKeySet)


class _KeyCache:
    """RSA keys by kid; refetched on an unknown kid at most once per interval, one at a time."""

    def __init__(self, min_interval: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._keys: dict[str | None, Any] = {}
        self._fetched_at: float | None = None
        self._min_interval = min_interval
        self._clock = clock
        self._lock: asyncio.Lock | None = None
        self.fetches = 0

    def _lookup(self, kid: str | None) -> Any:
        if kid is None and len(self._keys) == 1:
            return next(iter(self._keys.values()))
        return self._keys.get(kid)

    def _may_fetch(self, now: float) -> bool:
        return self._fetched_at is None or now - self._fetched_at >= self._min_interval

    async def key_for(self, kid: str | None, fetch: Callable[[], Any]) -> Any:
        now = self._clock()
        stale = self._fetched_at is None or now - self._fetched_at >= JWKS_MAX_AGE
        key = None if stale else self._lookup(kid)
        if key is not None:
            return key
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            key = self._lookup(kid)
            now = self._clock()
            fresh = self._fetched_at is not None and now - self._fetched_at < JWKS_MAX_AGE
            if key is not None and fresh:
                return key
            if self._may_fetch(now):
                jwks = await fetch()
                self.fetches += 1
                self._keys = rsa_keys_by_kid(jwks)
                self._fetched_at = self._clock()
                logger.debug("fetched signing JWKS: kids %s", sorted(map(str, self._keys)))
                key = self._lookup(kid)
        if key is None:
            raise SignatureVerificationError(
                f"no signing key with kid {kid!r} in the published JWKS"
            )
        return key


class AsyncRedirections(AsyncAPIResource):
    """Verification of the signed redirection data appended to `shopper_redirection_url`."""

    def __init__(self, requester: Requester, settings: Any) -> None:
        super().__init__(requester, settings)
        self._cache = _KeyCache(settings.jwks_min_refresh_interval)

    async def verify(
        self,
        redirection: str,
        *,
        leeway: float = 30.0,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> RedirectionResult:
        """Verify a redirection and return its claims.

        `redirection` is the full URL the shopper landed on, its query string, or the bare
        `purse-redirection-data` token. Only RSA signatures from the published JWKS are
        accepted; `exp` is honoured when present. Raises `SignatureVerificationError`.
        """
        token = extract_token(redirection)
        alg, kid = read_header(token)

        async def fetch() -> Any:
            result = await self._requester.request(
                "GET",
                f"{API_PREFIX}/signing-jwks",
                idempotency_key=check_idempotency_key(idempotency_key),
                timeout=timeout,
                max_retries=max_retries,
                extra_headers=extra_headers,
            )
            return result

        key = await self._cache.key_for(kid, fetch)
        claims = verify_token(token, key, alg, leeway=leeway)
        return structure({**claims, "token": token}, RedirectionResult)
