"""The Wallet API v3 route of the sandbox: a customer's saved tokens, from `state.wallet`.

Installed beside the Payment API routes; `_auth.auth_middleware` guards `WALLET_PREFIX` too.
"""

from __future__ import annotations

from aiohttp import web

from ._problems import ApiProblem
from ._state import STATE

__all__ = ["WALLET_PREFIX", "wallet_routes"]

#: Outside the Payment API's `/payment/v2` (docs: token-payment).
WALLET_PREFIX = "/wallet/v3/wallet"


def wallet_routes() -> list[web.RouteDef]:
    """`GET {WALLET_PREFIX}/merchants/{merchant_id}/customers/{customer_reference}/tokens`,
    behind the same bearer token and `x-api-key` checks as the Payment API."""

    async def list_tokens(request: web.Request) -> web.StreamResponse:
        wallet = request.app[STATE].wallet
        if request.match_info["merchant_id"] != wallet.merchant_id:
            raise ApiProblem(
                403,
                "Forbidden",
                "merchant_id does not belong to these credentials",
                type_="urn:eu.purse:forbidden",
            )
        tokens = wallet.tokens_of(request.match_info["customer_reference"])
        return web.json_response(
            {"integrated_tokens": [saved.as_json(wallet.merchant_id) for saved in tokens]}
        )

    path = WALLET_PREFIX + "/merchants/{merchant_id}/customers/{customer_reference}/tokens"
    return [web.get(path, list_tokens)]
