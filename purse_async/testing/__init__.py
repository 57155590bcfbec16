"""`purse_async.testing`: an emulated Purse Payment API v2 on loopback for tests, demos and the CLI.

`async with Sandbox() as sb: purse = sb.client()`; magic test cards in `MagicCards`; pytest fixtures
`purse_sandbox` and `purse_client` come with the installed plugin (`purse_async.testing._plugin`).
Every card, partner code, eligibility rule and test helper: docs/sandbox.md.
"""

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
