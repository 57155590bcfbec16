"""What every generated sync client shares: its private AsyncPurse (made on the bridge loop),
calls through the bridge, close/context manager, fork safety, and closing clients nobody closed
(dropped ones when collected, live ones at interpreter exit) on their own loop, silently."""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from types import TracebackType
from typing import Any, TypeVar

from purse_async import AsyncPurse

from ._bridge import EXIT_WAIT, current_bridge, get_bridge, on_exit, refuse_eventlet

__all__ = ["SyncClient"]

T = TypeVar("T")
C = TypeVar("C", bound="SyncClient")

#: Clients not closed yet, closed at interpreter exit (weakly held: a dropped client is closed
#: by its finalizer instead).
_live: weakref.WeakSet[SyncClient] = weakref.WeakSet()


class _Owned:
    """The AsyncPurse a sync client owns and the process it was made in."""

    __slots__ = ("client", "pid")

    def __init__(self, client: AsyncPurse) -> None:
        self.client = client
        self.pid = os.getpid()


async def _construct(kwargs: dict[str, Any]) -> AsyncPurse:
    return AsyncPurse(**kwargs)


def _release(owned: _Owned) -> None:
    """Finalizer of a client dropped without close(): close its pool on the loop, without
    waiting (this may run in any thread, the loop's own included)."""
    if owned.pid != os.getpid():
        owned.client._abandon()  # the parent's pool: never closed from a child
        return
    bridge = current_bridge()
    if bridge is not None and not owned.client.is_closed:
        bridge.submit(owned.client.aclose)


class SyncClient:
    """Base of `purse_sync.Purse`: owns one `AsyncPurse` run on the bridge loop."""

    def __init__(self, **kwargs: Any) -> None:
        refuse_eventlet()
        self._kwargs = kwargs
        self._lock = threading.Lock()
        self._closed = False
        self._adopt(self._build())
        _live.add(self)

    def _build(self) -> AsyncPurse:
        # Made on the bridge loop, so whatever it binds to a loop is bound to that one. Settings
        # are validated there too: a ConfigurationError reaches the caller like any error.
        bridge = get_bridge()
        if bridge.in_loop_thread():
            return AsyncPurse(**self._kwargs)
        return bridge.run(lambda: _construct(self._kwargs), warn=False)

    def _adopt(self, client: AsyncPurse) -> None:
        self._owned = _Owned(client)
        self._finalizer = weakref.finalize(self, _release, self._owned)
        self._finalizer.atexit = False  # at exit, _close_leftovers closes it (and waits)

    def _current(self) -> AsyncPurse:
        owned = self._owned
        if owned.pid == os.getpid():
            return owned.client
        # A forked child: the parent's pool, sockets and token stay the parent's (the fork
        # hook abandoned them); this process gets its own on first use. It is built outside
        # the lock: a lock made at the fork, before a gevent worker patched threading, is a
        # real one, and holding it while waiting for the build would block every greenlet of
        # the thread that needs it (a deadlock). Callers racing here may each build a client:
        # the first is adopted, the others are closed unused.
        with self._lock:
            if self._owned.pid == os.getpid() or self._closed:
                self._owned.pid = os.getpid()  # if closed, it stays so: calls raise "closed"
                return self._owned.client
        client = self._build()
        with self._lock:
            if self._owned.pid != os.getpid() and not self._closed:
                self._adopt(client)
                return client
            self._owned.pid = os.getpid()
            current = self._owned.client
        get_bridge().submit(client.aclose)
        return current

    def _forked(self) -> None:
        """In a fork child, right after fork(): drop the parent's objects, untouched."""
        self._lock = threading.Lock()  # might have been held by a parent thread at fork time
        self._finalizer.detach()
        self._owned.client._abandon()

    def _run(self, call: Callable[[AsyncPurse], Awaitable[T]], timeout: float | None) -> T:
        client = self._current()
        return get_bridge().run(lambda: call(client), timeout)

    def _iterate(
        self, call: Callable[[AsyncPurse], AsyncIterator[T]], timeout: float | None
    ) -> Iterator[T]:
        client = self._current()
        return get_bridge().iterate(lambda: call(client), timeout)

    def _context(
        self, call: Callable[[AsyncPurse], AbstractAsyncContextManager[T]], timeout: float | None
    ) -> AbstractContextManager[T]:
        client = self._current()
        return get_bridge().context(lambda: call(client), timeout)

    def close(self) -> None:
        """Close the connection pool. Idempotent; the client cannot be used afterwards."""
        self._close(None)

    def _close(self, timeout: float | None) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        _live.discard(self)
        self._finalizer.detach()
        owned = self._owned
        if owned.pid != os.getpid():
            owned.client._abandon()
            return
        bridge = get_bridge()
        if bridge.in_loop_thread():  # closed from a callback on the loop: cannot wait here
            bridge.submit(owned.client.aclose)
        else:
            bridge.run(owned.client.aclose, timeout, warn=False)

    def __enter__(self: C) -> C:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _close_leftovers() -> None:
    for client in list(_live):
        client._close(EXIT_WAIT)


def _after_fork_in_child() -> None:
    for client in list(_live):
        client._forked()


on_exit(_close_leftovers)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
