"""`purse_async.testing`: an emulated Purse Payment API v2 on loopback for demos and tests.

`async with Sandbox() as sb: purse = sb.client()`; magic cards in `MagicCards`; pytest fixtures
`purse_sandbox` and `purse_client` come with the installed plugin.
"""

from ._faults import FaultInjector
from ._psp import MagicCards
from ._sandbox import Sandbox, WebhookDelivery
from ._state import Credentials, LedgerEntry, Stats
from ._threaded import ThreadedSandbox

__all__ = [
    "Credentials",
    "FaultInjector",
    "LedgerEntry",
    "MagicCards",
    "Sandbox",
    "Stats",
    "ThreadedSandbox",
    "WebhookDelivery",
]
