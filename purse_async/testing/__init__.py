"""`purse_async.testing`: an emulated Purse Payment API v2 on loopback for tests, demos and the CLI.

`async with Sandbox() as sb: purse = sb.client()`; magic test cards in `MagicCards`; pytest fixtures
`purse_sandbox` and `purse_client` come with the installed plugin (`purse_async.testing._plugin`).
Every card, partner code, eligibility rule and test helper: docs/sandbox.md.

The names are imported on first use (PEP 562): pytest imports this package at start-up in every
project that has the SDK installed (the plugin lives in it), and must not load the sandbox then.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._faults import FaultInjector
    from ._psp import MagicCards
    from ._sandbox import Sandbox
    from ._state import Credentials, LedgerEntry, Stats
    from ._threaded import ThreadedSandbox
    from ._webhooks import WebhookDelivery, WebhookFaults

__all__ = [
    "Credentials",
    "FaultInjector",
    "LedgerEntry",
    "MagicCards",
    "Sandbox",
    "Stats",
    "ThreadedSandbox",
    "WebhookDelivery",
    "WebhookFaults",
]

_MODULES = {
    "Credentials": "._state",
    "FaultInjector": "._faults",
    "LedgerEntry": "._state",
    "MagicCards": "._psp",
    "Sandbox": "._sandbox",
    "Stats": "._state",
    "ThreadedSandbox": "._threaded",
    "WebhookDelivery": "._webhooks",
    "WebhookFaults": "._webhooks",
}


# Type checkers read the TYPE_CHECKING imports instead and do not see this `__getattr__`:
# seeing it, mypy would accept any name (a misspelt one included).
if not TYPE_CHECKING:

    def __getattr__(name: str) -> Any:
        module = _MODULES.get(name)
        if module is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, __name__), name)
        globals()[name] = value
        return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
