"""The shop's orders: what each one costs and the client session created to pay it.

In memory (one process) to keep the example self-contained; a real shop keeps these as columns
of its order table. The return view needs them all: the client session id to bind the shopper's
return to the order (`redirections.verify(..., expected_client_session_id=...)`), the amount,
currency and reference to check the payment (`payment.check(...)`).
"""

from __future__ import annotations

import dataclasses
import threading

__all__ = ["Order", "get_order", "mark_paid", "save_order"]


@dataclasses.dataclass(frozen=True)
class Order:
    reference: str
    amount: int
    currency: str
    client_session_id: str
    payment_id: str | None = None  # set once a payment matching the order is authorized


_lock = threading.Lock()
_orders: dict[str, Order] = {}


def get_order(reference: str) -> Order | None:
    with _lock:
        return _orders.get(reference)


def save_order(order: Order) -> None:
    """Store (or replace) the order: a new checkout of it replaces its client session."""
    with _lock:
        _orders[order.reference] = order


def mark_paid(reference: str, payment_id: str) -> None:
    with _lock:
        _orders[reference] = dataclasses.replace(_orders[reference], payment_id=payment_id)
