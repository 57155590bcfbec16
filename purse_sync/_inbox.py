"""The bridge's inbox: calls handed from caller threads to the loop thread, and the loop's
selector that starts them as it selects, so a caller wakes the loop only when it sleeps.

Why: waking the loop is a pipe write, a wake-up of another CPU and a pipe read. While the loop
is busy (the common case under load), the calls queued meanwhile are picked up on its way
through the selector for free, and started there their first steps run in the same iteration.
"""

from __future__ import annotations

import asyncio
import selectors
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

__all__ = ["Inbox", "new_loop"]

T = TypeVar("T")


class Inbox(Generic[T]):
    """Items for the loop thread. `put` says whether the loop must be woken to see them."""

    def __init__(self, lock: threading.Lock | None = None) -> None:
        # `lock`: a lock of the operating system when gevent has patched threading.Lock.
        self._lock = threading.Lock() if lock is None else lock
        self._items: list[T] = []
        # True while the loop thread is in (or about to enter) a blocking select with nothing
        # queued: only then does a new item need a wake-up.
        self._asleep = False

    def put(self, item: T) -> bool:
        """Queue `item`; True when the caller must wake the loop (once per sleep)."""
        with self._lock:
            self._items.append(item)
            wake, self._asleep = self._asleep, False
        return wake

    def take(self) -> list[T]:
        with self._lock:
            items, self._items = self._items, []
        return items

    def before_select(self, timeout: float | None) -> bool:
        """On the loop thread, before it selects: True when items are waiting (select must
        not block); otherwise the loop is marked asleep if it will block."""
        with self._lock:
            if self._items:
                return True
            self._asleep = timeout is None or timeout > 0
            return False

    def after_select(self) -> None:
        self._asleep = False

    def pending(self) -> bool:
        # Unlocked: an item put just after this read is seen by the next before_select.
        return bool(self._items)


def _native_selector() -> type[selectors.BaseSelector]:
    """The platform's selector as the standard library defines it: gevent's monkey-patching
    replaces `selectors.DefaultSelector` with one that runs a gevent hub, and the loop thread
    is a thread of the operating system, not a greenlet (see `_gevent`)."""
    monkey = sys.modules.get("gevent.monkey")
    if monkey is None:
        return selectors.DefaultSelector
    native: type[selectors.BaseSelector] = monkey.get_original("selectors", "DefaultSelector")
    return native


if TYPE_CHECKING:
    _NativeSelector = selectors.DefaultSelector
else:
    _NativeSelector = _native_selector()


class _Selector(_NativeSelector):
    def __init__(self, inbox: Inbox[Any], drain: Callable[[], None]) -> None:
        super().__init__()
        self._inbox = inbox
        self._drain = drain

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if self._inbox.before_select(timeout):
            timeout = 0
        try:
            events: list[tuple[selectors.SelectorKey, int]] = super().select(timeout)
        finally:
            self._inbox.after_select()
        if self._inbox.pending():
            # Started here, the calls' first steps run in this very iteration of the loop
            # (which runs what is ready after selecting), not one iteration later.
            self._drain()
        return events


def new_loop(
    inbox: Inbox[Any],
    drain: Callable[[], None],
    loop_class: type[asyncio.SelectorEventLoop] = asyncio.SelectorEventLoop,
) -> asyncio.AbstractEventLoop:
    """A selector event loop that runs `drain` right after each select that finds `inbox` not
    empty (and never blocks in select while it is not)."""
    return loop_class(_Selector(inbox, drain))
