"""`ThreadedSandbox`: the sandbox served from its own event-loop thread, for blocking code
(purse_sync, Django tests) that has no event loop of its own to run it on."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from types import TracebackType
from typing import Any, TypeVar

from ._sandbox import Sandbox

__all__ = ["ThreadedSandbox"]

T = TypeVar("T")


class ThreadedSandbox:
    """`with ThreadedSandbox() as box: purse_sync.Purse(**box.sandbox.client_kwargs())`."""

    def __init__(self, **options: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self.loop.run_forever, name="purse-sandbox", daemon=True
        )
        self.thread.start()
        self.sandbox = Sandbox(**options)
        self.call(self.sandbox.start())

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run a sandbox coroutine (e.g. `sandbox.checkout(...)`) on its loop, blocking."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=30)

    def checkout(self, session_id: str, **options: Any) -> str:
        """The blocking shopper: pay a session, get the redirect URL."""
        return self.call(self.sandbox.checkout(session_id, **options))

    def close(self) -> None:
        if self.loop.is_closed():
            return
        self.call(self.sandbox.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()

    def __enter__(self) -> ThreadedSandbox:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
