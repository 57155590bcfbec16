"""The bridge: one long-lived event-loop thread per process that runs `purse_async` for threads.

The loop thread is a daemon, started on first use, shared by every caller thread and every
`purse_sync.Purse` of the process (never a thread or a loop per call), started afresh in a
forked child, and drained and closed at interpreter exit.

Lean by measurement (`python benchmarks/bridge_overhead.py`): a per-call `threading.Lock` as the
waiter, calls queued in an inbox (`_inbox`) that the loop collects on its way to select, so a
caller wakes the loop (a `call_soon_threadsafe` pipe write) only when it sleeps, tasks started
without a wrapper coroutine. CPU of the whole process (all threads) per call of a trivial
coroutine, µs, medians of rounds of 20,000 calls, three runs on 2 shared vCPUs (Python 3.11,
2026-11-25; the machine's load varied between runs, compare within a run):

    bridge                              1 thread            8 threads
    anyio BlockingPortal             166 / 174 / 195     104 / 132 / 158
    asyncio.run_coroutine_threadsafe  77 /  84 / 105      75 /  48 /  57
    this module                       59 /  63 /  91      29 /  52 /  51

The portal costs 2-3x more CPU per call (a task group task and a concurrent Future per call);
this module is also below a bare `run_coroutine_threadsafe` in all but one noisy sample.

What it adds over a bare `run_coroutine_threadsafe`: a deadlock guard (a call from the loop
thread itself raises `BridgeError`), a once-per-process `BlockingCallWarning` pointing at the
caller when called from a thread that runs an event loop, Ctrl-C and timeouts that cancel the
task on the loop and wait briefly for it to end, tracebacks without the loop plumbing, blocking
iteration and context managers, gevent (below), and refusal of eventlet's monkey-patching.

gevent: a bridge started in a process that gevent has patched (threads or sockets) runs its
loop on a thread of the operating system and lets each caller greenlet wait cooperatively on
its own hub (`_gevent`); the only cost to other processes is one `is None` test per call. The
bridge is started afresh after a fork, so a gunicorn master that forks before its gevent
workers patch themselves gets a gevent bridge in each worker.
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
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from types import FrameType
from typing import Any, Protocol, TypeVar

from purse_async import APITimeoutError, ConfigurationError, PurseError
from purse_async._requester import tag_error

from ._inbox import Inbox, new_loop

__all__ = ["BlockingCallWarning", "Bridge", "BridgeError", "current_bridge", "get_bridge"]

T = TypeVar("T")

#: How long past a call's own timeout the bridge waits before cancelling the call itself
#: (purse_async bounds a call by its `timeout`; this only catches a call that overruns it).
TIMEOUT_GRACE = 1.0
#: How long an interrupted or timed-out caller waits for its cancelled task to end.
CANCEL_WAIT = 2.0
#: At exit: how long closing clients, and then draining the loop, may take.
EXIT_WAIT = 3.0
#: How often a main thread blocked on a call wakes up to let Ctrl-C through.
MAIN_THREAD_SLICE = 0.1

_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep
_PLUMBING = (os.path.dirname(asyncio.__file__) + os.sep, __file__)


class BridgeError(PurseError, RuntimeError):
    """The sync facade cannot run this call: it was made from the bridge's own loop thread
    (where waiting for the loop would deadlock), or the interpreter is shutting down."""


class BlockingCallWarning(RuntimeWarning):
    """A blocking purse_sync call was made from a thread running an event loop (it blocks that
    loop for the duration of the call): await `purse_async.AsyncPurse` there instead."""


def _trim(exc: BaseException) -> BaseException:
    # Drop the loop-thread plumbing (asyncio's task step, this module) from the traceback so
    # it reads from the caller's line straight into the SDK frame that failed.
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename.startswith(_PLUMBING):
        tb = tb.tb_next
    return exc.with_traceback(tb)


def _caller_stacklevel() -> int:
    """The `stacklevel` that makes a warning point at the first frame outside purse_sync."""
    level = 1
    frame: FrameType | None = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame = frame.f_back
        level += 1
    return level


def refuse_eventlet() -> None:
    """eventlet replaces threads with green threads: a blocking wait on the bridge would
    freeze every green thread of the process, so such setups must use purse_async instead.
    (gevent is supported: see `_gevent`.)"""
    eventlet_patcher = sys.modules.get("eventlet.patcher")
    if eventlet_patcher is not None and eventlet_patcher.is_monkey_patched("thread"):
        raise ConfigurationError(
            "purse_sync cannot run under eventlet's monkey-patched threads (a blocking call "
            "would freeze every green thread); use purse_async.AsyncPurse instead, or gevent "
            "(purse_sync supports gevent's monkey-patching)"
        )


def gevent_patched() -> bool:
    """Whether gevent has monkey-patched threads or sockets in this process."""
    monkey = sys.modules.get("gevent.monkey")
    return monkey is not None and bool(
        monkey.is_module_patched("threading") or monkey.is_module_patched("socket")
    )


class _Done(Protocol):
    """What a caller waits on: a lock acquired in advance, released by the loop thread."""

    def acquire(self, blocking: bool = ..., timeout: float = ...) -> bool: ...

    def release(self) -> None: ...


class _LoopThread(Protocol):
    @property
    def ident(self) -> int | None: ...

    def start(self) -> None: ...

    def is_alive(self) -> bool: ...

    def join(self, timeout: float | None = None) -> None: ...


class _Call:
    """One call in flight: the waiter lock, the task (once started) and the outcome."""

    __slots__ = ("cancelled", "done", "ended_with", "error", "result", "task")

    def __init__(self) -> None:
        self.done: _Done = threading.Lock()
        self.done.acquire()
        self.cancelled = False  # read and written on the loop thread only
        self.task: asyncio.Future[Any] | None = None
        self.result: Any = None
        self.error: BaseException | None = None
        self.ended_with: BaseException | None = None  # the task's CancelledError, if cancelled

    def wait(self, timeout: float | None) -> bool:
        """Block this thread until the call is done (False: `timeout` passed first)."""
        if threading.current_thread() is not threading.main_thread():
            return self.done.acquire(timeout=-1 if timeout is None else timeout)
        # Ctrl-C is handled in the main thread between bytecodes, and a SIGINT that the kernel
        # hands to another thread does not wake a blocked acquire: wait in short slices.
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            slice_ = MAIN_THREAD_SLICE
            if deadline is not None:
                slice_ = min(slice_, deadline - time.monotonic())
                if slice_ <= 0:
                    return False
            if self.done.acquire(timeout=slice_):
                return True

    def close(self) -> None:
        """Free what waiting needed, once the caller stops waiting (nothing, for a lock)."""


class _GreenCall(_Call):
    """A call made under gevent: its caller greenlet waits on a `_gevent.GreenWaiter`, which
    lets the other greenlets run (a Ctrl-C or a `gevent.Timeout` interrupts the wait)."""

    __slots__ = ()

    def __init__(self, done: Any) -> None:
        self.done = done
        self.cancelled = False
        self.task = None
        self.result = None
        self.error = None
        self.ended_with = None

    def wait(self, timeout: float | None) -> bool:
        return self.done.acquire(timeout=-1 if timeout is None else timeout)

    def close(self) -> None:
        self.done.close()  # type: ignore[attr-defined]


def _copy_outcome(source: BaseException | None, target: BaseException) -> None:
    """Give `target` the idempotency key and outcome a cancelled call stamped on `source`."""
    # Python 3.10 hands out a new CancelledError whose __context__ is the one the call raised.
    while source is not None and getattr(source, "idempotency_key", None) is None:
        source = source.__context__ if isinstance(source, asyncio.CancelledError) else None
    key = getattr(source, "idempotency_key", None)
    if key is not None and getattr(target, "idempotency_key", None) is None:
        tag_error(target, key, getattr(source, "may_have_been_applied", True))


async def _value(factory: Callable[[], T]) -> T:
    return factory()


class Bridge:
    """An event loop on a daemon thread, shared by every caller thread of the process."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        #: None, or (under gevent) what makes each call's `_Call`.
        self._green: Callable[[], _Call] | None = None
        allocate_lock: Callable[[], threading.Lock] = threading.Lock
        loop_class: type[asyncio.SelectorEventLoop] = asyncio.SelectorEventLoop
        thread_class: Callable[..., _LoopThread] = threading.Thread
        if gevent_patched():
            from . import _gevent

            waiter = _gevent.GreenWaiter
            self._green = lambda: _GreenCall(waiter())
            allocate_lock = _gevent.allocate_lock
            loop_class = _gevent.GreenLoop
            thread_class = _gevent.NativeThread
        self._inbox: Inbox[tuple[_Call, Callable[[], Awaitable[Any]]]] = Inbox(allocate_lock())
        self.loop = new_loop(self._inbox, self._drain, loop_class)
        self._ready = allocate_lock()
        self._ready.acquire()
        self._background: set[asyncio.Task[Any]] = set()
        self.thread = thread_class(target=self._serve, name="purse-sync-loop", daemon=True)
        self.thread.start()
        self._ready.acquire()
        self._warned = False

    @property
    def green(self) -> bool:
        """Whether callers wait as greenlets (the process was patched by gevent)."""
        return self._green is not None

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(self._ready.release)
        self.loop.run_forever()

    def in_loop_thread(self) -> bool:
        return threading.get_ident() == self.thread.ident

    # -- blocking calls ------------------------------------------------------------------------

    def _drain(self) -> None:
        for call, factory in self._inbox.take():
            self._start(call, factory)

    def _start(self, call: _Call, factory: Callable[[], Awaitable[Any]]) -> None:
        if call.cancelled:  # given up by its caller before it could start
            call.error = APITimeoutError("the call was cancelled")
            call.done.release()
            return
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
            try:
                task.result()
            except asyncio.CancelledError as exc:
                # The CancelledError the call raised, with its stamps (asyncio hands the
                # task's own exception back; if that ever changes, only the stamps are lost).
                call.ended_with = exc
            _copy_outcome(call.ended_with, call.error)
        else:
            call.error = task.exception()
            if call.error is None:
                call.result = task.result()
        call.done.release()

    def run(
        self,
        factory: Callable[[], Awaitable[T]],
        timeout: float | None = None,
        *,
        warn: bool = True,
    ) -> T:
        """Run `factory()` on the loop and block this thread until it is done.

        `timeout` is the call's own bound (purse_async enforces it); the bridge waits a little
        longer, then cancels the task and raises `APITimeoutError`. If the wait is interrupted
        (Ctrl-C), the task is cancelled too before the interruption propagates.
        """
        if threading.get_ident() == self.thread.ident:
            raise BridgeError(
                "a purse_sync call was made from the purse_sync loop thread itself (e.g. in a "
                "callback running on it), which would deadlock; await the purse_async client "
                "there instead"
            )
        if warn and not self._warned:
            self._warn_if_in_loop()
        if self.loop.is_closed():
            raise BridgeError("purse_sync has shut down (the interpreter is exiting)")
        call = _Call() if self._green is None else self._green()
        if self._inbox.put((call, factory)):
            # The loop sleeps in select: wake it (a pipe write); a busy loop collects the call
            # before it next selects.
            self.loop.call_soon_threadsafe(self._drain)
        try:
            if not call.wait(None if timeout is None else timeout + TIMEOUT_GRACE):
                raise APITimeoutError(f"the call did not finish within {timeout:.3g}s")
        except BaseException as exc:
            # Ctrl-C (or, under gevent, a gevent.Timeout or a kill) or the timeout above: the
            # work on the loop must stop too, and what the call had stamped on its own ending
            # (its idempotency key, whether it may have been applied) goes with the
            # interruption.
            try:
                self._cancel(call)
            finally:
                call.close()
            _copy_outcome(call.ended_with or call.error, exc)
            raise
        if call.error is not None:
            raise _trim(call.error)
        result: T = call.result
        return result

    def _cancel(self, call: _Call) -> None:
        """Cancel the call's task on the loop and wait (briefly) until it has ended, so that
        nothing of the call is still running when the caller gets control back."""

        def cancel() -> None:
            # On the loop: either the task exists, or _start has not run yet and will see
            # the flag (another thread may have scheduled the _drain serving this call).
            call.cancelled = True
            if call.task is not None:
                call.task.cancel()

        with contextlib.suppress(RuntimeError):  # loop closed: nothing left to cancel
            self.loop.call_soon_threadsafe(cancel)
            call.done.acquire(timeout=CANCEL_WAIT)

    def _warn_if_in_loop(self) -> None:
        # The non-raising form: this runs on every call from a thread without a loop.
        if asyncio._get_running_loop() is None:
            return
        self._warned = True
        warnings.warn(
            "a blocking purse_sync call was made from a thread running an event loop: it blocks "
            "that loop until the call returns; use purse_async.AsyncPurse and await it instead",
            BlockingCallWarning,
            stacklevel=_caller_stacklevel(),
        )

    def iterate(
        self, factory: Callable[[], AsyncIterator[T]], timeout: float | None = None
    ) -> Iterator[T]:
        """Iterate an async iterator made on the loop, one blocking step per item (each step
        bounded like a call). Leaving the loop early closes the async iterator on the loop."""
        it: AsyncIterator[T] = self.run(lambda: _value(lambda: aiter(factory())), timeout)
        finished = False
        try:
            while True:
                try:
                    item = self.run(lambda: anext(it), timeout)
                except StopAsyncIteration:
                    finished = True
                    return
                yield item
        finally:
            aclose: Callable[[], Awaitable[Any]] | None = getattr(it, "aclose", None)
            if not finished and aclose is not None:
                if self.in_loop_thread():  # collected on the loop thread: cannot wait there
                    self.submit(aclose)
                else:
                    self.run(aclose, timeout, warn=False)

    @contextlib.contextmanager
    def context(
        self, factory: Callable[[], AbstractAsyncContextManager[T]], timeout: float | None = None
    ) -> Iterator[T]:
        """Enter and exit an async context manager (made on the loop) from this thread."""
        manager = self.run(lambda: _value(factory), timeout)
        value = self.run(manager.__aenter__, timeout)
        try:
            yield value
        except BaseException as exc:
            error = exc

            def exit_() -> Awaitable[bool | None]:
                return manager.__aexit__(type(error), error, error.__traceback__)

            if not self.run(exit_, timeout, warn=False):
                raise
        else:
            self.run(lambda: manager.__aexit__(None, None, None), timeout, warn=False)

    # -- fire and forget -------------------------------------------------------------------

    def submit(self, factory: Callable[[], Awaitable[Any]]) -> None:
        """Start `factory()` on the loop without waiting (used to close dropped clients)."""

        def start() -> None:
            task = asyncio.ensure_future(factory(), loop=self.loop)
            self._background.add(task)
            task.add_done_callback(self._forget)

        with contextlib.suppress(RuntimeError):  # loop closed: the process is exiting
            self.loop.call_soon_threadsafe(start)

    def _forget(self, task: asyncio.Task[Any]) -> None:
        self._background.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved: a failed background close is not worth a log line

    # -- shutdown ----------------------------------------------------------------------------

    async def _wind_down(self) -> None:
        if self._background:
            await asyncio.wait(set(self._background), timeout=EXIT_WAIT)
        current = asyncio.current_task()
        left = [t for t in asyncio.all_tasks() if t is not current]
        for task in left:
            task.cancel()
        if left:
            await asyncio.wait(left, timeout=EXIT_WAIT)
        await self.loop.shutdown_asyncgens()

    def stop(self) -> None:
        """Finish background work, cancel what is left, stop the thread and close the loop."""
        if self.loop.is_closed() or not self.thread.is_alive():
            return
        with contextlib.suppress(Exception):
            self.run(self._wind_down, 2 * EXIT_WAIT, warn=False)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=EXIT_WAIT)
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
            refuse_eventlet()
            _bridge = Bridge()
        return _bridge


def current_bridge() -> Bridge | None:
    """The process's bridge if it is running, without starting one."""
    bridge = _bridge
    if bridge is None or bridge.pid != os.getpid() or bridge.loop.is_closed():
        return None
    return bridge


def on_exit(closer: Callable[[], None]) -> None:
    """Run `closer` at interpreter exit, before the bridge stops."""
    _closers.append(closer)


def _shutdown() -> None:
    bridge = current_bridge()
    if bridge is None:
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
