"""Payment routes: get payment, eligible solutions, and server-to-server payment creation: the
advanced flow's CIT (vault tokens naming magic cards, 3-D Secure) and MIT on a saved wallet token.

A split item `{"wallet_token": "wt_...", "amount": N}` alone, without `vault_form_token`, is a
merchant-initiated payment (assumption, docs/sandbox.md): no 3-D Secure, no `browser` needed.
"""

from __future__ import annotations

from typing import Any

import attrs
from aiohttp import web

from . import _psp
from ._eligibility import card_route, describe, eligible, is_eligible
from ._operations import complete_authorization
from ._payments import build_payment
from ._problems import ApiProblem, FieldErrors, idempotent_create, not_found, read_json
from ._state import STATE, SandboxState
from ._validation import is_int, validate_request
from ._wallet import customer_reference

__all__ = ["create_payment", "is_mit", "payment_routes"]

JSON = dict[str, Any]
CARD, GIFT = "creditcard", "giftcard"


@attrs.frozen
class _Share:
    """One split item, checked: how much, by which method, along which partners, which card."""

    index: int
    item: JSON
    amount: int
    method: str
    route: list[str]
    card: _psp.CardInput | None


def is_mit(body: JSON) -> bool:
    """Merchant-initiated: one card split item naming a `wallet_token`, no `vault_form_token`
    (no shopper at hand, so no fresh card form and no 3-D Secure)."""
    split = body.get("split")
    if not (isinstance(split, list) and len(split) == 1 and isinstance(split[0], dict)):
        return False
    item = split[0]
    card = item.get("method", CARD) == CARD
    return card and item.get("wallet_token") is not None and not item.get("vault_form_token")


def _unprocessable(index: int, field: str, detail: str, type_: str) -> ApiProblem:
    # The pointer names the field; the detail names it as code would (split[0].partner).
    return ApiProblem(
        422,
        "Unprocessable request",
        f"split[{index}].{field}: {detail}",
        pointer=f"/split/{index}/{field}",
        type_=type_,
    )


def _holder(body: JSON, item: JSON) -> str:
    customer = body.get("customer") if isinstance(body.get("customer"), dict) else {}
    names = [customer.get("first_name"), customer.get("last_name")]  # type: ignore[union-attr]
    default = " ".join(n for n in names if isinstance(n, str) and n)
    holder = item.get("holder_name", default)
    return holder if isinstance(holder, str) else default


def _split_items(body: JSON, mit: bool) -> list[tuple[JSON, int]]:
    """The split items with the amount each one carries; a 400 naming every bad item."""
    split = body["split"]
    errors = FieldErrors()
    if not isinstance(split, list) or not split:
        errors.add("/split", "split must be a non-empty list")
        errors.raise_if_any()
    items: list[tuple[JSON, int]] = []
    for i, item in enumerate(split):
        if not isinstance(item, dict):
            errors.add(f"/split/{i}", "each split item is an object")
            continue
        wallet = item.get("wallet_token")
        if wallet is not None and not (isinstance(wallet, str) and wallet):
            errors.add(f"/split/{i}/wallet_token", "wallet_token must be a token string")
        token = item.get("vault_form_token") or wallet
        if not isinstance(token, str) or not token:
            errors.add(f"/split/{i}/vault_form_token", "vault_form_token is required")
        for name in ("partner", "method"):
            if name in item and not (isinstance(item[name], str) and item[name]):
                errors.add(f"/split/{i}/{name}", f"{name} must be a name")
        if not isinstance(item.get("save_token", False), bool):
            errors.add(f"/split/{i}/save_token", "save_token must be a boolean")
        amount = item.get("amount", body["amount"] if len(split) == 1 else None)
        if not is_int(amount) or amount <= 0:
            errors.add(f"/split/{i}/amount", "each split item needs an integer amount > 0")
            continue
        items.append((item, amount))
    errors.raise_if_any()
    if sum(amount for _, amount in items) != body["amount"]:
        errors.add("/split", "the split amounts must add up to amount")
    # An MIT has no shopper's browser; when one is sent anyway it must still be an object.
    if (not mit or "browser" in body) and not isinstance(body.get("browser"), dict):
        errors.add("/browser", "browser must be an object")
    errors.raise_if_any()
    return items


def _route(body: JSON, index: int, item: JSON, method: str) -> list[str]:
    """The partners this item goes to, in order; a 422 if the one named (or every one) is not
    eligible for the payment's amount and currency."""
    amount, currency = body["amount"], body["currency"]
    partner = item.get("partner")
    if partner is not None and not is_eligible(partner, method, amount, currency):
        detail = f"{partner} ({method}) is not eligible; {describe(amount, currency)}"
        raise _unprocessable(index, "partner", detail, "urn:eu.purse:solution-not-eligible")
    if method == CARD:
        route = card_route(amount, currency, partner)
    else:
        route = [partner] if partner else [s.partner for s in eligible(amount, currency, method)]
    if not route:
        detail = f"no partner is eligible for {method}; {describe(amount, currency)}"
        raise _unprocessable(index, "partner", detail, "urn:eu.purse:solution-not-eligible")
    return route


def _card(state: SandboxState, body: JSON, index: int, item: JSON) -> _psp.CardInput:
    """The card a card item pays with: the saved card behind its `wallet_token`, else the card
    its vault token names (the sandbox vault: a form token is the number, maybe prefixed)."""
    if item.get("wallet_token") is not None:
        saved = state.wallet.get(item["wallet_token"])
        if saved is None:
            detail = "no saved card has this wallet token"
            raise _unprocessable(index, "wallet_token", detail, "urn:eu.purse:unknown-wallet-token")
        # Assumption (docs/sandbox.md): a payment naming its customer may only use that
        # customer's saved cards. Without customer.reference (Purse's docs say nothing) or on a
        # token saved without one, there is no owner to compare, so it is accepted.
        reference = customer_reference(body)
        owner = saved.customer_reference
        if reference is not None and owner is not None and owner != reference:
            detail = "the token belongs to another customer than customer.reference"
            type_ = "urn:eu.purse:wallet-token-of-another-customer"
            raise _unprocessable(index, "wallet_token", detail, type_)
        return saved.card
    try:
        expiry = str(item.get("expiry", "12/30"))
        return _psp.parse_card(str(item["vault_form_token"]), _holder(body, item), expiry)
    except ValueError:
        raise ApiProblem(
            400,
            "Invalid request",
            "unknown vault token: use a card number, e.g. tok_4242424242424242",
            pointer=f"/split/{index}/vault_form_token",
            type_="urn:eu.purse:validation-error",
        ) from None


def _shares(state: SandboxState, body: JSON, mit: bool) -> list[_Share]:
    """Every item checked before any is authorized: a refusal leaves nothing behind."""
    shares = []
    for i, (item, amount) in enumerate(_split_items(body, mit)):
        method = item.get("method") or (GIFT if item.get("partner") == _psp.GIFT_CARD_PSP else CARD)
        route = _route(body, i, item, method)
        card = _card(state, body, i, item) if method == CARD else None
        shares.append(_Share(i, item, amount, method, route, card))
    return shares


def _authorize(state: SandboxState, body: JSON, mit: bool) -> list[JSON]:
    now, now_ts = state.clock.iso(), state.clock.now()
    save = body.get("allow_future_usage") is True
    transactions: list[JSON] = []
    for share in _shares(state, body, mit):
        if share.card is None:
            token = str(share.item.get("vault_form_token") or share.item.get("wallet_token"))
            transactions.append(_psp.authorize_gift_card(token, share.amount, now))
            continue
        attempts = _psp.authorize_card(
            share.card, share.amount, now, now_ts, route=share.route, three_ds=not mit
        )
        if save or share.item.get("save_token") is True:
            state.wallet.save_when_authorized(attempts, share.card, customer_reference(body))
        transactions += attempts
    if any(tx["status"] in ("REFUSED", "ERROR") for tx in transactions) and not any(
        tx["status"] == "AUTHORIZED" and tx["method"] != GIFT for tx in transactions
    ):
        _psp.compensate(transactions, now)
    return transactions


def create_payment(state: SandboxState, body: JSON) -> JSON:
    mit = is_mit(body)
    required = ("entity_id", "amount", "currency", "split") + (() if mit else ("browser",))
    validate_request(state, body, required)
    payment = build_payment(
        state, source=body, transactions=_authorize(state, body, mit), client_session_id=None
    )
    if payment["authorization"]["status"] == "PENDING" and not mit:
        # Advanced flow: the shopper must visit a page (3-D Secure) before the PSP decides.
        # An MIT has no shopper: it stays PENDING until the PSP settles it (pending_delay).
        payment["redirection"] = {
            "href": f"{state.base_url}/hosted/payments/{payment['id']}/authenticate",
            "method": "GET",
            "media_type": "text/html",
        }
    return payment


def payment_routes(prefix: str) -> list[web.RouteDef]:
    async def get(request: web.Request) -> web.StreamResponse:
        payment = request.app[STATE].payments.get(request.match_info["id"])
        if payment is None:
            raise not_found("no such payment")
        return web.json_response(payment)

    async def create(request: web.Request) -> web.StreamResponse:
        return await idempotent_create(request, "payments", create_payment, complete_authorization)

    async def eligible_solutions(request: web.Request) -> web.StreamResponse:
        state = request.app[STATE]
        body = await read_json(request)
        validate_request(state, body, ("entity_id", "amount", "currency", "order"))
        method = body.get("method")
        if method is not None and not isinstance(method, str):
            errors = FieldErrors()
            errors.add("/method", "method must be a method name, e.g. creditcard")
            errors.raise_if_any()
        found = eligible(body["amount"], body["currency"], method)
        return web.json_response(
            {
                "amount": body["amount"],
                "currency": body["currency"],
                "eligible_solutions": [s.as_json() for s in found],
            }
        )

    return [
        web.get(prefix + "/payments/{id}", get),
        web.post(prefix + "/payments", create),
        web.post(prefix + "/eligible-solutions", eligible_solutions),
    ]
