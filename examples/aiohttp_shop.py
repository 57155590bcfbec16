"""An aiohttp.web shop paying with Purse through `purse_async` (the async twin of django_shop).

Run against the embedded sandbox: `python examples/aiohttp_shop.py` (PURSE_* to go live).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

from aiohttp import web

import purse_async

PURSE = web.AppKey("purse", purse_async.AsyncPurse)
RETURN_URL = os.environ.get("SHOP_RETURN_URL", "https://shop.example/payment/return/")


async def checkout(request: web.Request) -> web.Response:
    data = await request.json()
    try:
        session = await request.app[PURSE].client_sessions.create(
            amount=data["amount"],
            currency=data.get("currency", "EUR"),
            shopper_redirection_url=RETURN_URL,
            order={"reference": data["order_reference"], "net_amount": data["amount"]},
        )
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
    try:
        redirect = await purse.redirections.verify(str(request.rel_url))
    except purse_async.SignatureVerificationError as exc:
        return web.json_response({"error": f"invalid redirection: {exc}"}, status=400)
    if redirect.payment_id is None:
        return web.json_response({"status": str(redirect.client_session_status)})
    payment = await purse.payments.retrieve(redirect.payment_id)
    status = payment.authorization.status if payment.authorization else None
    return web.json_response({"payment_id": payment.id, "status": str(status)})


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


def make_app(purse_kwargs: dict[str, object] | None = None) -> web.Application:
    """The app; one AsyncPurse for its lifetime, closed on cleanup."""
    app = web.Application()

    async def purse_ctx(app: web.Application) -> AsyncIterator[None]:
        client = (
            purse_async.AsyncPurse(**purse_kwargs)  # type: ignore[arg-type]
            if purse_kwargs
            else purse_async.AsyncPurse.from_env()
        )
        async with client:
            app[PURSE] = client
            yield

    app.cleanup_ctx.append(purse_ctx)
    app.router.add_post("/checkout/", checkout)
    app.router.add_get("/payment/return/", payment_return)
    app.router.add_post("/payments/{payment_id}/capture/", capture)
    return app


if __name__ == "__main__":
    web.run_app(make_app(), host="127.0.0.1", port=8080)
