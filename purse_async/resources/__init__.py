"""The resource classes reachable from a client (`purse.payments`, `purse.client_sessions`, ...).

One class per API resource, one method per endpoint.
"""

from ._client_sessions import AsyncClientSessions
from ._eligible_solutions import AsyncEligibleSolutions
from ._payment_links import AsyncPaymentLinks
from ._payments import AsyncPayments
from ._redirections import AsyncRedirections, AsyncSigningKeys
from ._wallet import AsyncWalletTokens
from ._webhooks import AsyncWebhooks

__all__ = [
    "AsyncClientSessions",
    "AsyncEligibleSolutions",
    "AsyncPaymentLinks",
    "AsyncPayments",
    "AsyncRedirections",
    "AsyncSigningKeys",
    "AsyncWalletTokens",
    "AsyncWebhooks",
]
