"""What every generated sync client shares: its private AsyncPurse, calls through the bridge,
close/context manager, fork safety and closing leftovers at interpreter exit."""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, TypeVar

from purse_async import AsyncPurse

from ._bridge import get_bridge, on_exit, refuse_green_threads

__all__ = ["SyncClient"]

T = TypeVar("T")

_live: weakref.WeakSet[SyncClient] = weakref.WeakSet()


def _close_leftovers() -> None:
    for client in list(_live):
        client.close()


on_exit(_close_leftovers)


class SyncClient:
    """Base of `purse_sync.Purse`: owns one `AsyncPurse` run on the bridge loop."""

    def __init__(self, **kwargs: Any) -> None:
        refuse_green_threads()
        self._kwargs = kwargs
        # Built (and so validated) now, in the caller's thread: it binds to no loop until
        # its first call, which runs on the bridge loop.
        self._client = AsyncPurse(**kwargs)
        self._pid = os.getpid()
        self._closed = False
        self._close_lock = threading.Lock()
        _live.add(self)

    def _current(self) -> AsyncPurse:
        if self._pid != os.getpid():
            # A forked child: the parent's pool and token stay the parent's.
            self._client._abandon()
            self._client = AsyncPurse(**self._kwargs)
            self._pid = os.getpid()
        return self._client

    def _run(self, call: Callable[[AsyncPurse], Awaitable[T]], timeout: float | None) -> T:
        client = self._current()
        return get_bridge().run(lambda: call(client), timeout)

    def close(self) -> None:
        """Close the connection pool (idempotent)."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        _live.discard(self)
        client = self._current()
        get_bridge().run(client.aclose)

    def __enter__(self: T) -> T:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
