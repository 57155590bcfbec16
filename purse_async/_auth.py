"""OAuth2 client-credentials tokens: fetch, cache, refresh ahead of expiry, one request at a time.

`TokenStore` lets an application share tokens between processes; the default keeps them in memory.
A store that also has `refresh_lock` (`LockingTokenStore`, e.g. `purse_async.contrib.redis`) makes
one process of a fleet fetch a new token while the others wait for it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Protocol, runtime_checkable

import attrs

from ._config import Settings
from ._errors import DecodeError
from ._json import loads

__all__ = [
    "AccessToken",
    "LockingTokenStore",
    "MemoryTokenStore",
    "TokenManager",
    "TokenStore",
    "is_token_fresh",
]


@attrs.frozen
class AccessToken:
    """A bearer token and the monotonic-clock instant it stops being usable."""

    value: str = attrs.field(repr=False)
    expires_at: float
    token_type: str = "Bearer"
    lifetime: float = 3600.0

    def __repr__(self) -> str:
        return f"AccessToken(value='***', expires_at={self.expires_at!r})"


def is_token_fresh(token: AccessToken | None, *, now: float, margin: float) -> bool:
    """Is `token` still good to send? It is refreshed `margin` seconds before it expires, but
    never with more than half its lifetime left (short-lived tokens would otherwise be
    refreshed on every call)."""
    if token is None:
        return False
    effective = min(margin, token.lifetime / 2)
    return now < token.expires_at - effective


@runtime_checkable
class TokenStore(Protocol):
    """Where tokens live between calls. Implement it to share one token across processes.

    `expires_at` values are `time.time()` based in stores (monotonic clocks are per process).
    """

    async def get(self, key: str) -> tuple[str, float] | None: ...

    async def set(self, key: str, value: str, expires_at: float) -> None: ...

    async def delete(self, key: str, value: str) -> None: ...


@runtime_checkable
class LockingTokenStore(TokenStore, Protocol):
    """A `TokenStore` shared by several processes that can also elect one of them to refresh.

    Optional: the token manager uses `refresh_lock` when the store has it. It is entered before
    a token is fetched; while it is held the manager reads the store again (another process may
    have refreshed meanwhile) and fetches only if it is still empty. Entering it may wait, but
    must give up after a bounded time (and never raise for the store's own failures): the
    manager then fetches a token of its own, so a broken store costs one request, never a call.
    """

    def refresh_lock(self, key: str) -> AbstractAsyncContextManager[object]: ...


class MemoryTokenStore:
    """The default store: tokens in this process's memory."""

    def __init__(self) -> None:
        self._tokens: dict[str, tuple[str, float]] = {}

    async def get(self, key: str) -> tuple[str, float] | None:
        return self._tokens.get(key)

    async def set(self, key: str, value: str, expires_at: float) -> None:
        self._tokens[key] = (value, expires_at)

    async def delete(self, key: str, value: str) -> None:
        if self._tokens.get(key, ("", 0.0))[0] == value:
            del self._tokens[key]


class TokenManager:
    """Hands out a valid bearer token; at most one token request is in flight per client."""

    def __init__(
        self,
        settings: Settings,
        *,
        store: TokenStore | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._fetch_token: Callable[[], Awaitable[bytes]] | None = None
        self._store = store
        self._clock = clock
        self._token: AccessToken | None = None
        # A token the API refused, to be dropped from the shared store at the next refresh.
        self._stale_in_store: str | None = None
        # The last token the API refused: never taken back from the store.
        self._rejected: str | None = None
        self._lock: asyncio.Lock | None = None
        # Tokens of different scopes grant different rights: never shared, never mixed up.
        # (An unscoped key stays as it was, so stores written before scopes keep working.)
        self._store_key = f"{settings.token_url}|{settings.client_id}" + (
            f"|{' '.join(sorted(set(settings.scope.split())))}" if settings.scope else ""
        )
        #: How many tokens this client fetched (for tests and the token-storm benchmark).
        self.requests_made = 0

    def bind(self, fetch_token: Callable[[], Awaitable[bytes]]) -> None:
        """Where tokens come from: the requester's token call (it owns the retry loop)."""
        self._fetch_token = fetch_token

    def fresh_token(self) -> AccessToken | None:
        """The cached token if it is still good to send (the synchronous fast path)."""
        token = self._token
        if is_token_fresh(token, now=self._clock(), margin=self._settings.token_refresh_margin):
            return token
        return None

    async def get_token(self) -> AccessToken:
        token = self.fresh_token()
        if token is not None:
            return token
        margin = self._settings.token_refresh_margin
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            # Whoever held the lock before us may have refreshed it already (single flight).
            token = self._token
            if is_token_fresh(token, now=self._clock(), margin=margin):
                assert token is not None
                return token
            token = await self._from_store()
            if token is None:
                token = await self._refresh()
            self._token = token
            return token

    def invalidate(self, token: AccessToken) -> None:
        """Forget `token` after the API refused it (only if it is still the current one, so a
        burst of 401s on the same token triggers one refresh, not one each)."""
        if self._token is token:
            self._token = None
            self._stale_in_store = token.value

    async def _from_store(self) -> AccessToken | None:
        if self._store is None:
            return None
        stale, self._stale_in_store = self._stale_in_store, None
        if stale is not None:
            # Deleted only if it is still the stored one: when a whole fleet meets the same
            # 401, the first to get here clears it and the others read its replacement.
            await self._store.delete(self._store_key, stale)
            self._rejected = stale
        return await self._read_store()

    async def _refresh(self) -> AccessToken:
        store = self._store
        if not isinstance(store, LockingTokenStore):
            return await self._fetch_and_share()
        async with store.refresh_lock(self._store_key):
            # Whoever held the lock before us (another process) may have stored a new one.
            token = await self._read_store()
            if token is not None:
                return token
            return await self._fetch_and_share()

    async def _fetch_and_share(self) -> AccessToken:
        token = await self._fetch()
        if self._store is not None:
            wall_expiry = time.time() + (token.expires_at - self._clock())
            await self._store.set(self._store_key, token.value, wall_expiry)
        return token

    async def _read_store(self) -> AccessToken | None:
        assert self._store is not None
        found = await self._store.get(self._store_key)
        if found is None:
            return None
        value, wall_expiry = found
        if value == self._rejected:
            return None
        remaining = wall_expiry - time.time()
        token = AccessToken(value=value, expires_at=self._clock() + remaining, lifetime=remaining)
        # A token nearly gone from the shared store is not worth using.
        if not is_token_fresh(token, now=self._clock(), margin=self._settings.token_refresh_margin):
            return None
        return token

    async def _fetch(self) -> AccessToken:
        if self._fetch_token is None:
            raise RuntimeError("TokenManager.bind() was not called")
        self.requests_made += 1
        return self._parse(await self._fetch_token(), self._settings.token_url)

    def _parse(self, body: bytes, url: str) -> AccessToken:
        try:
            data = loads(body, what=f"the token endpoint {url}'s answer")
        except DecodeError:
            data = None
        try:
            value = data["access_token"]
            expires_in = data.get("expires_in", 3600)
            token_type = data.get("token_type", "Bearer")
        except (KeyError, TypeError, AttributeError):
            raise DecodeError(
                f"the token endpoint {url} answered without a readable access_token",
                path="$.access_token",
            ) from None
        if not isinstance(value, str) or not value:
            raise DecodeError(
                f"the token endpoint {url} answered an empty access_token", path="$.access_token"
            )
        if isinstance(expires_in, bool) or not isinstance(expires_in, (int, float)):
            # The value is not echoed: what the endpoint sent stays out of logs and errors.
            raise DecodeError(
                f"the token endpoint {url} answered a non-numeric expires_in",
                path="$.expires_in",
            )
        lifetime = max(float(expires_in), 0.0)
        return AccessToken(
            value=value,
            expires_at=self._clock() + lifetime,
            token_type=str(token_type),
            lifetime=lifetime,
        )
