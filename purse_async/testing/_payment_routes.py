"""Payment routes: get payment, eligible solutions, and the advanced flow's server-to-server
payment creation (split items with vault tokens naming magic cards, idempotency replays)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from . import _psp
from ._operations import complete_authorization
from ._payments import build_payment
from ._problems import ApiProblem, FieldErrors, read_json, write_conflict
from ._state import STATE, SandboxState
from ._validation import is_int, validate_request

__all__ = ["payment_routes"]

JSON = dict[str, Any]


def _holder(body: JSON, item: JSON) -> str:
    customer = body.get("customer") if isinstance(body.get("customer"), dict) else {}
    names = [customer.get("first_name"), customer.get("last_name")]  # type: ignore[union-attr]
    default = " ".join(n for n in names if isinstance(n, str) and n)
    holder = item.get("holder_name", default)
    return holder if isinstance(holder, str) else default


def _split_items(body: JSON) -> list[tuple[JSON, int]]:
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
        token = item.get("vault_form_token") or item.get("wallet_token")
        if not isinstance(token, str) or not token:
            errors.add(f"/split/{i}/vault_form_token", "vault_form_token is required")
        amount = item.get("amount", body["amount"] if len(split) == 1 else None)
        if not is_int(amount) or amount <= 0:
            errors.add(f"/split/{i}/amount", "each split item needs an integer amount > 0")
            continue
        items.append((item, amount))
    errors.raise_if_any()
    if sum(amount for _, amount in items) != body["amount"]:
        errors.add("/split", "the split amounts must add up to amount")
    if not isinstance(body["browser"], dict):
        errors.add("/browser", "browser must be an object")
    errors.raise_if_any()
    return items


def _authorize(state: SandboxState, body: JSON) -> list[JSON]:
    now, now_ts = state.clock.iso(), state.clock.now()
    transactions: list[JSON] = []
    for i, (item, amount) in enumerate(_split_items(body)):
        token = str(item.get("vault_form_token") or item.get("wallet_token"))
        if item.get("method") == "giftcard":
            transactions.append(_psp.authorize_gift_card(token, amount, now))
            continue
        try:
            # The sandbox vault: a form token is the card number itself, maybe prefixed.
            card = _psp.parse_card(token, _holder(body, item), str(item.get("expiry", "12/30")))
        except ValueError:
            raise ApiProblem(
                400,
                "Invalid request",
                "unknown vault token: use a card number, e.g. tok_4242424242424242",
                pointer=f"/split/{i}/vault_form_token",
                type_="urn:eu.purse:validation-error",
            ) from None
        partner = item.get("partner") if isinstance(item.get("partner"), str) else None
        transactions += _psp.authorize_card(card, amount, now, now_ts, first_psp=partner)
    if any(tx["status"] in ("REFUSED", "ERROR") for tx in transactions) and not any(
        tx["status"] == "AUTHORIZED" and tx["method"] != "giftcard" for tx in transactions
    ):
        _psp.compensate(transactions, now)
    return transactions


def create_payment(state: SandboxState, body: JSON) -> JSON:
    validate_request(state, body, ("entity_id", "amount", "currency", "split", "browser"))
    payment = build_payment(
        state, source=body, transactions=_authorize(state, body), client_session_id=None
    )
    if payment["authorization"]["status"] == "PENDING":
        # Advanced flow: the shopper must visit a page (3-D Secure) before the PSP decides.
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
            raise ApiProblem(404, "Not Found", "no such payment", type_="urn:eu.purse:not-found")
        return web.json_response(payment)

    async def create(request: web.Request) -> web.StreamResponse:
        state = request.app[STATE]
        body = await read_json(request)
        # No await from here on: the key check and the creation are atomic on the loop.
        key = request.headers.get("x-idempotency-key") or None
        first = state.replay_of("payments", key)
        if first is not None:
            return write_conflict(request.path, first)
        payment = create_payment(state, body)
        state.record_creation("payments", payment["id"], key)
        complete_authorization(state, payment)
        return web.json_response(payment, status=201)

    async def eligible(request: web.Request) -> web.StreamResponse:
        state = request.app[STATE]
        body = await read_json(request)
        validate_request(state, body, ("entity_id", "amount", "currency", "order"))
        solutions = [{"partner": p, "method": "creditcard"} for p in _psp.CARD_PSPS]
        solutions.append({"partner": _psp.GIFT_CARD_PSP, "method": "giftcard"})
        return web.json_response(
            {
                "amount": body["amount"],
                "currency": body["currency"],
                "eligible_solutions": solutions,
            }
        )

    return [
        web.get(prefix + "/payments/{id}", get),
        web.post(prefix + "/payments", create),
        web.post(prefix + "/eligible-solutions", eligible),
    ]
