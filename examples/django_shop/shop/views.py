"""Checkout views: create a client session, verify the shopper's return, capture."""

from __future__ import annotations

import json

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

import purse_sync

from .purse import get_purse


@csrf_exempt
@require_POST
def checkout(request: HttpRequest) -> JsonResponse:
    data = json.loads(request.body or b"{}")
    try:
        session = get_purse().client_sessions.create(
            amount=data["amount"],
            currency=data.get("currency", "EUR"),
            shopper_redirection_url=settings.SHOP_RETURN_URL,
            order={"reference": data["order_reference"], "net_amount": data["amount"]},
        )
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
def payment_return(request: HttpRequest) -> JsonResponse:
    try:
        redirect = get_purse().redirections.verify(request.get_full_path())
    except purse_sync.SignatureVerificationError as exc:
        # Never trust an unverified redirection: it could be forged to fake a payment.
        return JsonResponse({"error": f"invalid redirection: {exc}"}, status=400)
    if redirect.payment_id is None:
        return JsonResponse({"status": str(redirect.client_session_status)}, status=200)
    payment = get_purse().payments.retrieve(redirect.payment_id)
    status = payment.authorization.status if payment.authorization else None
    return JsonResponse({"payment_id": payment.id, "status": str(status)})


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
