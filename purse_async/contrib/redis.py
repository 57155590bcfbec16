"""`RedisTokenStore`: one OAuth2 token per (token URL, client id, scope) for a fleet, in Redis.

    pip install 'purse-sdk[redis]'

    store = RedisTokenStore("rediss://purse:PASSWORD@redis.internal:6380/0", encryption_key=KEY)
    purse = purse_sync.Purse(..., token_store=store)  # or purse_async.AsyncPurse(...)

Every process and host that points at the same Redis with the same prefix shares one token:

- the token lives at `{prefix}token:{sha256(token URL|client id[|scope])}` (no credential in
  the key; clients asking for different OAuth2 scopes never share a token),
  with a Redis TTL at its expiry;
- a refresh takes a short lock (`SET NX PX` at `{prefix}lock:...`): one process fetches the
  token while the others poll (small sleeps, bounded by `lock_wait`) and then read it;
- a token the API refused with 401 is deleted only if it is still the stored one (a Lua
  compare-and-delete), so a fleet meeting the same 401 refreshes once;
- Redis down, slow or refusing (bounded by `timeout`): the store behaves as empty, the process
  fetches its own token, a WARNING goes to the `purse` logger once per outage, and Redis is
  left alone for `retry_interval` seconds; a payment call never fails because of Redis;
- `encryption_key` (Fernet) encrypts and authenticates the stored token: a record written
  without the key (or with another one) is ignored, never used.

The token's value and the Redis password never appear in logs or reprs. The store is the
caller's: closing a client that uses it leaves it open; `close()` / `aclose()` releases its
connections. Redis connections are made lazily, on the event loop that uses them (one pool per
loop: purse_sync's loop thread, your own loop), so the store can be created anywhere.

`import redis` below is redis-py (absolute imports), never this module.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import random
import secrets
import threading
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Any
from urllib.parse import SplitResult, unquote, urlsplit

try:
    import redis.asyncio as aioredis
    from redis.asyncio.connection import parse_url
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff
    from redis.exceptions import RedisError
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "purse_async.contrib.redis needs redis-py: pip install 'purse-sdk[redis]'"
    ) from exc

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from purse_async._errors import ConfigurationError
from purse_async._logging import logger

__all__ = ["RedisTokenStore"]

# Deletes KEYS[1] only if its value starts with ARGV[1] (the record's fingerprint).
_DELETE_IF_FINGERPRINT = """
local v = redis.call('GET', KEYS[1])
if v and string.sub(v, 1, string.len(ARGV[1])) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""
# Releases the lock KEYS[1] only if this process (ARGV[1]) still holds it.
_RELEASE_LOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""
_PLAIN, _ENCRYPTED = b"p1", b"f1"
#: How often a process waiting for another one's refresh looks again (seconds, doubling).
_FIRST_POLL, _MAX_POLL = 0.005, 0.05


_Guard = AsyncGenerator[None, None]


class _Unavailable(Exception):
    """Redis did not answer (or the store is closed): behave as if it were empty."""


class _Unreadable(Exception):
    """The stored record cannot be trusted by this store (its args: why, for the log)."""


class RedisTokenStore:
    """A `TokenStore` in Redis shared by every process and host: one token request per fleet.

    `url` is a `redis://`, `rediss://` (TLS) or `unix://` URL; an ACL user and its password go
    in it (`rediss://user:password@host:6380/0`). `prefix` starts every key. `encryption_key`
    is a Fernet key (`RedisTokenStore.generate_key()`), or several (the first encrypts, any
    decrypts: rotation). `timeout` bounds connecting and each answer (seconds); `lock_ttl` is
    how long the refresh lock lives if its holder dies; `lock_wait` how long a process waits
    for another one's refresh before fetching a token itself (default `lock_ttl`);
    `retry_interval` how long Redis is left alone after it failed. Other keyword arguments
    go to `redis.asyncio.Redis.from_url` (e.g. `ssl_ca_certs=` for a private CA).
    """

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "purse:",
        encryption_key: str | bytes | Sequence[str | bytes] | None = None,
        timeout: float = 0.5,
        lock_ttl: float = 5.0,
        lock_wait: float | None = None,
        retry_interval: float = 5.0,
        **redis_options: Any,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("redis", "rediss", "unix"):
            # The URL is not echoed: it may hold a password.
            raise ConfigurationError("url must be a redis://, rediss:// or unix:// URL")
        try:
            parse_url(url)
            where = parts.path if parts.scheme == "unix" else _host_port(parts)
        except (ValueError, TypeError):
            raise ConfigurationError("url is not a valid Redis URL") from None
        for name, value in (("timeout", timeout), ("lock_ttl", lock_ttl)):
            if not value > 0:
                raise ConfigurationError(f"{name} must be > 0 seconds")
        if lock_wait is not None and lock_wait < 0:
            raise ConfigurationError("lock_wait must be >= 0 seconds")
        if retry_interval < 0:
            raise ConfigurationError("retry_interval must be >= 0 seconds")
        self._url = url
        self._where = where
        self._password = unquote(parts.password or "")
        self._prefix = prefix
        self._fernet = _fernet(encryption_key)
        self._timeout = timeout
        # Two connection attempts (one retry of a stale pooled connection) and an answer.
        self._op_timeout = 3 * timeout
        self._lock_ttl = lock_ttl
        self._lock_wait = lock_ttl if lock_wait is None else lock_wait
        self._retry_interval = retry_interval
        self._options = redis_options
        self._clients: dict[asyncio.AbstractEventLoop, tuple[aioredis.Redis, _Guard]] = {}
        self._clients_lock = threading.Lock()
        self._abandoned: list[object] = []
        self._pid = os.getpid()
        self._closed = False
        self._closing: set[asyncio.Task[None]] = set()
        self._down_until = 0.0
        self._outage = False  # a WARNING was logged for the current outage
        self._warned: set[str] = set()  # unreadable-record reasons already logged

    @staticmethod
    def generate_key() -> str:
        """A new random Fernet key for `encryption_key` (keep it with your other secrets)."""
        return Fernet.generate_key().decode("ascii")

    def __repr__(self) -> str:
        return f"RedisTokenStore(host={self._where!r}, prefix={self._prefix!r})"

    # -- the TokenStore protocol ----------------------------------------------------------

    async def get(self, key: str) -> tuple[str, float] | None:
        digest = _digest(key)
        try:
            raw = await self._run(lambda r: r.get(self._token_key(digest)))
        except _Unavailable:
            return None
        if raw is None:
            return None
        try:
            return self._decode(raw, digest)
        except _Unreadable as exc:
            why = str(exc)
            if why not in self._warned:
                self._warned.add(why)
                logger.warning(
                    "Redis token store %s: the stored OAuth2 token is ignored because %s; this "
                    "process fetches its own (every process must have the same prefix and "
                    "encryption_key)",
                    self._where,
                    why,
                )
            return None

    async def set(self, key: str, value: str, expires_at: float) -> None:
        ttl_ms = int((expires_at - time.time()) * 1000)
        if ttl_ms <= 0:
            return
        digest = _digest(key)
        record = self._encode(value, expires_at, digest)
        with contextlib.suppress(_Unavailable):
            await self._run(lambda r: r.set(self._token_key(digest), record, px=ttl_ms))

    async def delete(self, key: str, value: str) -> None:
        """Delete the stored token only if it is still `value` (compare-and-delete)."""
        digest = _digest(key)
        expected = _fingerprint(value) + b"|"
        with contextlib.suppress(_Unavailable):
            await self._run(
                lambda r: r.eval(_DELETE_IF_FINGERPRINT, 1, self._token_key(digest), expected)
            )

    def refresh_lock(self, key: str) -> AbstractAsyncContextManager[bool]:
        """Held while this process fetches a new token; yields whether the lock was taken.

        Waits while another process holds it, until that one stores a new token, the lock
        is free, or `lock_wait` has passed; never raises for Redis's failures.
        """
        return self._refresh_lock(key)

    # -- closing --------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Release the connection pools (this loop's, and those of other running loops, e.g.
        purse_sync's loop thread). Idempotent; the store then behaves as empty."""
        current = asyncio.get_running_loop()
        for loop, guard in self._take_guards():
            with contextlib.suppress(Exception):
                if loop is current:
                    await guard.aclose()
                elif loop.is_running():
                    future = asyncio.run_coroutine_threadsafe(_aclose(guard), loop)
                    await asyncio.wait_for(asyncio.wrap_future(future), self._op_timeout)

    def close(self) -> None:
        """`aclose()` for blocking code (e.g. after `purse_sync.Purse.close()`)."""
        try:
            current: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            current = None
        for loop, guard in self._take_guards():
            with contextlib.suppress(Exception):
                if loop is current:  # called on the loop itself: cannot wait for it here
                    task = loop.create_task(_aclose(guard))
                    self._closing.add(task)
                    task.add_done_callback(self._closing.discard)
                elif loop.is_running():  # another thread's loop (purse_sync's)
                    asyncio.run_coroutine_threadsafe(_aclose(guard), loop).result(
                        timeout=self._op_timeout
                    )
                elif current is None:  # a loop that is not running now
                    loop.run_until_complete(_aclose(guard))

    async def __aenter__(self) -> RedisTokenStore:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __enter__(self) -> RedisTokenStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- internals ------------------------------------------------------------------------

    def _token_key(self, digest: str) -> str:
        return f"{self._prefix}token:{digest}"

    def _lock_key(self, digest: str) -> str:
        return f"{self._prefix}lock:{digest}"

    def _take_guards(self) -> list[tuple[asyncio.AbstractEventLoop, _Guard]]:
        with self._clients_lock:
            self._closed = True
            clients, self._clients = self._clients, {}
            if self._pid != os.getpid():  # forked: those are the parent's connections
                return []
        return [(loop, guard) for loop, (_, guard) in clients.items() if not loop.is_closed()]

    async def _client(self) -> aioredis.Redis:
        """This loop's client, made on first use (its connections belong to this loop)."""
        loop = asyncio.get_running_loop()
        with self._clients_lock:
            if self._pid != os.getpid():
                # A forked child: the parent's connections are not ours to use or close
                # (kept referenced, so that nothing closes them when they are collected).
                self._abandoned.append(self._clients)
                self._clients = {}
                self._pid = os.getpid()
            found = self._clients.get(loop)
            if found is not None:
                return found[0]
            # A loop closed without shutting down its async generators (asyncio.run and
            # purse_sync do) left its pool open: nothing can close it any more.
            for ended in [other for other in self._clients if other.is_closed()]:
                del self._clients[ended]
            client = aioredis.Redis.from_url(
                self._url,
                **{
                    "socket_connect_timeout": self._timeout,
                    "socket_timeout": self._timeout,
                    "retry": Retry(NoBackoff(), 1),
                    **self._options,
                    "decode_responses": False,
                },
            )
            guard = _closes_at_shutdown(client)
            self._clients[loop] = (client, guard)
        # Started here, the guard is one of this loop's async generators: when the loop shuts
        # down (asyncio.run's end, purse_sync's exit) it is closed, and closes the pool with
        # it while the loop still runs.
        await anext(guard)
        return client

    async def _run(self, operation: Callable[[aioredis.Redis], Awaitable[Any]]) -> Any:
        """One Redis round trip, bounded; `_Unavailable` (logged once) when Redis fails."""
        if self._closed:
            if "closed" not in self._warned:
                self._warned.add("closed")
                logger.warning("%r was used after close(): tokens are not shared any more", self)
            raise _Unavailable
        if time.monotonic() < self._down_until:
            raise _Unavailable
        try:
            client = await self._client()
            result = await asyncio.wait_for(operation(client), self._op_timeout)
        except Exception as exc:  # RedisError, OSError, TimeoutError, or anything redis-py
            # raises: a payment call never fails because of Redis (a cancellation does go on).
            self._down_until = time.monotonic() + self._retry_interval
            if not self._outage:
                self._outage = True
                logger.warning(
                    "Redis token store %s is unavailable (%s): this process fetches its own "
                    "OAuth2 token until Redis answers again (payment calls are not affected)",
                    self._where,
                    self._describe(exc),
                )
            raise _Unavailable from None
        if self._outage:
            self._outage = False
            logger.info("Redis token store %s answers again: tokens are shared", self._where)
        return result

    def _describe(self, exc: BaseException) -> str:
        if isinstance(exc, asyncio.TimeoutError) and not isinstance(exc, RedisError):
            return f"no answer within {self._op_timeout:.3g}s"
        text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        if self._password:
            text = text.replace(self._password, "***")
        return text[:300]

    @contextlib.asynccontextmanager
    async def _refresh_lock(self, key: str) -> AsyncIterator[bool]:
        digest = _digest(key)
        lock_key = self._lock_key(digest)
        owner = secrets.token_hex(16)
        acquired = await self._acquire(lock_key, self._token_key(digest), owner)
        try:
            yield acquired
        finally:
            if acquired:
                with contextlib.suppress(_Unavailable):
                    await self._run(lambda r: r.eval(_RELEASE_LOCK, 1, lock_key, owner))

    async def _acquire(self, lock_key: str, token_key: str, owner: str) -> bool:
        ttl_ms = max(int(self._lock_ttl * 1000), 1)
        deadline = time.monotonic() + self._lock_wait
        first = True
        seen: bytes | None = None
        delay = _FIRST_POLL
        try:
            while True:
                if await self._run(lambda r: r.set(lock_key, owner, nx=True, px=ttl_ms)):
                    return True
                current = await self._run(lambda r: r.get(token_key))
                if first:
                    first, seen = False, current
                elif current != seen:
                    return False  # another process stored a token meanwhile: read it
                if time.monotonic() + delay > deadline:
                    logger.info(
                        "waited %.3gs for another process to refresh the OAuth2 token: "
                        "fetching one here",
                        self._lock_wait,
                    )
                    return False
                await asyncio.sleep(delay * random.uniform(0.5, 1.5))
                delay = min(delay * 2, _MAX_POLL)
        except _Unavailable:
            return False

    def _encode(self, value: str, expires_at: float, digest: str) -> bytes:
        payload = json.dumps({"k": digest, "t": value, "e": expires_at}).encode()
        if self._fernet is None:
            return b"|".join((_fingerprint(value), _PLAIN, payload))
        return b"|".join((_fingerprint(value), _ENCRYPTED, self._fernet.encrypt(payload)))

    def _decode(self, raw: bytes | str, digest: str) -> tuple[str, float]:
        if isinstance(raw, str):  # decode_responses=True in the URL's query string
            raw = raw.encode()
        fingerprint, _, rest = raw.partition(b"|")
        kind, _, payload = rest.partition(b"|")
        if self._fernet is not None:
            if kind != _ENCRYPTED:
                raise _Unreadable("it is not encrypted and this store has an encryption_key")
            try:
                payload = self._fernet.decrypt(payload)
            except InvalidToken:
                raise _Unreadable("it was encrypted with a key this store does not have") from None
        elif kind == _ENCRYPTED:
            raise _Unreadable("it is encrypted and this store has no encryption_key")
        elif kind != _PLAIN:
            raise _Unreadable("it is not a record this store writes")
        try:
            data = json.loads(payload)
            value, expires_at, owner = data["t"], float(data["e"]), data["k"]
        except (ValueError, TypeError, KeyError):
            raise _Unreadable("it is not a record this store writes") from None
        if not isinstance(value, str) or owner != digest or _fingerprint(value) != fingerprint:
            raise _Unreadable("it does not belong to this key")
        return value, expires_at


async def _closes_at_shutdown(client: aioredis.Redis) -> _Guard:
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            await client.aclose()


async def _aclose(guard: _Guard) -> None:
    await guard.aclose()


def _digest(key: str) -> str:
    # The store key is "token URL|client id": hashed, so no identifier shows in Redis.
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def _fingerprint(value: str) -> bytes:
    # Identifies the stored token for compare-and-delete without revealing it (a bearer
    # token is random: its hash gives nothing away).
    return hashlib.sha256(value.encode()).hexdigest()[:32].encode("ascii")


def _host_port(parts: SplitResult) -> str:
    host = parts.hostname or "localhost"
    if ":" in host:
        host = f"[{host}]"
    return f"{host}:{parts.port or 6379}"


def _fernet(key: str | bytes | Sequence[str | bytes] | None) -> MultiFernet | None:
    if key is None:
        return None
    keys = [key] if isinstance(key, (str, bytes)) else list(key)
    if not keys:
        raise ConfigurationError("encryption_key is an empty list")
    try:
        return MultiFernet([Fernet(k) for k in keys])
    except (ValueError, TypeError):
        # The key is not echoed.
        raise ConfigurationError(
            "encryption_key must be a Fernet key (32 url-safe base64-encoded bytes, e.g. "
            "RedisTokenStore.generate_key())"
        ) from None
