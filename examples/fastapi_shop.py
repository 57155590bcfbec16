"""A FastAPI shop paying with Purse through `purse_async`: one `AsyncPurse` for the app's
lifetime, opened and closed by its lifespan.

`pip install fastapi uvicorn`, then `python examples/fastapi_shop.py [--port 8000]`, open
http://127.0.0.1:8000/ and pay with 4242424242424242 on the hosted page (or
`uvicorn --factory fastapi_shop:create_app` from examples/). Without PURSE_* credentials in the
environment it runs on an embedded sandbox (no credentials, no network); with them (e.g. `eval`
the exports of `python -m purse_async sandbox`, or real ones) it talks to that Purse. Shoppers
come back to SHOP_BASE_URL (default: the address it listens on).

The return endpoint trusts nothing the shopper brings: the redirection must be signed by Purse
AND be for the client session created for this order (`expected_client_session_id`), and the
payment must be for this order's amount, currency and reference (`payment.check`). The webhook
endpoint reads the raw body (the signature is over those bytes) and lets `webhooks.process`
vet, parse and deduplicate it.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import html
import os
import secrets
from collections.abc import AsyncIterator
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, FastAPI, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from pydantic import BaseModel

import purse_async

#: What the shop sells: name, price in minor units, currency.
PRODUCT = ("A Purse T-shirt", 12000, "EUR")
#: The credentials that, when any is set, make the app use PURSE_* instead of a sandbox.
CREDENTIAL_VARIABLES = (
    "PURSE_CLIENT_ID",
    "PURSE_CLIENT_SECRET",
    "PURSE_API_KEY",
    "PURSE_ENTITY_ID",
)


@dataclasses.dataclass
class Order:
    """What the shop keeps per order (a real shop: columns of its order table)."""

    reference: str
    amount: int
    currency: str
    client_session_id: str
    payment_id: str | None = None  # set once a payment matching the order is authorized


@dataclasses.dataclass
class Shop:
    """The app's state, made by the lifespan: the client, the orders, the webhook checks."""

    purse: purse_async.AsyncPurse
    base_url: str
    #: The orders by reference (in memory: one process, for the example).
    orders: dict[str, Order] = dataclasses.field(default_factory=dict)
    #: The x-purse-signature secret if Purse signs your webhooks (None: no signature check).
    webhook_secret: str | None = None
    #: The webhooks' allowed source addresses (None: Purse's documented ones).
    webhook_allowlist: tuple[str, ...] | None = None


def get_shop(request: Request) -> Shop:
    shop: Shop = request.app.state.shop
    return shop


ShopDep = Annotated[Shop, Depends(get_shop)]


class CheckoutIn(BaseModel):
    order_reference: str
    amount: int
    currency: str = "EUR"


class CaptureIn(BaseModel):
    amount: int | None = None
    idempotency_key: str | None = None


def _error(message: str, status: int, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status)


async def _create_checkout(
    shop: Shop, reference: str, amount: int, currency: str
) -> purse_async.ClientSession:
    """A client session for the order, stored with it (replacing an earlier checkout's)."""
    session = await shop.purse.client_sessions.create(
        amount=amount,
        currency=currency,
        # The order travels in the return URL: the return endpoint finds the session to expect.
        shopper_redirection_url=(
            f"{shop.base_url}/payment/return/?{urlencode({'order': reference})}"
        ),
        order={"reference": reference, "net_amount": amount},
    )
    # A new checkout of the order replaces the previous session: its return is refused now.
    shop.orders[reference] = Order(reference, amount, currency, session.id)
    return session


async def home() -> HTMLResponse:
    name, amount, currency = PRODUCT
    price = html.escape(f"{amount / 100:.2f} {currency}")
    # A real shop protects this form against CSRF.
    return HTMLResponse(
        f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Example shop</title></head><body><h1>Example shop</h1>
<p id="product">{html.escape(name)}: {price}</p>
<form method="post" action="/buy/"><button id="buy" type="submit">Pay {price}</button></form>
<p>Purse sandbox cards: 4242424242424242 is authorized, 4000000000000002 refused.</p>
</body></html>"""
    )


async def buy(shop: ShopDep) -> Response:
    """The shop's button: a new order of the product, then on to Purse's hosted page."""
    _, amount, currency = PRODUCT
    session = await _create_checkout(shop, f"FA-{secrets.token_hex(4).upper()}", amount, currency)
    if session.links is None or not session.links.hosted_page:
        return _error("Purse gave no hosted page", 502)
    return RedirectResponse(session.links.hosted_page, status_code=303)


async def checkout(data: CheckoutIn, shop: ShopDep) -> JSONResponse:
    known = shop.orders.get(data.order_reference)
    if known is not None and known.payment_id is not None:
        return _error(f"order {data.order_reference} is already paid", 409)
    try:
        session = await _create_checkout(shop, data.order_reference, data.amount, data.currency)
    except purse_async.ValidationError as exc:
        return _error(str(exc), 400)
    return JSONResponse(
        {
            "client_session_id": session.id,
            "hosted_page": session.links.hosted_page if session.links else None,
        },
        status_code=201,
    )


async def payment_return(request: Request, shop: ShopDep) -> JSONResponse:
    order = shop.orders.get(request.query_params.get("order", ""))
    if order is None:
        return _error("unknown order", 404)
    try:
        # Signed by Purse, and for the session created for this order: a token of another
        # checkout (another order, another shopper) replayed on this URL is refused.
        redirect = await shop.purse.redirections.verify(
            str(request.url), expected_client_session_id=order.client_session_id
        )
    except purse_async.SignatureVerificationError as exc:
        return _error(f"invalid redirection: {exc}", 400)
    if redirect.payment_id is None:
        return JSONResponse(
            {"status": str(redirect.client_session_status), "order_reference": order.reference}
        )
    payment = await shop.purse.payments.retrieve(redirect.payment_id)
    status = payment.authorization.status if payment.authorization else None
    if status == purse_async.AuthorizationStatus.AUTHORIZED:
        try:
            # Not the status alone: what was authorized must be what the order costs.
            payment.check(
                amount=order.amount, currency=order.currency, order_reference=order.reference
            )
        except purse_async.PaymentMismatchError as exc:
            return _error(str(exc), 409, mismatches=list(exc.mismatches))
        order.payment_id = payment.id
    return JSONResponse(
        {
            "payment_id": payment.id,
            "status": str(status),
            "order_reference": order.reference,
            "paid": order.payment_id == payment.id,
        }
    )


async def capture(payment_id: str, data: CaptureIn, shop: ShopDep) -> JSONResponse:
    try:
        operation = await shop.purse.payments.capture(
            payment_id,
            amount=data.amount,
            # A stable key per order line: a double-clicked capture is applied once.
            idempotency_key=data.idempotency_key,
        )
    except purse_async.APIStatusError as exc:
        return _error(str(exc), exc.status)
    return JSONResponse(
        {"capture_id": operation.id, "amount": operation.amount, "replayed": operation.replayed},
        status_code=201,
    )


async def purse_webhook(request: Request, shop: ShopDep) -> JSONResponse:
    """Purse's webhook (POST, the payment JSON): vetted, deduplicated, then applied to the order.

    `await request.body()` is the raw body the signature was computed over (never re-encode a
    parsed body); `request.client.host` is the peer: behind a reverse proxy, pass the client
    address your proxy sets instead (and only one you trust it to set).
    """
    try:
        event = await shop.purse.webhooks.process(
            await request.body(),
            headers=request.headers,
            remote_ip=request.client.host if request.client else "",
            secret=shop.webhook_secret,
            allowlist=shop.webhook_allowlist,
            refetch=True,  # act on the payment as the API shows it now
        )
    except (purse_async.WebhookError, purse_async.SignatureVerificationError) as exc:
        # An untrusted source, a bad signature or an unreadable body: refused, not applied.
        return _error(str(exc), 400)
    if event.is_new:
        _apply_payment(shop.orders, event.payment)
    # Duplicates and stale versions are answered 200 too: Purse need not send them again.
    return JSONResponse(
        {"payment_id": event.payment_id, "version": event.version, "reason": event.reason}
    )


def _apply_payment(orders: dict[str, Order], payment: purse_async.Payment) -> None:
    """Mark the order paid when the payment authorized it (the shopper may never come back to
    the return URL): same checks as the return endpoint."""
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


def create_app(
    purse_kwargs: dict[str, Any] | None = None,
    *,
    base_url: str | None = None,
    webhook_secret: str | None = None,
    webhook_allowlist: tuple[str, ...] | None = None,
) -> FastAPI:
    """The app. Its client: `purse_kwargs` if given, else PURSE_* if any credential is set
    there, else an embedded sandbox started by the lifespan (`app.state.sandbox`). `base_url`:
    where shoppers reach the shop (default SHOP_BASE_URL, else http://127.0.0.1:8000). The
    webhook checks default to SHOP_WEBHOOK_SECRET and SHOP_WEBHOOK_ALLOWLIST (comma-separated)."""
    env_allowlist = os.environ.get("SHOP_WEBHOOK_ALLOWLIST")

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            app.state.sandbox = None
            allowlist = webhook_allowlist or (
                tuple(env_allowlist.split(",")) if env_allowlist else None
            )
            if purse_kwargs:
                client = purse_async.AsyncPurse(**purse_kwargs)
            elif any(os.environ.get(name) for name in CREDENTIAL_VARIABLES):
                client = purse_async.AsyncPurse.from_env()
            else:
                # No credentials: an emulated Purse on loopback, for the app's lifetime (and
                # webhooks to try by hand come from this machine).
                from purse_async.testing import Sandbox

                sandbox = await stack.enter_async_context(Sandbox())
                print(
                    f"No PURSE_* credentials: using an embedded sandbox at {sandbox.base_url}",
                    flush=True,
                )
                app.state.sandbox = sandbox
                client = sandbox.client()
                allowlist = allowlist or ("127.0.0.1", "::1")
            app.state.shop = Shop(
                purse=await stack.enter_async_context(client),
                base_url=(
                    base_url or os.environ.get("SHOP_BASE_URL") or "http://127.0.0.1:8000"
                ).rstrip("/"),
                webhook_secret=webhook_secret or os.environ.get("SHOP_WEBHOOK_SECRET") or None,
                webhook_allowlist=allowlist,
            )
            yield

    app = FastAPI(title="Example shop", lifespan=lifespan)
    app.add_api_route("/", home, methods=["GET"], response_class=HTMLResponse)
    app.add_api_route("/buy/", buy, methods=["POST"])
    app.add_api_route("/checkout/", checkout, methods=["POST"], status_code=201)
    app.add_api_route("/payment/return/", payment_return, methods=["GET"])
    app.add_api_route("/payments/{payment_id}/capture/", capture, methods=["POST"])
    app.add_api_route("/purse/webhook/", purse_webhook, methods=["POST"])
    return app


def main(argv: list[str] | None = None) -> None:
    import uvicorn  # pip install uvicorn

    parser = argparse.ArgumentParser(description="The example FastAPI shop.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    base_url = os.environ.get("SHOP_BASE_URL") or f"http://{args.host}:{args.port}"
    print(f"Example shop on {base_url}/", flush=True)
    uvicorn.run(create_app(base_url=base_url), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
