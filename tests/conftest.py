"""Shared fixtures: the sandbox fixtures come from the installed plugin (`purse_sandbox`,
`purse_client`); helpers here build orders and pay sessions."""

from __future__ import annotations

from typing import Any

import pytest

ORDER: dict[str, Any] = {"reference": "ORDER-1", "net_amount": 12000, "tax_amount": 2000}


@pytest.fixture
def order() -> dict[str, Any]:
    return dict(ORDER)


class ThreadedSandbox:
    """A Sandbox served from its own event-loop thread, for blocking (purse_sync) tests."""

    def __init__(self, **options: Any) -> None:
        import asyncio
        import threading

        from purse_async.testing import Sandbox

        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.sandbox = Sandbox(**options)
        self.call(self.sandbox.start())

    def call(self, coro: Any) -> Any:
        import asyncio

        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=30)

    def close(self) -> None:
        self.call(self.sandbox.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


@pytest.fixture
def threaded_sandbox() -> Any:
    box = ThreadedSandbox()
    yield box
    box.close()
