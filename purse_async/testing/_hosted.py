"""The shopper's pages: the hosted checkout at `links.hosted_page` (a plain HTML form that submits
or cancels the session, then 303s to the signed redirection) and the advanced flow's 3DS page."""

from __future__ import annotations

import html
from typing import Any, TypedDict

from aiohttp import web

from . import _psp
from ._operations import complete_authorization
from ._payments import settle
from ._sessions import abort_by_customer, redirection_for, submit_session
from ._state import STATE, SandboxState

__all__ = ["hosted_routes"]

JSON = dict[str, Any]
STYLE = (
    "body{font-family:sans-serif;max-width:30rem;margin:2rem auto}label{display:block;"
    "margin:.6rem 0}input{width:100%;padding:.3rem}.error{color:#b00}code{font-size:.85em}"
)
MAGIC = "".join(
    f"<li><code>{number}</code> {html.escape(text)}</li>"
    for number, text in [
        (_psp.MagicCards.AUTHORIZED, "authorized"),
        (_psp.MagicCards.REFUSED, "refused"),
        (_psp.MagicCards.SOFT_DECLINE_CASCADE, "soft decline, cascade, authorized"),
        (_psp.MagicCards.SOFT_DECLINE_FIRST_PSP, "soft decline at ingenico, no cascade"),
        (_psp.MagicCards.ERROR, "technical error"),
        (_psp.MagicCards.PENDING, "pending"),
        (_psp.MagicCards.THREE_DS_CHALLENGE, "3-D Secure challenge, authorized"),
    ]
)


def _page(title: str, body: str, status: int = 200) -> web.Response:
    text = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>{body}</body></html>"
    )
    return web.Response(status=status, text=text, content_type="text/html")


def _checkout_form(
    session: JSON, error: str | None = None, status: int = 200, *, action: str | None = None
) -> web.Response:
    """The card form of a session, or (`action`: where it posts) of a payment link, which has
    no cancel button: the link stays payable."""
    sid = html.escape(session["id"])
    cancel = f"""<form method="post" action="/hosted/sessions/{sid}/cancel">
<button id="cancel" type="submit">Cancel and return to the shop</button></form>"""
    target = html.escape(action or f"/hosted/sessions/{session['id']}/submit")
    if action is not None:
        cancel = ""
    order = session.get("order") if isinstance(session.get("order"), dict) else {}
    reference = html.escape(str(order.get("reference", "")))  # type: ignore[union-attr]
    amount = f"{session['amount'] / 100:.2f} {html.escape(session['currency'])}"
    problem = f'<p class="error" id="error">{html.escape(error)}</p>' if error else ""
    body = f"""<h1>Pay {amount}</h1><p>Order {reference} &middot; Purse sandbox: no real money.</p>
{problem}<form method="post" action="{target}">
<label>Card number <input id="card-number" name="card_number" autocomplete="off"
 value="{_psp.MagicCards.AUTHORIZED}"></label>
<label>Expiry (MM/YY) <input id="expiry" name="expiry" value="12/30"></label>
<label>Card holder <input id="holder" name="holder" value=""></label>
<label>CVC <input id="cvc" name="cvc" value="123"></label>
<fieldset><legend>Gift card (optional)</legend>
<label>Number <input id="gift-card" name="gift_card"></label>
<label>Amount in minor units <input id="gift-card-amount" name="gift_card_amount"></label>
</fieldset>
<button id="pay" type="submit">Pay</button></form>
{cancel}
<details><summary>Test cards</summary><ul>{MAGIC}</ul></details>"""
    return _page("Purse sandbox checkout", body, status)


def _see_other(url: str) -> web.Response:
    return web.Response(status=303, headers={"Location": url})


def _lookup(state: SandboxState, request: web.Request) -> JSON | web.Response:
    """The open session, or the answer for one that can't be paid."""
    session = state.session(request.match_info["id"])
    if session is None:
        return _page("Checkout not found", "<h1>Unknown checkout session</h1>", 404)
    if session["status"] != "CREATED":
        # The documented behaviour for a session that can't be paid any more: back to the shop,
        # with the signed outcome (a refresh after paying lands the shopper there again).
        return _see_other(redirection_for(state, session))
    return session


def _field(form: Any, *names: str) -> str:
    for name in names:
        value = form.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


class CardForm(TypedDict):
    """What the checkout form posts, as `submit_session` takes it."""

    card: str
    holder: str
    expiry: str
    gift_card: str | None
    gift_card_amount: int | None


def _card_form(form: Any) -> CardForm:
    """The card input of a posted checkout form; `ValueError` (shown on the form) if the gift
    card amount is not a whole number."""
    gift_amount = _field(form, "gift_card_amount", "gift-card-amount")
    if gift_amount and not gift_amount.isdigit():
        raise ValueError("the gift card amount is a whole number of cents")
    return CardForm(
        card=_field(form, "card_number", "card-number"),
        holder=_field(form, "holder"),
        expiry=_field(form, "expiry") or "12/30",
        gift_card=_field(form, "gift_card", "gift-card") or None,
        gift_card_amount=int(gift_amount) if gift_amount else None,
    )


async def page(request: web.Request) -> web.StreamResponse:
    session = _lookup(request.app[STATE], request)
    return session if isinstance(session, web.Response) else _checkout_form(session)


async def submit(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    session = _lookup(state, request)
    if isinstance(session, web.Response):
        return session
    form = await request.post()
    try:
        _, url = submit_session(state, session, **_card_form(form))
    except ValueError as exc:
        return _checkout_form(session, str(exc).capitalize() + ".", 400)
    return _see_other(url)


async def cancel(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    session = _lookup(state, request)
    if isinstance(session, web.Response):
        return session
    return _see_other(abort_by_customer(state, session))


async def authenticate(request: web.Request) -> web.StreamResponse:
    """Advanced flow 3-D Secure: the page a PENDING payment's `redirection.href` points to."""
    state = request.app[STATE]
    payment_id = request.match_info["id"]
    payment = state.payments.get(payment_id)
    if payment is None or payment["authorization"]["status"] != "PENDING":
        return _page("Nothing to authenticate", "<h1>Nothing to authenticate</h1>", 404)
    if request.method == "GET":
        pid = html.escape(payment_id)
        return _page(
            "3-D Secure (sandbox)",
            f"""<h1>3-D Secure</h1><p>Sandbox issuer: approve or decline.</p>
<form method="post" action="/hosted/payments/{pid}/authenticate">
<button id="authenticate" name="outcome" value="AUTHORIZED">Approve</button>
<button id="decline" name="outcome" value="REFUSED">Decline</button></form>""",
        )
    form = await request.post()
    outcome = "REFUSED" if form.get("outcome") == "REFUSED" else "AUTHORIZED"
    complete_authorization(state, settle(state, payment_id, outcome))
    back = state.return_urls.get(payment_id)
    if back:
        return _see_other(back)
    return _page("Authenticated", f"<h1>Payment {outcome.lower()}</h1>")


async def widget_js(request: web.Request) -> web.StreamResponse:
    return web.Response(
        content_type="application/javascript",
        text="/* Purse sandbox: no embedded widget; send the shopper to links.hosted_page. */\n",
    )


def hosted_routes() -> list[web.RouteDef]:
    return [
        web.get("/hosted/sessions/{id}", page),
        web.post("/hosted/sessions/{id}/submit", submit),
        web.post("/hosted/sessions/{id}/cancel", cancel),
        web.get("/hosted/sessions/{id}/cancel", cancel),
        web.get("/hosted/payments/{id}/authenticate", authenticate),
        web.post("/hosted/payments/{id}/authenticate", authenticate),
        web.get("/static/purse-checkout.js", widget_js),
    ]
