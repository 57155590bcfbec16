"""The bridge: one long-lived event-loop thread per process that runs `purse_async` for threads.

Lean by measurement: a per-call lock as the waiter and `call_soon_threadsafe` to start the task
cost less CPU per call than anyio's BlockingPortal or `run_coroutine_threadsafe` (see
benchmarks/bridge_overhead.py). Reset after fork; closed at interpreter exit.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import sys
import threading
import time
import warnings
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from purse_async import APITimeoutError, ConfigurationError, PurseError

__all__ = ["BlockingCallWarning", "BridgeError", "get_bridge"]

T = TypeVar("T")

#: How long past a call's own timeout the bridge waits before cancelling it itself.
TIMEOUT_GRACE = 1.0
#: How often a main thread blocked on a call wakes up to let Ctrl-C through.
MAIN_THREAD_SLICE = 0.1

_PLUMBING = (os.path.dirname(asyncio.__file__), __file__)


class BridgeError(PurseError, RuntimeError):
    """The sync facade cannot run this call (e.g. it was made from the bridge's own loop)."""


class BlockingCallWarning(RuntimeWarning):
    """A blocking purse_sync call was made from a thread running an event loop."""


def _trim(exc: BaseException) -> BaseException:
    # Drop the loop-thread plumbing (asyncio's task step, this module) from the traceback so
    # it reads from the caller's line straight into the SDK frame that failed.
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename.startswith(_PLUMBING):
        tb = tb.tb_next
    return exc.with_traceback(tb)


def refuse_green_threads() -> None:
    """gevent/eventlet replace threads with greenlets: a blocking wait on the bridge would
    freeze every greenlet of the process, so such setups must use purse_async instead."""
    gevent_monkey = sys.modules.get("gevent.monkey")
    if gevent_monkey is not None and gevent_monkey.is_module_patched("threading"):
        raise ConfigurationError(
            "purse_sync cannot run under gevent's monkey-patched threading; use purse_async "
            "from a gevent-friendly async integration or disable threading patching"
        )
    eventlet_patcher = sys.modules.get("eventlet.patcher")
    if eventlet_patcher is not None and eventlet_patcher.is_monkey_patched("thread"):
        raise ConfigurationError(
            "purse_sync cannot run under eventlet's monkey-patched threads; use purse_async"
        )


class _Call:
    """One call in flight: the waiter lock, the task (once started) and the outcome."""

    __slots__ = ("done", "error", "result", "task")

    def __init__(self) -> None:
        self.done = threading.Lock()
        self.done.acquire()
        self.task: asyncio.Future[Any] | None = None
        self.result: Any = None
        self.error: BaseException | None = None


class Bridge:
    """An event loop on a daemon thread, shared by every caller thread of the process."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._inbox: list[tuple[_Call, Callable[[], Awaitable[Any]]]] = []
        self._inbox_lock = threading.Lock()
        self._wakeup_pending = False
        self.thread = threading.Thread(target=self._serve, name="purse-sync-loop", daemon=True)
        self.thread.start()
        self._ready.wait()
        self._warned = False

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(self._ready.set)
        self.loop.run_forever()

    def _drain(self) -> None:
        with self._inbox_lock:
            batch, self._inbox = self._inbox, []
            self._wakeup_pending = False
        for call, factory in batch:
            self._start(call, factory)

    def _start(self, call: _Call, factory: Callable[[], Awaitable[Any]]) -> None:
        try:
            task = asyncio.ensure_future(factory(), loop=self.loop)
        except BaseException as exc:  # handed to the waiting thread
            call.error = exc
            call.done.release()
            return
        call.task = task
        task.add_done_callback(lambda t: self._finish(call, t))

    @staticmethod
    def _finish(call: _Call, task: asyncio.Future[Any]) -> None:
        if task.cancelled():
            call.error = APITimeoutError("the call was cancelled")
        else:
            call.error = task.exception()
            if call.error is None:
                call.result = task.result()
        call.done.release()

    def run(self, factory: Callable[[], Awaitable[T]], timeout: float | None = None) -> T:
        """Run `factory()` on the loop and block this thread until it is done."""
        if threading.get_ident() == self.thread.ident:
            raise BridgeError(
                "a purse_sync call was made from the purse_sync loop thread itself, which "
                "would deadlock; await the purse_async client there instead"
            )
        self._warn_if_in_loop()
        call = _Call()
        with self._inbox_lock:
            self._inbox.append((call, factory))
            wake = not self._wakeup_pending
            self._wakeup_pending = True
        if wake:
            # One wake-up of the loop (a pipe write) serves every call queued until it runs.
            self.loop.call_soon_threadsafe(self._drain)
        try:
            if not self._wait(call, None if timeout is None else timeout + TIMEOUT_GRACE):
                self._cancel(call)
                raise APITimeoutError(f"the call did not finish within {timeout:.3g}s")
        except BaseException:
            # Ctrl-C (or the timeout above): the work on the loop must stop too.
            self._cancel(call)
            raise
        if call.error is not None:
            raise _trim(call.error)
        result: T = call.result
        return result

    @staticmethod
    def _wait(call: _Call, timeout: float | None) -> bool:
        if threading.current_thread() is not threading.main_thread():
            return call.done.acquire(timeout=-1 if timeout is None else timeout)
        # Ctrl-C is handled in the main thread between bytecodes, and a SIGINT that the kernel
        # hands to another thread does not wake a blocked acquire: wait in short slices.
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            slice_ = MAIN_THREAD_SLICE
            if deadline is not None:
                slice_ = min(slice_, deadline - time.monotonic())
                if slice_ <= 0:
                    return False
            if call.done.acquire(timeout=slice_):
                return True

    def _cancel(self, call: _Call) -> None:
        def cancel() -> None:
            if call.task is not None:
                call.task.cancel()

        if not self.loop.is_closed():
            self.loop.call_soon_threadsafe(cancel)

    def _warn_if_in_loop(self) -> None:
        if self._warned:
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return
        self._warned = True
        warnings.warn(
            "a blocking purse_sync call was made from a running event loop: it blocks that "
            "loop until the call returns; use purse_async.AsyncPurse and await it instead",
            BlockingCallWarning,
            stacklevel=5,  # the caller of the generated method
        )

    def stop(self) -> None:
        if self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        if not self.thread.is_alive():
            self.loop.close()


_lock = threading.Lock()
_bridge: Bridge | None = None
_closers: list[Callable[[], None]] = []


def get_bridge() -> Bridge:
    """The process's bridge, started on first use (and again in a forked child)."""
    global _bridge
    bridge = _bridge
    if bridge is not None and bridge.pid == os.getpid():
        return bridge
    with _lock:
        if _bridge is None or _bridge.pid != os.getpid():
            refuse_green_threads()
            _bridge = Bridge()
        return _bridge


def on_exit(closer: Callable[[], None]) -> None:
    """Run `closer` at interpreter exit, before the bridge stops."""
    _closers.append(closer)


def _shutdown() -> None:
    bridge = _bridge
    if bridge is None or bridge.pid != os.getpid():
        return
    for closer in list(_closers):
        # Exiting: a failure to close has nowhere useful to be reported.
        with contextlib.suppress(Exception):
            closer()
    bridge.stop()


def _after_fork_in_child() -> None:
    # The parent's loop thread does not exist in the child: forget it (never close it, its
    # sockets belong to the parent); the child starts its own on first use.
    global _bridge, _lock
    _bridge = None
    _lock = threading.Lock()


atexit.register(_shutdown)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
