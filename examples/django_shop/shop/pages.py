"""The shopper's HTML pages (the JSON endpoints in views.py are for scripts and tests).

Plain `format_html`, no template engine, to keep the example to the point. The shop sells one
thing; the button starts a checkout and sends the browser to Purse's hosted page.
"""

from __future__ import annotations

from django.http import HttpResponse
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from .orders import Order

__all__ = ["PRODUCT", "error_page", "home_page", "order_page"]

#: What the shop sells: name, price in minor units, currency.
PRODUCT = ("A Purse T-shirt", 12000, "EUR")

_STYLE = "body{font-family:sans-serif;max-width:32rem;margin:2rem auto}.error{color:#b00}"


def _page(title: str, body: SafeString, status: int = 200) -> HttpResponse:
    html = format_html(
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{}</title>'
        "<style>{}</style></head><body>{}</body></html>",
        title,
        _STYLE,
        body,
    )
    return HttpResponse(html, status=status, content_type="text/html; charset=utf-8")


def _price(amount: int, currency: str) -> str:
    return f"{amount / 100:.2f} {currency}"


def home_page() -> HttpResponse:
    name, amount, currency = PRODUCT
    # A real shop keeps Django's CsrfViewMiddleware and puts {% csrf_token %} in this form.
    return _page(
        "Example shop",
        format_html(
            '<h1>Example shop</h1><p id="product">{}: {}</p>'
            '<form method="post" action="/buy/"><button id="buy" type="submit">Pay {}</button>'
            "</form><p>Purse sandbox cards: 4242424242424242 is authorized, 4000000000000002 "
            "refused.</p>",
            name,
            _price(amount, currency),
            _price(amount, currency),
        ),
    )


def order_page(order: Order) -> HttpResponse:
    if order.payment_id is not None:
        status = format_html(
            '<p id="status" class="paid">Paid</p><p>Payment <code id="payment-id">{}</code>, '
            "verified: signed by Purse, for this order's checkout, amount, currency and "
            "reference.</p>",
            order.payment_id,
        )
    else:
        status = mark_safe(
            '<p id="status" class="unpaid">Not paid</p><p><a href="/">Back to the shop</a></p>'
        )
    return _page(
        f"Order {order.reference}",
        format_html(
            '<h1>Order <span id="reference">{}</span></h1><p>{}</p>{}',
            order.reference,
            _price(order.amount, order.currency),
            status,
        ),
    )


def error_page(message: str, status: int) -> HttpResponse:
    return _page(
        "Payment not verified",
        format_html(
            '<h1>Payment not verified</h1><p class="error" id="error">{}</p>'
            '<p><a href="/">Back to the shop</a></p>',
            message,
        ),
        status=status,
    )
