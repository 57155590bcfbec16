"""Pay by Link: create / get routes, the link's hosted page (reusable until paid: each attempt is a
client session and a payment of its own), and the link status kept in step with its attempts.

Documented: a failed attempt reverts the link to OPENED, the first AUTHORIZED one locks it to PAID
and later attempts are rejected. The rest is the assumption of docs/payment-links.md.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

from aiohttp import web

from ._hosted import _card_form, _checkout_form, _page, _see_other
from ._problems import idempotent_create, not_found
from ._sessions import create_session, new_resource, redirection_for, submit_session
from ._state import STATE, SandboxState

__all__ = [
    "LinkClosedError",
    "attempt_payment_link",
    "create_payment_link",
    "link_listener",
    "payment_link_hosted_routes",
    "payment_link_routes",
]

JSON = dict[str, Any]
# Fields the server owns: a request can't set them by echo.
SERVER_FIELDS = (
    "id",
    "status",
    "version",
    "created_at",
    "updated_at",
    "links",
    "payment_id",
    "payment_ids",
)
# What an attempt's client session takes from its link.
SESSION_FIELDS = (
    "entity_id",
    "amount",
    "currency",
    "shopper_redirection_url",
    "order",
    "customer",
    "webhook",
    "capture_mode",
    "three_ds_authentication_options",
)
# The link status an attempt's authorization status leads to (any other: the attempt failed).
LINK_STATUS = {"AUTHORIZED": "PAID", "PENDING": "PENDING"}


class LinkClosedError(ValueError):
    """The link takes no attempt now: PAID (for good) or PENDING (an attempt awaits its outcome)."""


def create_payment_link(state: SandboxState, body: JSON) -> JSON:
    """A new OPENED link (version 1) from a create request; 400/403 `ApiProblem` if invalid."""
    now = state.clock.iso()
    fields = {
        "status": "OPENED",
        "version": 1,
        "created_at": now,
        "updated_at": now,
        "capture_mode": "MANUAL",
    }
    link = new_resource(
        state, body, fields=fields, server_fields=SERVER_FIELDS, hosted="payment-links"
    )
    link["payment_ids"] = []
    state.payment_links[link["id"]] = link
    return link


def _announce(state: SandboxState, link: JSON, status: str, payment_id: str) -> None:
    link["status"] = status
    link["payment_id"] = payment_id
    if payment_id not in link["payment_ids"]:
        link["payment_ids"].append(payment_id)
    link["version"] += 1
    link["updated_at"] = state.clock.iso()
    for listener in list(state.link_listeners):
        listener(link)


def link_listener(state: SandboxState) -> Callable[[JSON], None]:
    """The payment listener that keeps each link's status in step with its attempts: PENDING
    while one awaits its outcome, PAID (locked) once one is AUTHORIZED, else back to OPENED."""

    def payment_changed(payment: JSON) -> None:
        link_id = state.link_attempts.get(payment.get("client_session_id") or "")
        link = state.payment_links.get(link_id or "")
        if link is None or link["status"] == "PAID":
            return  # not an attempt, or the link is paid for good (captures change nothing)
        status = LINK_STATUS.get(payment["authorization"]["status"], "OPENED")
        if link.get("payment_id") == payment["id"] and link["status"] == status:
            return
        _announce(state, link, status, payment["id"])

    return payment_changed


def _redirection(state: SandboxState, link: JSON, session_id: str) -> str:
    """The customer's way back after an attempt: the session claims Purse documents, plus the
    link's id and status (assumption)."""
    claims = {"payment_link_id": link["id"], "payment_link_status": link["status"]}
    return redirection_for(state, state.sessions[session_id], claims)


def _check_open(link: JSON) -> None:
    if link["status"] == "PAID":
        raise LinkClosedError(f"payment link {link['id']} is PAID: further attempts are rejected")
    if link["status"] == "PENDING":
        raise LinkClosedError(
            f"payment link {link['id']} has an attempt awaiting its outcome (PENDING)"
        )


def attempt_payment_link(
    state: SandboxState,
    link: JSON,
    *,
    card: str,
    holder: str,
    expiry: str,
    gift_card: str | None,
    gift_card_amount: int | None,
) -> tuple[JSON, str]:
    """One payment attempt on the link (a client session of its own, paid through the PSPs):
    the payment and the redirection URL. `LinkClosedError` if the link is PAID or PENDING,
    `ValueError` (nothing changed) if the card input is unusable."""
    _check_open(link)
    body = {name: link[name] for name in SESSION_FIELDS if name in link}
    body["integration_mode"] = "HOSTED_PAGE"
    session = create_session(state, body)
    state.link_attempts[session["id"]] = link["id"]
    try:
        payment, _ = submit_session(
            state,
            session,
            card=card,
            holder=holder,
            expiry=expiry,
            gift_card=gift_card,
            gift_card_amount=gift_card_amount,
        )
    except ValueError:
        # Nothing was attempted: the session never existed for anyone.
        state.forget_session(session["id"])
        raise
    return payment, _redirection(state, link, session["id"])


def _link_or_404(state: SandboxState, request: web.Request) -> JSON:
    link = state.payment_links.get(request.match_info["id"])
    if link is None:
        raise not_found("no such payment link")
    return link


def payment_link_routes(prefix: str) -> list[web.RouteDef]:
    async def create(request: web.Request) -> web.StreamResponse:
        return await idempotent_create(request, "payment_links", create_payment_link)

    async def get(request: web.Request) -> web.StreamResponse:
        return web.json_response(_link_or_404(request.app[STATE], request))

    return [
        web.post(prefix + "/payment-links", create),
        web.get(prefix + "/payment-links/{id}", get),
    ]


# -- the customer's side: the link's hosted page ---------------------------------------------


def _closed_page(link: JSON) -> web.Response:
    if link["status"] == "PAID":
        text = "This payment link is already paid: no further payment is taken."
    else:
        text = "A payment on this link is awaiting its outcome: try again later."
    return _page(
        "Payment link closed",
        f'<h1>Payment link closed</h1><p class="error" id="error">{html.escape(text)}</p>',
        409,
    )


def _action(link: JSON) -> str:
    return f"/hosted/payment-links/{link['id']}/submit"


def _link_or_page(state: SandboxState, request: web.Request) -> JSON | web.Response:
    """The link, or the page saying there is none."""
    link = state.payment_links.get(request.match_info["id"])
    if link is None:
        return _page("Payment link not found", "<h1>Unknown payment link</h1>", 404)
    return link


async def link_page(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    link = _link_or_page(state, request)
    if isinstance(link, web.Response):
        return link
    if link["status"] == "PAID":
        # As for a submitted session: back to the shop with the signed outcome of the payment.
        session_id = state.payments[link["payment_id"]]["client_session_id"]
        return _see_other(_redirection(state, link, session_id))
    if link["status"] != "OPENED":
        return _closed_page(link)
    return _checkout_form(link, action=_action(link))


async def link_submit(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    link = _link_or_page(state, request)
    if isinstance(link, web.Response):
        return link
    form = await request.post()
    if link["status"] != "OPENED":
        return _closed_page(link)
    try:
        _, url = attempt_payment_link(state, link, **_card_form(form))
    except LinkClosedError:
        return _closed_page(link)
    except ValueError as exc:
        return _checkout_form(link, str(exc).capitalize() + ".", 400, action=_action(link))
    return _see_other(url)


def payment_link_hosted_routes() -> list[web.RouteDef]:
    return [
        web.get("/hosted/payment-links/{id}", link_page),
        web.post("/hosted/payment-links/{id}/submit", link_submit),
    ]
