"""The bridge in a process that gevent has monkey-patched (gunicorn `-k gevent`, Locust, ...).

Imported by the bridge only when gevent has patched the process (gevent is not a dependency):

- the loop runs on a thread of the operating system, started with the functions gevent keeps
  (a patched `threading.Thread` is a greenlet), on the platform's own selector (gevent's would
  run a hub inside the loop thread), and runs blocking helpers (DNS) on such threads too (a
  patched `ThreadPoolExecutor` starts greenlets that would never run there);
- a caller greenlet waits on a gevent `Event` of its own hub, so the other greenlets of the
  thread run meanwhile: one worker serves hundreds of concurrent greenlets through one client
  and one connection pool. The loop thread touches nothing of gevent but the thread-safe
  wake-up of a hub, an async watcher's `send()` (the way `gevent.threadpool` reports back).

The loop's sockets are gevent's (the patched `socket` module makes them) in non-blocking mode,
where they call the real socket directly; nothing on the loop thread ever waits on a hub.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import threading
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any, TypeVar

__all__ = ["GreenLoop", "GreenWaiter", "NativeThread", "allocate_lock"]

T = TypeVar("T")

# gevent ships no type information: its objects are Any here.
_gevent: Any = importlib.import_module("gevent")
_monkey: Any = importlib.import_module("gevent.monkey")
_Event: Any = importlib.import_module("gevent.event").Event

start_new_thread: Callable[[Callable[[], None], tuple[()]], int] = _monkey.get_original(
    "_thread", "start_new_thread"
)
allocate_lock: Callable[[], threading.Lock] = _monkey.get_original("_thread", "allocate_lock")
_getaddrinfo: Callable[..., Any] = _monkey.get_original("socket", "getaddrinfo")
_getnameinfo: Callable[..., Any] = _monkey.get_original("socket", "getnameinfo")


class NativeThread:
    """The loop's thread: a thread of the operating system, whatever gevent has patched."""

    def __init__(self, target: Callable[[], None], name: str, daemon: bool = True) -> None:
        self.name = name
        self.daemon = daemon  # like every thread started with _thread: never joined at exit
        self._target = target
        self._ident: int | None = None
        self._running = allocate_lock()

    @property
    def ident(self) -> int | None:
        # What the (patched) threading.get_ident() returns on this thread: the bridge compares
        # it with the caller's to refuse a call from the loop thread itself.
        return self._ident

    def start(self) -> None:
        self._running.acquire()
        start_new_thread(self._run, ())

    def _run(self) -> None:
        self._ident = threading.get_ident()
        try:
            self._target()
        finally:
            self._running.release()

    def is_alive(self) -> bool:
        return self._running.locked()

    def join(self, timeout: float | None = None) -> None:
        if self._running.acquire(timeout=-1 if timeout is None else timeout):
            self._running.release()


def _settle(future: asyncio.Future[T], result: T, error: BaseException | None) -> None:
    if future.cancelled():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


class GreenLoop(asyncio.SelectorEventLoop):
    """The bridge's loop in a patched process: the default executor's work (DNS lookups with
    the real `getaddrinfo`) runs on threads of the operating system, one per job."""

    def run_in_executor(  # type: ignore[override]  # (typeshed: a TypeVarTuple, 3.11+)
        self, executor: Executor | None, func: Callable[..., T], *args: Any
    ) -> asyncio.Future[T]:
        if executor is not None:
            return super().run_in_executor(executor, func, *args)
        future: asyncio.Future[T] = self.create_future()

        def work() -> None:
            result: Any = None
            error: BaseException | None = None
            try:
                result = func(*args)
            except BaseException as exc:  # handed to the awaiting task
                error = exc
            with contextlib.suppress(RuntimeError):  # the loop has closed meanwhile
                self.call_soon_threadsafe(_settle, future, result, error)

        start_new_thread(work, ())
        return future

    async def getaddrinfo(
        self,
        host: Any,
        port: Any,
        *,
        family: int = 0,
        type: int = 0,
        proto: int = 0,
        flags: int = 0,
    ) -> Any:
        return await self.run_in_executor(
            None, _getaddrinfo, host, port, family, type, proto, flags
        )

    async def getnameinfo(self, sockaddr: Any, flags: int = 0) -> Any:
        return await self.run_in_executor(None, _getnameinfo, sockaddr, flags)


class GreenWaiter:
    """What a greenlet's call waits on, in place of a lock: `acquire` waits on a gevent Event
    (other greenlets run meanwhile); `release`, on the loop thread, wakes the caller's hub
    through an async watcher, whose `send()` is the one call into a hub that is thread-safe.

    The watcher is closed in the caller's thread: by its own callback, or by `close()` when the
    caller gives up; a native lock keeps `send()` away from a watcher being closed.
    """

    __slots__ = ("_event", "_guard", "_watcher")

    def __init__(self) -> None:
        self._guard = allocate_lock()
        self._event = _Event()
        # A referenced watcher: while it waits, the hub knows it is waiting for something.
        self._watcher: Any = _gevent.get_hub().loop.async_()
        self._watcher.start(self._woken)

    def release(self) -> None:
        """On the loop thread: the call is done, wake its caller."""
        with self._guard:
            if self._watcher is not None:
                self._watcher.send()

    def _woken(self) -> None:
        # In the caller's hub.
        self.close()
        self._event.set()

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        return bool(self._event.wait(None if timeout < 0 else timeout))

    def close(self) -> None:
        with self._guard:
            watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.stop()
            watcher.close()
