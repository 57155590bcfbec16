"""`purse.signing_keys` and `purse.redirections`: the JWKS, cached, and verification of the
signed `purse-redirection-data` the shopper brings back (never trust an unverified one)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .. import models as _models
from .._converter import structure
from .._errors import SignatureVerificationError
from .._jws import (
    SigningKey,
    check_binding_options,
    extract_token,
    read_header,
    rsa_keys_by_kid,
    verify_token,
)
from .._logging import logger
from .._requester import Requester
from .._response import AsyncRawResponses, raw_response
from ._base import API_PREFIX, AsyncAPIResource

if TYPE_CHECKING:
    from ..models.jwks import JsonWebKeySet
    from ..models.redirection import RedirectionResult

__all__ = ["AsyncRedirections", "AsyncSigningKeys", "AsyncSigningKeysWithRawResponse"]

#: Keys are refetched after this long even when every kid is known, to follow rotations.
JWKS_MAX_AGE = 3600.0


class AsyncSigningKeys(AsyncAPIResource):
    """The public keys Purse signs redirections with."""

    @property
    def with_raw_response(self) -> AsyncSigningKeysWithRawResponse:
        """These methods returning an `APIResponse` (status, headers, request id, attempts,
        idempotency key, elapsed time) around their result, `.parsed`."""
        return AsyncSigningKeysWithRawResponse(self)

    async def retrieve(
        self,
        *,
        timeout: float | None = None,
        deadline: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> JsonWebKeySet:
        """Get the signing JWKS (`GET /payment/v2/signing-jwks`)."""
        return await self._requester.request_as(
            _models.JsonWebKeySet,
            "GET",
            f"{API_PREFIX}/signing-jwks",
            timeout=timeout,
            deadline=deadline,
            max_retries=max_retries,
            extra_headers=extra_headers,
        )


class _KeyCache:
    """RSA keys by kid, fetched one fetch at a time.

    The keys are fetched on first use and again once older than `JWKS_MAX_AGE` (both always
    allowed). A kid missing from fresh keys (a key rotated in since) triggers a refetch; those
    refetches, and only those, are throttled to one per `min_interval`: the first one after
    the cold load is always allowed, whenever it comes.
    """

    def __init__(self, min_interval: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._keys: dict[str | None, SigningKey] = {}
        self._fetched_at: float | None = None
        #: When the last refetch caused by an unknown kid started (None: none yet).
        self._unknown_kid_fetched_at: float | None = None
        #: Bumped by every completed fetch: a waiter on the lock uses the fetch it waited for.
        self._generation = 0
        self._min_interval = min_interval
        self._clock = clock
        self._lock: asyncio.Lock | None = None
        self.fetches = 0

    def _lookup(self, kid: str | None) -> SigningKey | None:
        if kid is None and len(self._keys) == 1:
            return next(iter(self._keys.values()))
        return self._keys.get(kid)

    def _fresh(self, now: float) -> bool:
        return self._fetched_at is not None and now - self._fetched_at < JWKS_MAX_AGE

    def _may_refetch_for_unknown_kid(self, now: float) -> bool:
        last = self._unknown_kid_fetched_at
        return last is None or now - last >= self._min_interval

    async def key_for(self, kid: str | None, fetch: Callable[[], Any]) -> SigningKey:
        key = self._lookup(kid) if self._fresh(self._clock()) else None
        if key is not None:
            return key
        generation = self._generation
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            now = self._clock()
            if not self._fresh(now):
                # Cold or past max age: always fetched, and not counted by the throttle.
                await self._fetch(fetch)
            elif self._lookup(kid) is None and self._generation == generation:
                # Fresh keys without this kid, and no fetch completed while this call waited.
                if self._may_refetch_for_unknown_kid(now):
                    self._unknown_kid_fetched_at = now
                    await self._fetch(fetch)
                else:
                    logger.debug("unknown kid %r: JWKS refetch throttled", kid)
            key = self._lookup(kid)
        if key is None:
            raise SignatureVerificationError(
                f"no signing key with kid {kid!r} in the published JWKS"
            )
        return key

    async def _fetch(self, fetch: Callable[[], Any]) -> None:
        jwks = await fetch()
        self.fetches += 1
        self._keys = rsa_keys_by_kid(jwks)
        self._fetched_at = self._clock()
        self._generation += 1
        logger.debug("fetched signing JWKS: kids %s", sorted(map(str, self._keys)))


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
        expected_client_session_id: str | None = None,
        max_age: float | None = None,
        timeout: float | None = None,
        deadline: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> RedirectionResult:
        """Verify a redirection and return its claims.

        `redirection` is the full URL the shopper landed on, its query string, or the bare
        `purse-redirection-data` token. Only RSA signatures from the published JWKS are
        accepted; `exp` is honoured when present, and an `iat` more than `leeway` seconds in
        the future is refused. Raises `SignatureVerificationError`.

        Bind the return to the order: pass `expected_client_session_id`, the id of the client
        session you created for the order the shopper comes back to (store it with the
        order). A validly signed token of any other checkout (another order, another shopper)
        is then refused, naming both ids. `max_age` (seconds) refuses a token issued longer
        ago (+ `leeway`), or without `iat`. Both are checked only after the signature held;
        a bad value of either raises `ConfigurationError` before anything is fetched.

        `timeout`, `deadline`, `max_retries` and `extra_headers` apply to the JWKS fetch, when
        the cached keys cannot verify the token.
        """
        check_binding_options(expected_client_session_id, max_age)
        token = extract_token(redirection)
        alg, kid = read_header(token)

        async def fetch() -> Any:
            result = await self._requester.request(
                "GET",
                f"{API_PREFIX}/signing-jwks",
                timeout=timeout,
                deadline=deadline,
                max_retries=max_retries,
                extra_headers=extra_headers,
            )
            return result

        key = await self._cache.key_for(kid, fetch)
        claims = verify_token(
            token,
            key,
            alg,
            leeway=leeway,
            expected_client_session_id=expected_client_session_id,
            max_age=max_age,
        )
        return structure({**claims, "token": token}, _models.RedirectionResult)


class AsyncSigningKeysWithRawResponse(AsyncRawResponses[AsyncSigningKeys]):
    """`purse.signing_keys.with_raw_response`: each call returns an `APIResponse`."""

    retrieve = raw_response(AsyncSigningKeys.retrieve)
