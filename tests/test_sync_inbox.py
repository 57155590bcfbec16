"""The bridge's inbox: a caller wakes the loop only when it sleeps, and no call is ever left
waiting in the inbox (a lost wake-up would hang a Django request)."""

from __future__ import annotations

import asyncio
import functools
import threading

from purse_sync._bridge import get_bridge
from purse_sync._inbox import Inbox


def test_a_busy_loop_needs_no_wake_up() -> None:
    inbox: Inbox[int] = Inbox()
    assert inbox.put(1) is False  # the loop collects it on its way through select
    assert inbox.before_select(None) is True  # so it must not block
    assert inbox.pending()
    assert inbox.take() == [1]
    assert not inbox.pending()


def test_a_sleeping_loop_is_woken_once() -> None:
    inbox: Inbox[int] = Inbox()
    assert inbox.before_select(None) is False  # nothing queued: the loop goes to sleep
    assert inbox.put(1) is True
    assert inbox.put(2) is False  # the wake-up already sent serves both
    inbox.after_select()
    assert inbox.take() == [1, 2]
    assert inbox.take() == []


def test_a_polling_select_is_not_sleep() -> None:
    inbox: Inbox[int] = Inbox()
    assert inbox.before_select(0) is False
    assert inbox.put(1) is False


def test_calls_from_many_threads_against_a_loop_busy_and_idle_all_finish() -> None:
    bridge = get_bridge()
    errors: list[BaseException] = []

    async def work(i: int) -> int:
        if i % 3 == 0:
            await asyncio.sleep(0.001)  # the loop goes idle in select
        elif i % 3 == 1:
            await asyncio.sleep(0)  # the loop stays busy
        return i * 2

    def caller(base: int) -> None:
        try:
            for i in range(base, base + 300):
                assert bridge.run(functools.partial(work, i), timeout=10) == i * 2
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=caller, args=(n * 1000,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads)
    assert errors == []
