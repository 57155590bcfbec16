"""Captures, refunds and voids spread over partner transactions, with the amount rules enforced.

Pure functions over the sandbox's plain payment dicts; the HTTP layer turns `Refusal` into problems.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["Refusal", "apply_operation", "recompute", "split_plan"]

KINDS = {"captures": "capture", "refunds": "refund", "voids": "void"}


class Refusal(Exception):
    """An operation the rules forbid: answered as problem+json with this status."""

    def __init__(self, status: int, title: str, detail: str, pointer: str | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.pointer = pointer


def _level(part: int, whole: int) -> str:
    if part <= 0:
        return "NOT"
    return "TOTALLY" if part >= whole else "PARTIALLY"


def _done(payment: Mapping[str, Any], kind: str) -> int:
    return sum(op["amount"] for op in payment[kind] if op["status"] == "SUCCESS")


def recompute(payment: dict[str, Any], books: Mapping[str, dict[str, int]]) -> None:
    """Derive `amounts`, `overview` and each transaction's `remaining_amount` from the books."""
    txs = payment["authorization"]["partner_transactions"]
    authorized = sum(tx["amount"] for tx in txs if tx["status"] == "AUTHORIZED")
    pending = sum(tx["amount"] for tx in txs if tx["status"] == "PENDING")
    captured, refunded, voided = (_done(payment, k) for k in ("captures", "refunds", "voids"))
    for tx in txs:
        b = books.get(tx["id"], {})
        if tx["status"] in ("AUTHORIZED", "PENDING"):
            tx["remaining_amount"] = tx["amount"] - b.get("captured", 0) - b.get("voided", 0)
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


def _matches(entry: Mapping[str, Any], tx: Mapping[str, Any]) -> bool:
    return entry.get("partner", "*") in ("*", tx["partner"]) and entry.get("method", "*") in (
        "*",
        tx["method"],
    )


def split_plan(
    txs: Sequence[dict[str, Any]], kind: str, priorities: Sequence[Mapping[str, Any]] | None
) -> list[dict[str, Any]]:
    """The order transactions are drawn from: `priorities` (the `{*,*}` entry standing for every
    transaction no other entry names, at its position), else the documented default: gift cards
    first for captures, cards first for refunds and voids."""
    if not priorities:
        first = "giftcard" if kind == "captures" else "creditcard"
        return sorted(txs, key=lambda tx: tx["method"] != first)
    specific = [e for e in priorities if not (e.get("partner", "*") == "*" == e.get("method", "*"))]
    ordered: list[dict[str, Any]] = []
    for entry in priorities:
        if entry in specific:
            picked = [tx for tx in txs if _matches(entry, tx)]
        else:
            picked = [tx for tx in txs if not any(_matches(e, tx) for e in specific)]
        ordered.extend(tx for tx in picked if tx not in ordered)
    return ordered


def _room(kind: str, tx: Mapping[str, Any], books: Mapping[str, dict[str, int]]) -> int:
    b = books.get(tx["id"], {})
    if kind == "refunds":
        return b.get("captured", 0) - b.get("refunded", 0)
    amount: int = tx["amount"]
    return amount - b.get("captured", 0) - b.get("voided", 0)


def _check_priorities(raw: Any) -> list[Mapping[str, Any]] | None:
    if raw is None:
        return None
    if not isinstance(raw, list) or not all(isinstance(e, Mapping) for e in raw):
        raise Refusal(400, "Invalid request", "priorities must be a list of objects", "/priorities")
    for i, entry in enumerate(raw):
        for key in ("partner", "method"):
            if key in entry and not isinstance(entry[key], str):
                raise Refusal(
                    400, "Invalid request", f"{key} must be a string", f"/priorities/{i}/{key}"
                )
    return list(raw)


def apply_operation(
    payment: dict[str, Any],
    books: dict[str, dict[str, int]],
    kind: str,
    body: Any,
    now: str,
) -> dict[str, Any]:
    """Apply a capture/refund/void to `payment` (mutated) and return the operation JSON."""
    if not isinstance(body, Mapping):
        raise Refusal(400, "Invalid request", "the body must be a JSON object")
    if payment["authorization"]["status"] != "AUTHORIZED":
        raise Refusal(
            409,
            "Payment not authorized",
            f"a {KINDS[kind]} needs an AUTHORIZED payment; this one is "
            f"{payment['authorization']['status']}",
        )
    amounts = payment["amounts"]
    available = amounts["available_to_refund" if kind == "refunds" else "available_to_capture"]
    amount = body.get("amount")
    if amount is None:
        amount = available
        if amount <= 0:
            raise Refusal(409, "Nothing available", f"nothing is left to {KINDS[kind]}")
    elif isinstance(amount, bool) or not isinstance(amount, int):
        raise Refusal(400, "Invalid request", "amount must be an integer in minor units", "/amount")
    elif amount <= 0:
        raise Refusal(400, "Invalid request", "amount must be greater than 0", "/amount")
    elif amount > available:
        what = {
            "captures": "available_to_capture",
            "refunds": "available_to_refund",
            "voids": "available_to_void",
        }[kind]
        raise Refusal(
            400,
            "Amount too high",
            f"{KINDS[kind]} of {amount} exceeds {what} ({available})",
            "/amount",
        )
    priorities = _check_priorities(body.get("priorities"))
    txs = [
        tx
        for tx in payment["authorization"]["partner_transactions"]
        if tx["status"] == "AUTHORIZED"
    ]
    shares: list[dict[str, Any]] = []
    left = amount
    for tx in split_plan(txs, kind, priorities):
        take = min(left, _room(kind, tx, books))
        if take <= 0:
            continue
        book = books.setdefault(tx["id"], {})
        field = {"captures": "captured", "refunds": "refunded", "voids": "voided"}[kind]
        book[field] = book.get(field, 0) + take
        shares.append(
            {
                "id": tx["id"],
                "partner": tx["partner"],
                "method": tx["method"],
                "amount": take,
                "status": "SUCCESS",
            }
        )
        left -= take
        if left == 0:
            break
    if left:
        # The priorities excluded transactions that held the rest: undo and refuse.
        for share in shares:
            field = {"captures": "captured", "refunds": "refunded", "voids": "voided"}[kind]
            books[share["id"]][field] -= share["amount"]
        raise Refusal(
            409, "Cannot distribute", f"the priorities leave {left} undistributed", "/priorities"
        )
    operation = {
        "id": str(uuid.uuid4()),
        "status": "SUCCESS",
        "amount": amount,
        "created_at": now,
        "partner_transactions": shares,
    }
    payment[kind].append(operation)
    payment["version"] += 1
    recompute(payment, books)
    return operation
