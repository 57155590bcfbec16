"""Checkout views: create a client session, verify the shopper's return, capture; the shopper's
pages (the shop, the order) for a browser, and the webhook.

The return view trusts nothing the shopper brings: the redirection must be signed by Purse AND
be for the client session created for this order (a token of another checkout is refused), and
the payment must be for this order's amount, currency and reference (`payment.check`).
"""

from __future__ import annotations

import json
import secrets
from typing import Any
from urllib.parse import quote, urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

import purse_sync

from . import pages
from .orders import Order, get_order, mark_paid, save_order
from .purse import get_purse


def _create_checkout(reference: str, amount: int, currency: str) -> purse_sync.ClientSession:
    """A client session for the order, stored with it (replacing an earlier checkout's)."""
    session = get_purse().client_sessions.create(
        amount=amount,
        currency=currency,
        # The order travels in the return URL: the return view finds the session to expect.
        shopper_redirection_url=(
            f"{settings.SHOP_BASE_URL.rstrip('/')}/payment/return/?"
            + urlencode({"order": reference})
        ),
        order={"reference": reference, "net_amount": amount},
    )
    # A new checkout of the order replaces the previous session: its return is refused now.
    save_order(Order(reference, amount, currency, session.id))
    return session


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return pages.home_page()


@require_POST
def buy(request: HttpRequest) -> HttpResponse:
    """The shop's button: a new order of the product, then on to Purse's hosted page."""
    _, amount, currency = pages.PRODUCT
    session = _create_checkout(f"DJ-{secrets.token_hex(4).upper()}", amount, currency)
    if session.links is None or not session.links.hosted_page:
        return pages.error_page("Purse gave no hosted page for this checkout", status=502)
    return HttpResponseRedirect(session.links.hosted_page, status=303)


@require_GET
def order_detail(request: HttpRequest, reference: str) -> HttpResponse:
    order = get_order(reference)
    if order is None:
        return pages.error_page("unknown order", status=404)
    return pages.order_page(order)


@csrf_exempt
@require_POST
def checkout(request: HttpRequest) -> JsonResponse:
    data = json.loads(request.body or b"{}")
    try:
        reference, amount = data["order_reference"], data["amount"]
        currency = data.get("currency", "EUR")
        known = get_order(reference)
        if known is not None and known.payment_id is not None:
            return JsonResponse({"error": f"order {reference} is already paid"}, status=409)
        session = _create_checkout(reference, amount, currency)
    except (KeyError, purse_sync.ValidationError) as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    return JsonResponse(
        {
            "client_session_id": session.id,
            "hosted_page": session.links.hosted_page if session.links else None,
            "widget_js_url": session.widget.js_url if session.widget else None,
            "widget_data": session.widget.data if session.widget else None,
        },
        status=201,
    )


@require_GET
def payment_return(request: HttpRequest) -> HttpResponse:
    """The shopper's return from the hosted page: JSON, or for a browser (Accept: text/html) a
    303 to the order page (whose URL carries no token to bookmark or leak) or an error page."""
    status, outcome = _verify_return(request)
    if "text/html" not in request.headers.get("Accept", ""):
        return JsonResponse(outcome, status=status)
    if status != 200:
        return pages.error_page(str(outcome.get("error", "")), status=status)
    return HttpResponseRedirect(
        f"/orders/{quote(outcome['order_reference'], safe='')}/", status=303
    )


def _verify_return(request: HttpRequest) -> tuple[int, dict[str, Any]]:
    """The return URL checked: (HTTP status, what the JSON answer says)."""
    order = get_order(request.GET.get("order", ""))
    if order is None:
        return 404, {"error": "unknown order"}
    try:
        # Never trust an unverified redirection: it could be forged to fake a payment. Nor a
        # signed one of another checkout (another order, another shopper) replayed on this URL.
        redirect = get_purse().redirections.verify(
            request.get_full_path(), expected_client_session_id=order.client_session_id
        )
    except purse_sync.SignatureVerificationError as exc:
        return 400, {"error": f"invalid redirection: {exc}"}
    if redirect.payment_id is None:
        return 200, {
            "status": str(redirect.client_session_status),
            "order_reference": order.reference,
        }
    payment = get_purse().payments.retrieve(redirect.payment_id)
    status = payment.authorization.status if payment.authorization else None
    if status == purse_sync.AuthorizationStatus.AUTHORIZED:
        try:
            # Not the status alone: what was authorized must be what the order costs.
            payment.check(
                amount=order.amount, currency=order.currency, order_reference=order.reference
            )
        except purse_sync.PaymentMismatchError as exc:
            return 409, {"error": str(exc), "mismatches": list(exc.mismatches)}
        mark_paid(order.reference, payment.id)
    return 200, {
        "payment_id": payment.id,
        "status": str(status),
        "order_reference": order.reference,
    }


@csrf_exempt
@require_POST
def capture(request: HttpRequest, payment_id: str) -> JsonResponse:
    data = json.loads(request.body or b"{}")
    try:
        operation = get_purse().payments.capture(
            payment_id,
            amount=data.get("amount"),
            # A stable key per order line: a double-clicked capture is applied once.
            idempotency_key=data.get("idempotency_key"),
        )
    except purse_sync.APIStatusError as exc:
        return JsonResponse({"error": str(exc)}, status=exc.status)
    return JsonResponse(
        {"capture_id": operation.id, "amount": operation.amount, "replayed": operation.replayed},
        status=201,
    )


@csrf_exempt
@require_POST
def purse_webhook(request: HttpRequest) -> JsonResponse:
    """Purse's webhook (POST, the payment JSON): vetted, deduplicated, then applied to the order.

    `request.body` is the raw body, as the signature was computed over it: never re-encode
    `json.loads(...)`. `REMOTE_ADDR` is the peer: behind a reverse proxy or load balancer it is
    the proxy, so pass the client address your proxy sets (and only one you trust it to set).
    """
    try:
        event = get_purse().webhooks.process(
            request.body,
            headers=request.headers,
            remote_ip=request.META.get("REMOTE_ADDR", ""),
            secret=settings.SHOP_WEBHOOK_SECRET,
            allowlist=settings.SHOP_WEBHOOK_ALLOWLIST,
            # Act on the payment as the API shows it now, not on what the body claims.
            refetch=True,
        )
    except (purse_sync.WebhookError, purse_sync.SignatureVerificationError) as exc:
        # An untrusted source, a bad signature or an unreadable body: refused, not applied.
        return JsonResponse({"error": str(exc)}, status=400)
    if event.is_new:
        _apply_payment(event.payment)
    # Duplicates and stale versions are answered 200 too: Purse need not send them again.
    return JsonResponse(
        {"payment_id": event.payment_id, "version": event.version, "reason": event.reason}
    )


def _apply_payment(payment: purse_sync.Payment) -> None:
    """Mark the order paid when the payment authorized it (the shopper may never come back to
    the return URL): same checks as the return view."""
    order = get_order(payment.order_reference or "")
    status = payment.authorization.status if payment.authorization else None
    if (
        order is None
        or order.payment_id is not None
        or status != purse_sync.AuthorizationStatus.AUTHORIZED
    ):
        return
    if payment.client_session_id != order.client_session_id:
        return  # a payment of an earlier checkout of the order, replaced since
    try:
        payment.check(amount=order.amount, currency=order.currency, order_reference=order.reference)
    except purse_sync.PaymentMismatchError:
        return
    mark_paid(order.reference, payment.id)
