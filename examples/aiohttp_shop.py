"""An aiohttp.web shop paying with Purse through `purse_async` (the async twin of django_shop).

`python examples/aiohttp_shop.py [--port 8080]`, then open http://127.0.0.1:8080/ and pay with
4242424242424242 on the hosted page. Without PURSE_* credentials in the environment it runs on
an embedded sandbox (no credentials, no network); with them (e.g. `eval` the exports of
`python -m purse_async sandbox`, or real ones) it talks to that Purse. Shoppers come back to
SHOP_BASE_URL (default: the address it listens on).

The return view trusts nothing the shopper brings: the redirection must be signed by Purse AND
be for the client session created for this order (a token of another checkout is refused), and
the payment must be for this order's amount, currency and reference (`payment.check`).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import html
import os
import secrets
from collections.abc import AsyncIterator
from urllib.parse import urlencode

from aiohttp import web

import purse_async


@dataclasses.dataclass
class Order:
    """What the shop keeps per order (a real shop: columns of its order table)."""

    reference: str
    amount: int
    currency: str
    client_session_id: str
    payment_id: str | None = None  # set once a payment matching the order is authorized


PURSE = web.AppKey("purse", purse_async.AsyncPurse)
#: The orders by reference (in memory: one process, for the example).
ORDERS = web.AppKey("orders", dict[str, Order])
#: Where shoppers reach this shop (the return URL is SHOP_BASE_URL/payment/return/).
SHOP_BASE_URL = web.AppKey("shop_base_url", str)
#: What the shop sells: name, price in minor units, currency.
PRODUCT = ("A Purse T-shirt", 12000, "EUR")
#: The credentials that, when any is set, make the app use PURSE_* instead of a sandbox.
CREDENTIAL_VARIABLES = (
    "PURSE_CLIENT_ID",
    "PURSE_CLIENT_SECRET",
    "PURSE_API_KEY",
    "PURSE_ENTITY_ID",
)


@dataclasses.dataclass(frozen=True)
class WebhookConfig:
    """The webhook endpoint's checks: the x-purse-signature secret if Purse signs your webhooks
    (None: no signature check), the source addresses (None: Purse's documented ones)."""

    secret: str | None = os.environ.get("SHOP_WEBHOOK_SECRET") or None
    allowlist: tuple[str, ...] | None = (
        tuple(os.environ["SHOP_WEBHOOK_ALLOWLIST"].split(","))
        if os.environ.get("SHOP_WEBHOOK_ALLOWLIST")
        else None
    )


WEBHOOKS = web.AppKey("webhooks", WebhookConfig)


async def _create_checkout(
    app: web.Application, reference: str, amount: int, currency: str
) -> purse_async.ClientSession:
    """A client session for the order, stored with it (replacing an earlier checkout's)."""
    session = await app[PURSE].client_sessions.create(
        amount=amount,
        currency=currency,
        # The order travels in the return URL: the return view finds the session to expect.
        shopper_redirection_url=(
            f"{app[SHOP_BASE_URL]}/payment/return/?{urlencode({'order': reference})}"
        ),
        order={"reference": reference, "net_amount": amount},
    )
    # A new checkout of the order replaces the previous session: its return is refused now.
    app[ORDERS][reference] = Order(reference, amount, currency, session.id)
    return session


async def home(request: web.Request) -> web.Response:
    name, amount, currency = PRODUCT
    price = html.escape(f"{amount / 100:.2f} {currency}")
    # A real shop protects this form against CSRF (e.g. aiohttp-session + a token).
    return web.Response(
        text=f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Example shop</title></head><body><h1>Example shop</h1>
<p id="product">{html.escape(name)}: {price}</p>
<form method="post" action="/buy/"><button id="buy" type="submit">Pay {price}</button></form>
<p>Purse sandbox cards: 4242424242424242 is authorized, 4000000000000002 refused.</p>
</body></html>""",
        content_type="text/html",
    )


async def buy(request: web.Request) -> web.Response:
    """The shop's button: a new order of the product, then on to Purse's hosted page."""
    _, amount, currency = PRODUCT
    reference = f"AIO-{secrets.token_hex(4).upper()}"
    session = await _create_checkout(request.app, reference, amount, currency)
    if session.links is None or not session.links.hosted_page:
        return web.json_response({"error": "Purse gave no hosted page"}, status=502)
    raise web.HTTPSeeOther(session.links.hosted_page)


async def checkout(request: web.Request) -> web.Response:
    data = await request.json()
    orders = request.app[ORDERS]
    try:
        reference, amount = data["order_reference"], data["amount"]
        currency = data.get("currency", "EUR")
        known = orders.get(reference)
        if known is not None and known.payment_id is not None:
            return web.json_response({"error": f"order {reference} is already paid"}, status=409)
        session = await _create_checkout(request.app, reference, amount, currency)
    except (KeyError, purse_async.ValidationError) as exc:
        return web.json_response({"error": str(exc)}, status=400)
    return web.json_response(
        {
            "client_session_id": session.id,
            "hosted_page": session.links.hosted_page if session.links else None,
        },
        status=201,
    )


async def payment_return(request: web.Request) -> web.Response:
    purse = request.app[PURSE]
    order = request.app[ORDERS].get(request.query.get("order", ""))
    if order is None:
        return web.json_response({"error": "unknown order"}, status=404)
    try:
        # Signed by Purse, and for the session created for this order: a token of another
        # checkout (another order, another shopper) replayed on this URL is refused.
        redirect = await purse.redirections.verify(
            str(request.rel_url), expected_client_session_id=order.client_session_id
        )
    except purse_async.SignatureVerificationError as exc:
        return web.json_response({"error": f"invalid redirection: {exc}"}, status=400)
    if redirect.payment_id is None:
        return web.json_response({"status": str(redirect.client_session_status)})
    payment = await purse.payments.retrieve(redirect.payment_id)
    status = payment.authorization.status if payment.authorization else None
    if status == purse_async.AuthorizationStatus.AUTHORIZED:
        try:
            # Not the status alone: what was authorized must be what the order costs.
            payment.check(
                amount=order.amount, currency=order.currency, order_reference=order.reference
            )
        except purse_async.PaymentMismatchError as exc:
            return web.json_response(
                {"error": str(exc), "mismatches": list(exc.mismatches)}, status=409
            )
        order.payment_id = payment.id
    return web.json_response(
        {"payment_id": payment.id, "status": str(status), "order_reference": order.reference}
    )


async def capture(request: web.Request) -> web.Response:
    data = await request.json()
    try:
        operation = await request.app[PURSE].payments.capture(
            request.match_info["payment_id"],
            amount=data.get("amount"),
            idempotency_key=data.get("idempotency_key"),
        )
    except purse_async.APIStatusError as exc:
        return web.json_response({"error": str(exc)}, status=exc.status)
    return web.json_response(
        {"capture_id": operation.id, "amount": operation.amount, "replayed": operation.replayed},
        status=201,
    )


async def purse_webhook(request: web.Request) -> web.Response:
    """Purse's webhook (POST, the payment JSON): vetted, deduplicated, then applied to the order.

    `await request.read()` is the raw body the signature was computed over (never re-encode
    `await request.json()`); `request.remote` is the peer: behind a reverse proxy, pass the
    client address your proxy sets instead (and only one you trust it to set).
    """
    config = request.app[WEBHOOKS]
    try:
        event = await request.app[PURSE].webhooks.process(
            await request.read(),
            headers=request.headers,
            remote_ip=request.remote or "",
            secret=config.secret,
            allowlist=config.allowlist,
            refetch=True,  # act on the payment as the API shows it now
        )
    except (purse_async.WebhookError, purse_async.SignatureVerificationError) as exc:
        # An untrusted source, a bad signature or an unreadable body: refused, not applied.
        return web.json_response({"error": str(exc)}, status=400)
    if event.is_new:
        _apply_payment(request.app[ORDERS], event.payment)
    # Duplicates and stale versions are answered 200 too: Purse need not send them again.
    return web.json_response(
        {"payment_id": event.payment_id, "version": event.version, "reason": event.reason}
    )


def _apply_payment(orders: dict[str, Order], payment: purse_async.Payment) -> None:
    """Mark the order paid when the payment authorized it (the shopper may never come back to
    the return URL): same checks as the return view."""
    order = orders.get(payment.order_reference or "")
    status = payment.authorization.status if payment.authorization else None
    if (
        order is None
        or order.payment_id is not None
        or status != purse_async.AuthorizationStatus.AUTHORIZED
        or payment.client_session_id != order.client_session_id
    ):
        return
    try:
        payment.check(amount=order.amount, currency=order.currency, order_reference=order.reference)
    except purse_async.PaymentMismatchError:
        return
    order.payment_id = payment.id


def make_app(
    purse_kwargs: dict[str, object] | None = None, *, base_url: str | None = None
) -> web.Application:
    """The app; one AsyncPurse for its lifetime, closed on cleanup.

    The client: `purse_kwargs` if given, else PURSE_* if any credential is set there, else an
    embedded sandbox started with the app. `base_url`: where shoppers reach the shop
    (default SHOP_BASE_URL, else http://127.0.0.1:8080).
    """
    app = web.Application()
    app[ORDERS] = {}
    app[WEBHOOKS] = WebhookConfig()
    app[SHOP_BASE_URL] = (
        base_url or os.environ.get("SHOP_BASE_URL") or "http://127.0.0.1:8080"
    ).rstrip("/")

    async def purse_ctx(app: web.Application) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            if purse_kwargs:
                client = purse_async.AsyncPurse(**purse_kwargs)  # type: ignore[arg-type]
            elif any(os.environ.get(name) for name in CREDENTIAL_VARIABLES):
                client = purse_async.AsyncPurse.from_env()
            else:
                # No credentials: an emulated Purse on loopback, for this process's lifetime.
                from purse_async.testing import Sandbox

                sandbox = await stack.enter_async_context(Sandbox())
                print(
                    f"No PURSE_* credentials: using an embedded sandbox at {sandbox.base_url}",
                    flush=True,
                )
                client = sandbox.client()
            app[PURSE] = await stack.enter_async_context(client)
            yield

    app.cleanup_ctx.append(purse_ctx)
    app.router.add_get("/", home)
    app.router.add_post("/buy/", buy)
    app.router.add_post("/checkout/", checkout)
    app.router.add_get("/payment/return/", payment_return)
    app.router.add_post("/payments/{payment_id}/capture/", capture)
    app.router.add_post("/purse/webhook/", purse_webhook)
    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="The example aiohttp shop.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args(argv)
    base_url = os.environ.get("SHOP_BASE_URL") or f"http://{args.host}:{args.port}"
    print(f"Example shop on {base_url}/", flush=True)
    web.run_app(make_app(base_url=base_url), host=args.host, port=args.port, print=None)


if __name__ == "__main__":
    main()
