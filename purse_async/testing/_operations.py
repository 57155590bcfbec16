"""Captures, refunds and voids: the amount rules, their distribution over partner transactions
(default orders and `priorities` with wildcards), idempotency replays, the ledger."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aiohttp import web

from ._payments import OPERATION_FIELDS, recompute
from ._problems import ApiProblem, read_json, write_conflict
from ._state import STATE, LedgerEntry, SandboxState, new_id
from ._validation import is_int

__all__ = ["apply_operation", "complete_authorization", "operation_routes", "plan"]

JSON = dict[str, Any]
NOUN = {"captures": "capture", "refunds": "refund", "voids": "void"}
AVAILABLE = {
    "captures": "available_to_capture",
    "refunds": "available_to_refund",
    "voids": "available_to_void",
}
# Documented defaults: captures draw on gift cards first, refunds on cards first; voids
# release the card authorization first (the gift card debit is the cheaper one to keep).
FIRST_METHOD = {"captures": "giftcard", "refunds": "creditcard", "voids": "creditcard"}
INVALID_AMOUNT = "urn:eu.purse:invalid-amount"


def _default_order(txs: Sequence[JSON], kind: str) -> list[JSON]:
    return sorted(txs, key=lambda tx: tx["method"] != FIRST_METHOD[kind])


def _matches(entry: Mapping[str, str], tx: Mapping[str, Any]) -> bool:
    return entry["partner"] in ("*", tx["partner"]) and entry["method"] in ("*", tx["method"])


def plan(
    txs: Sequence[JSON], kind: str, priorities: Sequence[Mapping[str, str]] | None
) -> list[JSON]:
    """The order transactions are drawn from. Without `priorities`, the default order. With them,
    each entry in turn; `{"partner": "*", "method": "*"}` stands for every transaction no other
    entry matches, at its position. Transactions matched by no entry are not used."""
    if not priorities:
        return _default_order(txs, kind)
    catch_all = {"partner": "*", "method": "*"}
    specific = [e for e in priorities if dict(e) != catch_all]
    ordered: list[JSON] = []
    for entry in priorities:
        if dict(entry) == catch_all:
            picked = [tx for tx in txs if not any(_matches(e, tx) for e in specific)]
        else:
            picked = [tx for tx in txs if _matches(entry, tx)]
        ordered.extend(tx for tx in _default_order(picked, kind) if tx not in ordered)
    return ordered


def _room(kind: str, tx: Mapping[str, Any], book: Mapping[str, int]) -> int:
    if kind == "refunds":
        return book.get("captured", 0) - book.get("refunded", 0)
    amount: int = tx["amount"]
    return amount - book.get("captured", 0) - book.get("voided", 0)


def _invalid(detail: str, pointer: str, type_: str = "urn:eu.purse:validation-error") -> ApiProblem:
    title = "Invalid amount" if type_ == "urn:eu.purse:invalid-amount" else "Invalid request"
    return ApiProblem(400, title, detail, pointer=pointer, type_=type_)


def _priorities(raw: Any) -> list[dict[str, str]] | None:
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise _invalid("priorities must be a list", "/priorities")
    entries: list[dict[str, str]] = []
    for i, entry in enumerate(raw):
        if not isinstance(entry, dict):
            raise _invalid("each priority is an object {partner, method}", f"/priorities/{i}")
        clean = {key: entry.get(key, "*") for key in ("partner", "method")}
        for key, value in clean.items():
            if not isinstance(value, str) or not value:
                raise _invalid(f"{key} must be a name or '*'", f"/priorities/{i}/{key}")
        entries.append(clean)
    return entries


def _amount(payment: JSON, kind: str, body: Mapping[str, Any]) -> int:
    """The amount to apply, or the problem that forbids it."""
    raw = body.get("amount")
    if raw is not None and not is_int(raw):
        raise _invalid("amount must be an integer in minor units", "/amount", INVALID_AMOUNT)
    if raw is not None and raw <= 0:
        raise _invalid("amount must be greater than 0", "/amount", INVALID_AMOUNT)
    status = payment["authorization"]["status"]
    if status != "AUTHORIZED":
        raise ApiProblem(
            409,
            "Payment not authorized",
            f"a {NOUN[kind]} needs an AUTHORIZED payment; this one is {status}",
            type_="urn:eu.purse:payment-not-authorized",
        )
    field = AVAILABLE[kind]
    available: int = payment["amounts"][field]
    if raw is None:
        if available <= 0:
            raise ApiProblem(
                409,
                f"Nothing to {NOUN[kind]}",
                f"{field} is 0",
                type_="urn:eu.purse:nothing-available",
            )
        return available
    amount: int = raw
    if amount > available:
        raise ApiProblem(
            400,
            f"Amount exceeds {field}",
            f"a {NOUN[kind]} of {amount} exceeds {field} ({available})",
            pointer="/amount",
            type_="urn:eu.purse:amount-exceeds-available",
            extra={field: available},
        )
    return amount


def apply_operation(
    state: SandboxState, payment: JSON, kind: str, body: Mapping[str, Any], key: str | None
) -> JSON:
    """Check the rules, spread the amount over AUTHORIZED partner transactions, record the
    operation on the payment and in the ledger; the operation JSON. Nothing changes on error."""
    amount = _amount(payment, kind, body)
    priorities = _priorities(body.get("priorities"))
    books = state.books[payment["id"]]
    txs = [
        tx
        for tx in payment["authorization"]["partner_transactions"]
        if tx["status"] == "AUTHORIZED"
    ]
    shares: list[JSON] = []
    left = amount
    for tx in plan(txs, kind, priorities):
        take = min(left, _room(kind, tx, books.get(tx["id"], {})))
        if take > 0:
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
        raise ApiProblem(
            409,
            "Cannot distribute",
            f"the priorities leave {left} of {amount} with no partner transaction to take it",
            pointer="/priorities",
            type_="urn:eu.purse:undistributable",
        )
    field = OPERATION_FIELDS[kind]
    for share in shares:
        book = books.setdefault(share["id"], {})
        book[field] = book.get(field, 0) + share["amount"]
    operation: JSON = {
        "id": new_id(),
        "status": "SUCCESS",
        "amount": amount,
        "created_at": state.clock.iso(),
        "partner_transactions": shares,
    }
    payment[kind].append(operation)
    payment["version"] += 1
    recompute(payment, books)
    if key is not None:
        state.idempotency[(payment["id"], key)] = operation["id"]
    state.ledger[payment["id"]].append(LedgerEntry(kind, operation["id"], amount, key))
    return operation


def complete_authorization(state: SandboxState, payment: JSON) -> None:
    """After a new or settled authorization: announce it, then, when capture_mode is AUTOMATIC,
    capture it all at once (the sandbox ignores capture_delay) and announce that too: each
    change is its own `version` and its own webhook."""
    state.changed(payment)
    if (
        payment["capture_mode"] == "AUTOMATIC"
        and payment["authorization"]["status"] == "AUTHORIZED"
        and payment["amounts"]["available_to_capture"] > 0
    ):
        apply_operation(state, payment, "captures", {}, None)
        state.changed(payment)


def operation_routes(prefix: str) -> list[web.RouteDef]:
    async def handler(request: web.Request) -> web.StreamResponse:
        state = request.app[STATE]
        kind = request.match_info["kind"]
        payment = state.payments.get(request.match_info["id"])
        if payment is None:
            raise ApiProblem(404, "Not Found", "no such payment", type_="urn:eu.purse:not-found")
        body = await read_json(request)
        # No await from here on: the key check and the write are atomic on the event loop,
        # so two concurrent requests with one key can't both apply.
        key = request.headers.get("x-idempotency-key") or None
        if key is not None and (payment["id"], key) in state.idempotency:
            return write_conflict(request.path, state.idempotency[(payment["id"], key)])
        operation = apply_operation(state, payment, kind, body, key)
        state.changed(payment)
        return web.json_response(operation, status=201)

    return [web.post(prefix + "/payments/{id}/{kind:captures|refunds|voids}", handler)]
