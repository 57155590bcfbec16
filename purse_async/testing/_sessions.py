"""Client sessions: create (with idempotency replays) / get / abort routes, and the shopper's side
(submit through the PSPs, abort by the customer) ending in the signed redirection URL."""

from __future__ import annotations

import base64
import json
from typing import Any

from aiohttp import web

from . import _psp
from ._eligibility import card_route, describe, is_eligible
from ._jws import sign_redirection
from ._operations import complete_authorization
from ._payments import build_payment
from ._problems import ApiProblem, idempotent_create, not_found
from ._state import STATE, SandboxState, new_id
from ._validation import validate_request
from ._wallet import customer_reference

__all__ = ["abort_by_customer", "redirect_url", "session_routes", "submit_session"]

JSON = dict[str, Any]
# What a client session or a payment link is created from.
REQUIRED = ("entity_id", "amount", "currency", "shopper_redirection_url", "order")
# Fields the server owns: a request can't set them by echo.
SERVER_FIELDS = ("id", "status", "created_at", "expires_at", "widget", "links", "payment_id")


def _widget_data(state: SandboxState, session_id: str) -> str:
    # What a front-end SDK needs to reach this session; base64 of JSON, as the real blob is.
    blob = {
        "api_url": f"{state.base_url}/payment/v2",
        "client_session_id": session_id,
        "entity_id": state.credentials.entity_id,
        "environment": "sandbox",
    }
    return base64.b64encode(json.dumps(blob, separators=(",", ":")).encode()).decode()


def new_resource(
    state: SandboxState,
    body: JSON,
    *,
    fields: JSON,
    server_fields: tuple[str, ...],
    hosted: str,
) -> JSON:
    """A client session or payment link from a create request (400/403 `ApiProblem` if
    invalid): a new id, `fields`, the request's other fields echoed (`server_fields` can't
    be set so) and `links.hosted_page`, the page at `/hosted/<hosted>/<id>`."""
    validate_request(state, body, REQUIRED)
    resource_id = new_id()
    resource: JSON = {"id": resource_id, **fields}
    resource.update({k: v for k, v in body.items() if k not in server_fields})
    resource["links"] = {"hosted_page": f"{state.base_url}/hosted/{hosted}/{resource_id}"}
    return resource


def create_session(state: SandboxState, body: JSON) -> JSON:
    now = state.clock.now()
    fields = {
        "status": "CREATED",
        "created_at": state.clock.iso(now),
        "expires_at": state.clock.iso(now + state.session_ttl),
        "capture_mode": "MANUAL",
        "integration_mode": "EMBEDDED",
        "allow_future_usage": False,
    }
    session = new_resource(
        state, body, fields=fields, server_fields=SERVER_FIELDS, hosted="sessions"
    )
    session_id = session["id"]
    session["widget"] = {
        "js_url": f"{state.base_url}/static/purse-checkout.js",
        "data": _widget_data(state, session_id),
    }
    state.sessions[session_id] = session
    state.session_expiry[session_id] = now + state.session_ttl
    return session


def redirect_url(base: str, token: str) -> str:
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}purse-redirection-data={token}"


def redirection_for(state: SandboxState, session: JSON, extra_claims: JSON | None = None) -> str:
    """The shopper's way back: `shopper_redirection_url` + the signed session outcome (and
    `extra_claims`, e.g. a payment link's)."""
    claims: JSON = {"client_session_id": session["id"]}
    payment = state.payments.get(session.get("payment_id") or "")
    if payment is not None:
        claims["payment_id"] = payment["id"]
        claims["authorization_status"] = payment["authorization"]["status"]
    claims["client_session_status"] = session["status"]
    claims.update(extra_claims or {})
    return redirect_url(session["shopper_redirection_url"], sign_redirection(claims))


def submit_session(
    state: SandboxState,
    session: JSON,
    *,
    card: str,
    holder: str,
    expiry: str,
    gift_card: str | None,
    gift_card_amount: int | None,
) -> tuple[JSON, str]:
    """The shopper pays: authorize through the PSPs, create the payment, submit the session.
    `ValueError` (nothing changed) if the session is not open or the card input is unusable."""
    if session["status"] != "CREATED":
        raise ValueError(f"client session {session['id']} is {session['status']}")
    if gift_card_amount is not None and gift_card_amount < 0:
        raise ValueError("the gift card amount can't be negative")
    # An empty card is fine when a gift card covers it all; `authorize_checkout` says otherwise.
    parsed = _psp.parse_card(card, holder, expiry) if card.strip() else None
    amount, currency = session["amount"], session["currency"]
    if gift_card and not is_eligible(_psp.GIFT_CARD_PSP, "giftcard", amount, currency):
        raise ValueError(f"gift cards are not accepted here ({describe(amount, currency)})")
    route = card_route(amount, currency)
    if parsed is not None and not route:
        raise ValueError(f"cards are not accepted here ({describe(amount, currency)})")
    transactions = _psp.authorize_checkout(
        card=parsed,
        amount=amount,
        now=state.clock.iso(),
        now_ts=state.clock.now(),
        route=route,
        gift_card=gift_card,
        gift_card_amount=gift_card_amount,
    )
    if parsed is not None and session.get("allow_future_usage") is True:
        state.wallet.save_when_authorized(transactions, parsed, customer_reference(session))
    payment = build_payment(
        state, source=session, transactions=transactions, client_session_id=session["id"]
    )
    session["status"] = "SUBMITTED"
    session["payment_id"] = payment["id"]
    complete_authorization(state, payment)
    return payment, redirection_for(state, session)


def abort_by_customer(state: SandboxState, session: JSON) -> str:
    """The shopper cancels on the hosted page; the signed redirection URL."""
    if session["status"] != "CREATED":
        raise ValueError(f"client session {session['id']} is {session['status']}")
    session["status"] = "ABORTED_BY_CUSTOMER"
    return redirection_for(state, session)


def _session_or_404(state: SandboxState, request: web.Request) -> JSON:
    session = state.session(request.match_info["id"])
    if session is None:
        raise not_found("no such client session")
    return session


def session_routes(prefix: str) -> list[web.RouteDef]:
    async def create(request: web.Request) -> web.StreamResponse:
        # A new session has no payment yet: it is its own `session_view`.
        return await idempotent_create(request, "client_sessions", create_session)

    async def get(request: web.Request) -> web.StreamResponse:
        state = request.app[STATE]
        return web.json_response(state.session_view(_session_or_404(state, request)))

    async def abort(request: web.Request) -> web.StreamResponse:
        state = request.app[STATE]
        session = _session_or_404(state, request)
        if session["status"] != "CREATED":
            raise ApiProblem(
                409,
                "Client session not open",
                f"the client session is {session['status']}; only CREATED sessions can be aborted",
                type_="urn:eu.purse:client-session-closed",
            )
        session["status"] = "ABORTED_BY_MERCHANT"
        accept = request.headers.get("Accept", "")
        if "text/html" in accept and "application/json" not in accept:
            # As Purse's hosted page does after an abort: a browser goes back to the shop.
            location = session["shopper_redirection_url"]
            return web.Response(status=303, headers={"Location": location})
        return web.json_response(state.session_view(session))

    return [
        web.post(prefix + "/client-sessions", create),
        web.get(prefix + "/client-sessions/{id}", get),
        web.post(prefix + "/client-sessions/{id}/abort", abort),
    ]
