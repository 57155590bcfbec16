"""The resource classes reachable from a client (`purse.payments`, `purse.client_sessions`, ...).

One class per API resource, one method per endpoint.
"""

from ._client_sessions import AsyncClientSessions
from ._eligible_solutions import AsyncEligibleSolutions
from ._payments import AsyncPayments
from ._redirections import AsyncRedirections, AsyncSigningKeys
from ._webhooks import AsyncWebhooks

__all__ = [
    "AsyncClientSessions",
    "AsyncEligibleSolutions",
    "AsyncPayments",
    "AsyncRedirections",
    "AsyncSigningKeys",
    "AsyncWebhooks",
]
