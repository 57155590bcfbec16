"""The sandbox's in-memory world: tokens, client sessions, payments, idempotency keys, the ledger.

Everything is plain JSON-ready dicts written to the wire contract, never the SDK's models.
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections import Counter
from datetime import datetime, timezone
from typing import Any

import attrs

from . import _psp
from ._keys import sign_redirection
from ._operations import recompute

__all__ = ["Credentials", "SandboxState", "Stats", "iso_now"]


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="milliseconds")[:-6] + "Z"


def iso_now() -> str:
    return iso(time.time())


@attrs.frozen
class Credentials:
    """Fake credentials the sandbox accepts (safe to print: they open nothing real)."""

    client_id: str
    client_secret: str = attrs.field(repr=False)
    api_key: str = attrs.field(repr=False)
    entity_id: str


@attrs.define
class Stats:
    """Counters for tests and load scripts."""

    token_requests: int = 0
    requests_by_path: Counter[str] = attrs.field(factory=Counter)


@attrs.define
class LedgerEntry:
    kind: str
    id: str
    amount: int
    idempotency_key: str | None


class SandboxState:
    def __init__(self, *, token_lifetime: float, session_ttl: float) -> None:
        self.credentials = Credentials(
            client_id=f"sandbox-client-{secrets.token_hex(4)}",
            client_secret=secrets.token_urlsafe(24),
            api_key=secrets.token_urlsafe(18),
            entity_id=str(uuid.uuid4()),
        )
        self.token_lifetime = token_lifetime
        self.session_ttl = session_ttl
        self.tokens: dict[str, float] = {}
        self.sessions: dict[str, dict[str, Any]] = {}
        self.payments: dict[str, dict[str, Any]] = {}
        self.books: dict[str, dict[str, dict[str, int]]] = {}
        self.idempotency: dict[tuple[str, str], str] = {}
        self.ledger: dict[str, list[LedgerEntry]] = {}
        self.session_of_payment: dict[str, str] = {}
        self.stats = Stats()

    # -- tokens ------------------------------------------------------------------------
    def issue_token(self) -> str:
        token = "sbx_" + secrets.token_urlsafe(24)
        self.tokens[token] = time.monotonic() + self.token_lifetime
        return token

    def token_valid(self, token: str) -> bool:
        expiry = self.tokens.get(token)
        return expiry is not None and time.monotonic() < expiry

    def expire_all_tokens(self) -> None:
        self.tokens.clear()

    # -- sessions ----------------------------------------------------------------------
    def create_session(self, body: dict[str, Any], base_url: str) -> dict[str, Any]:
        session_id = str(uuid.uuid4())
        now = time.time()
        session = {
            "id": session_id,
            "status": "CREATED",
            "created_at": iso(now),
            "expires_at": iso(now + self.session_ttl),
            "capture_mode": "MANUAL",
            "integration_mode": "EMBEDDED",
            "allow_future_usage": False,
            **body,
            "widget": {
                "js_url": f"{base_url}/static/purse-checkout.js",
                "data": secrets.token_urlsafe(48),
            },
            "links": {"hosted_page": f"{base_url}/hosted/sessions/{session_id}"},
        }
        session["_expires_ts"] = now + self.session_ttl
        self.sessions[session_id] = session
        return session

    def session(self, session_id: str) -> dict[str, Any] | None:
        session = self.sessions.get(session_id)
        expired = session is not None and time.time() >= session["_expires_ts"]
        if session is not None and session["status"] == "CREATED" and expired:
            session["status"] = "EXPIRED"
        return session

    @staticmethod
    def public(obj: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in obj.items() if not k.startswith("_")}

    # -- payments ----------------------------------------------------------------------
    def new_payment(
        self,
        *,
        source: dict[str, Any],
        transactions: list[dict[str, Any]],
        client_session_id: str | None,
    ) -> dict[str, Any]:
        now = iso_now()
        amount = source["amount"]
        payment: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "version": 1,
            "entity_id": source.get("entity_id", self.credentials.entity_id),
            "client_session_id": client_session_id,
            "created_at": now,
            "order_reference": (source.get("order") or {}).get("reference"),
            "order": source.get("order"),
            "customer": source.get("customer"),
            "overview": {},
            "amount": amount,
            "currency": source["currency"],
            "allow_future_usage": source.get("allow_future_usage", False),
            "capture_mode": source.get("capture_mode", "MANUAL"),
            "authorization": {
                "updated_at": now,
                "status": _psp.overall_status(transactions, amount),
                "partner_transactions": transactions,
            },
            "captures": [],
            "voids": [],
            "refunds": [],
            "split": [
                {"partner": tx["partner"], "method": tx["method"], "amount": tx["amount"]}
                for tx in transactions
                if tx["status"] in ("AUTHORIZED", "PENDING")
            ],
            "amounts": {},
        }
        self.payments[payment["id"]] = payment
        self.books[payment["id"]] = {}
        self.ledger[payment["id"]] = []
        recompute(payment, self.books[payment["id"]])
        return payment

    def submit_session(
        self,
        session: dict[str, Any],
        *,
        card: str,
        holder: str,
        expiry: str,
        gift_card: str | None,
        gift_card_amount: int | None,
    ) -> tuple[dict[str, Any], str]:
        """The shopper pays: authorize through the PSPs; the payment and the redirect URL."""
        transactions = _psp.authorize(
            card=card,
            holder=holder,
            expiry=expiry,
            amount=session["amount"],
            now=iso_now(),
            gift_card=gift_card,
            gift_card_amount=gift_card_amount,
        )
        payment = self.new_payment(
            source=session, transactions=transactions, client_session_id=session["id"]
        )
        session["status"] = "SUBMITTED"
        session["payment_id"] = payment["id"]
        session["authorization"] = payment["authorization"]
        self.session_of_payment[payment["id"]] = session["id"]
        claims = {
            "client_session_id": session["id"],
            "payment_id": payment["id"],
            "authorization_status": payment["authorization"]["status"],
            "client_session_status": "SUBMITTED",
        }
        return payment, redirect_url(session["shopper_redirection_url"], sign_redirection(claims))

    def abort_by_customer(self, session: dict[str, Any]) -> str:
        session["status"] = "ABORTED_BY_CUSTOMER"
        claims = {"client_session_id": session["id"], "client_session_status": session["status"]}
        return redirect_url(session["shopper_redirection_url"], sign_redirection(claims))

    def settle(self, payment_id: str, status: str = "AUTHORIZED") -> dict[str, Any]:
        payment = self.payments[payment_id]
        auth = payment["authorization"]
        for tx in auth["partner_transactions"]:
            if tx["status"] == "PENDING":
                tx["status"] = status
                tx["partner_status"] = "PENDING_CAPTURE" if status == "AUTHORIZED" else "05"
                tx["updated_at"] = iso_now()
                if status != "AUTHORIZED":
                    tx["remaining_amount"] = 0
        auth["status"] = _psp.overall_status(auth["partner_transactions"], payment["amount"])
        auth["updated_at"] = iso_now()
        payment["version"] += 1
        recompute(payment, self.books[payment_id])
        return payment


def redirect_url(base: str, token: str) -> str:
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}purse-redirection-data={token}"
