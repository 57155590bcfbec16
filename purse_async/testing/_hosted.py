"""The hosted checkout page at `links.hosted_page`: a minimal HTML form a person (or a headless
browser) fills in; submitting it authorizes and answers 303 to the signed redirection."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from ._sandbox import Sandbox

__all__ = ["hosted_routes"]

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Purse sandbox checkout</title>
<style>body{{font-family:sans-serif;max-width:28rem;margin:2rem auto}}label{{display:block;
margin:.6rem 0}}input{{width:100%;padding:.3rem}}</style></head>
<body><h1>Pay {amount}</h1><p>Order {reference} &middot; sandbox: no real money moves.</p>
<form method="post" action="/hosted/sessions/{sid}/submit">
<label>Card number <input id="card-number" name="card_number" autocomplete="off"
 value="4242424242424242"></label>
<label>Expiry (MM/YY) <input id="expiry" name="expiry" value="12/30"></label>
<label>Card holder <input id="holder" name="holder" value=""></label>
<label>CVC <input id="cvc" name="cvc" value="123"></label>
<fieldset><legend>Gift card (optional)</legend>
<label>Number <input id="gift-card" name="gift_card"></label>
<label>Amount (minor units) <input id="gift-card-amount" name="gift_card_amount"></label>
</fieldset>
<button id="pay" type="submit">Pay</button></form>
<form method="post" action="/hosted/sessions/{sid}/cancel">
<button id="cancel" type="submit">Cancel and return to the shop</button></form>
</body></html>
"""

ERROR_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Checkout unavailable</title></head><body><h1>{title}</h1></body></html>"""


def hosted_routes(sb: Sandbox) -> list[web.RouteDef]:
    state = sb.state

    def _open_session(request: web.Request) -> dict[str, Any] | web.Response:
        session = state.session(request.match_info["id"])
        if session is None:
            return web.Response(
                status=404,
                content_type="text/html",
                text=ERROR_PAGE.format(title="Unknown checkout session"),
            )
        if session["status"] != "CREATED":
            return web.Response(
                status=409,
                content_type="text/html",
                text=ERROR_PAGE.format(title=f"This checkout is {session['status'].lower()}"),
            )
        return session

    async def page(request: web.Request) -> web.StreamResponse:
        session = _open_session(request)
        if isinstance(session, web.Response):
            return session
        amount = f"{int(str(session['amount'])) / 100:.2f} {session['currency']}"
        order = session.get("order") or {}
        reference = order.get("reference", "") if isinstance(order, dict) else ""
        return web.Response(
            content_type="text/html",
            text=PAGE.format(
                amount=html.escape(amount),
                reference=html.escape(str(reference)),
                sid=html.escape(str(session["id"])),
            ),
        )

    async def submit(request: web.Request) -> web.StreamResponse:
        session = _open_session(request)
        if isinstance(session, web.Response):
            return session
        form = await request.post()
        gift_amount = str(form.get("gift_card_amount") or "").strip()
        _, url = state.submit_session(
            session,
            card=str(form.get("card_number", "")),
            holder=str(form.get("holder", "")),
            expiry=str(form.get("expiry", "12/30")),
            gift_card=str(form.get("gift_card") or "").strip() or None,
            gift_card_amount=int(gift_amount) if gift_amount.isdigit() else None,
        )
        sb.payment_changed(state.payments[session["payment_id"]])
        raise web.HTTPSeeOther(url)

    async def cancel(request: web.Request) -> web.StreamResponse:
        session = _open_session(request)
        if isinstance(session, web.Response):
            return session
        raise web.HTTPSeeOther(state.abort_by_customer(session))

    async def widget_js(request: web.Request) -> web.StreamResponse:
        return web.Response(
            content_type="application/javascript",
            text="/* Purse sandbox: use links.hosted_page to pay. */\n",
        )

    return [
        web.get("/hosted/sessions/{id}", page),
        web.post("/hosted/sessions/{id}/submit", submit),
        web.post("/hosted/sessions/{id}/cancel", cancel),
        web.get("/static/purse-checkout.js", widget_js),
    ]
