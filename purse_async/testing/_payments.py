"""The Payment JSON in the seed guide's GetPayment shape, and the bookkeeping that keeps its
`amounts`, `overview`, `split`, `remaining_amount`s and `version` consistent."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import _psp
from ._state import SandboxState, new_id

__all__ = ["build_payment", "recompute", "settle"]

JSON = dict[str, Any]
OPERATION_FIELDS = {"captures": "captured", "refunds": "refunded", "voids": "voided"}


def _split(transactions: list[JSON]) -> list[JSON]:
    return [
        {"partner": tx["partner"], "method": tx["method"], "amount": tx["amount"]}
        for tx in transactions
        if tx["status"] in ("AUTHORIZED", "PENDING")
    ]


def build_payment(
    state: SandboxState,
    *,
    source: Mapping[str, Any],
    transactions: list[JSON],
    client_session_id: str | None,
) -> JSON:
    """A new payment (version 1) from a session or an advanced-flow request, stored in `state`."""
    now = state.clock.iso()
    order = source.get("order")
    payment: JSON = {
        "id": new_id(),
        "version": 1,
        "entity_id": source.get("entity_id", state.credentials.entity_id),
        "client_session_id": client_session_id,
        "created_at": now,
        "order_reference": order.get("reference") if isinstance(order, dict) else None,
        "order": order,
        "customer": source.get("customer"),
        "overview": {},
        "amount": source["amount"],
        "currency": source["currency"],
        "allow_future_usage": source.get("allow_future_usage", False),
        "capture_mode": source.get("capture_mode", "MANUAL"),
        "authorization": {
            "updated_at": now,
            "status": _psp.overall_status(transactions, source["amount"]),
            "partner_transactions": transactions,
        },
        "captures": [],
        "voids": [],
        "refunds": [],
        "split": _split(transactions),
        "amounts": {},
    }
    if "capture_delay" in source:
        payment["capture_delay"] = source["capture_delay"]
    state.wallet.attach_tokens(transactions)
    state.add_payment(payment, dict(source))
    recompute(payment, state.books[payment["id"]])
    return payment


def _level(part: int, whole: int) -> str:
    if part <= 0:
        return "NOT"
    return "TOTALLY" if part >= whole else "PARTIALLY"


def recompute(payment: JSON, books: Mapping[str, Mapping[str, int]]) -> None:
    """Derive `amounts`, `overview` and each transaction's `remaining_amount` from the books
    (so they can never disagree with the operations recorded)."""
    txs = payment["authorization"]["partner_transactions"]
    authorized = sum(tx["amount"] for tx in txs if tx["status"] == "AUTHORIZED")
    pending = sum(tx["amount"] for tx in txs if tx["status"] == "PENDING")
    done = {
        field: sum(books.get(tx["id"], {}).get(field, 0) for tx in txs)
        for field in OPERATION_FIELDS.values()
    }
    captured, refunded, voided = done["captured"], done["refunded"], done["voided"]
    for tx in txs:
        if tx["status"] in ("AUTHORIZED", "PENDING"):
            book = books.get(tx["id"], {})
            tx["remaining_amount"] = tx["amount"] - book.get("captured", 0) - book.get("voided", 0)
    open_amount = authorized - captured - voided
    payment["amounts"] = {
        "authorize_pending": pending,
        "total_authorized": authorized,
        "total_captured": captured,
        "available_to_capture": open_amount,
        "total_refunded": refunded,
        "available_to_refund": captured - refunded,
        "total_voided": voided,
        "available_to_void": open_amount,
    }
    payment["overview"] = {
        "consumed": _level(captured + voided, authorized),
        "captured": _level(captured, authorized),
        "voided": _level(voided, authorized),
        "refunded": _level(refunded, captured),
    }


def settle(state: SandboxState, payment_id: str, status: str = "AUTHORIZED") -> JSON:
    """Resolve the payment's PENDING partner transactions as `status`; `ValueError` if there
    is no such payment or nothing is pending."""
    if status not in ("AUTHORIZED", "REFUSED", "ERROR"):
        raise ValueError(f"status must be AUTHORIZED, REFUSED or ERROR, not {status!r}")
    payment = state.payments.get(payment_id)
    if payment is None:
        raise ValueError(f"no payment {payment_id!r}")
    auth = payment["authorization"]
    pending = [tx for tx in auth["partner_transactions"] if tx["status"] == "PENDING"]
    if not pending:
        raise ValueError(f"payment {payment_id} has no PENDING authorization")
    now = state.clock.iso()
    for tx in pending:
        _psp.settle_transaction(tx, status, now)
    if status != "AUTHORIZED":
        _psp.compensate(auth["partner_transactions"], now)
    auth["status"] = _psp.overall_status(auth["partner_transactions"], payment["amount"])
    auth["updated_at"] = now
    # Part of this same change (one version): a card saved for later is saved once authorized.
    state.wallet.attach_tokens(auth["partner_transactions"])
    payment["split"] = _split(auth["partner_transactions"])
    payment.pop("redirection", None)
    payment["version"] += 1
    recompute(payment, state.books[payment_id])
    return payment
