"""Per-attempt timeouts for one client: one timer for all in-flight attempts instead of one each.
An attempt past its deadline has its task cancelled; the attempt turns that into a timeout error.

Why not aiohttp's or asyncio's timeout: both arm, and then cancel, a loop timer per request, which
measured as the largest single cost of a request on loopback. Here registering an attempt is one
dict store; the timer moves only when a new deadline is earlier than the one it waits for, and the
sweep that fires at the earliest deadline re-arms itself for the next one.
"""

from __future__ import annotations

import asyncio
import math
import sys

__all__ = ["SUPPORTED", "Watchdog"]

#: `Task.uncancel` (Python 3.11+) tells our cancellation from the caller's; without it the
#: transport falls back to aiohttp's own per-request timeout.
SUPPORTED = sys.version_info >= (3, 11)


class Watchdog:
    """Cancels the tasks of attempts that outlive their deadline (bound to one event loop)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._deadlines: dict[asyncio.Task[object], float] = {}
        self._expired: set[asyncio.Task[object]] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._wake_at = math.inf

    def watch(self, task: asyncio.Task[object], seconds: float) -> int:
        """Start watching the attempt `task` is making; it must end with `release(task)`.
        Returns what `cancelled_by_us` needs to know (the task's pending cancellations)."""
        deadline = self._loop.time() + seconds
        self._deadlines[task] = deadline
        if deadline < self._wake_at:
            self._arm(deadline)
        if sys.version_info >= (3, 11):
            return task.cancelling()
        return 0  # pragma: no cover - never constructed before 3.11

    def cancelled_by_us(self, task: asyncio.Task[object], cancelling: int) -> bool:
        """Called on CancelledError: True when only the deadline cancelled `task` (the error is
        then a timeout and the task is no longer being cancelled); False when the caller
        cancelled it too, whose cancellation must go on."""
        if not self.release(task):
            return False
        if sys.version_info >= (3, 11):
            return task.uncancel() <= cancelling
        return True  # pragma: no cover

    def release(self, task: asyncio.Task[object]) -> bool:
        """Stop watching `task`; True if its deadline passed and it was cancelled for that."""
        self._deadlines.pop(task, None)
        if task in self._expired:
            self._expired.discard(task)
            return True
        return False

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._wake_at = math.inf

    def _arm(self, when: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._loop.call_at(when, self._sweep)
        self._wake_at = when

    def _sweep(self) -> None:
        self._timer = None
        self._wake_at = math.inf
        # The loop may run a timer a clock tick early; a millisecond of slack avoids re-arming.
        now = self._loop.time() + 0.001
        upcoming = math.inf
        for task, deadline in list(self._deadlines.items()):
            if deadline <= now:
                del self._deadlines[task]
                self._expired.add(task)
                # The task is parked at an await inside the attempt (it registered there and
                # unregisters before leaving), so the cancellation lands inside the attempt.
                task.cancel()
            elif deadline < upcoming:
                upcoming = deadline
        if upcoming != math.inf:
            self._arm(upcoming)
