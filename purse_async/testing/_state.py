"""The sandbox's in-memory world: clock, ids, credentials, tokens, sessions, payments, payment
links, saved cards, idempotency keys, ledger and counters. Plain JSON dicts, never SDK models."""

from __future__ import annotations

import copy
import secrets
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, Literal

import attrs
from aiohttp import web

from ._wallet import Wallet

__all__ = [
    "STATE",
    "Clock",
    "CreationKind",
    "Credentials",
    "LedgerEntry",
    "SandboxState",
    "Stats",
    "new_id",
]

JSON = dict[str, Any]
CreationKind = Literal["payments", "client_sessions", "payment_links"]


def new_id() -> str:
    return str(uuid.uuid4())


def _reference(order: Any) -> Any:
    return order.get("reference") if isinstance(order, dict) else None


class Clock:
    """Wall-clock seconds plus an offset, so tests can jump past expiries instead of sleeping."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds

    def iso(self, ts: float | None = None) -> str:
        """ISO 8601 in UTC with milliseconds and `Z`, as the seed examples write dates."""
        moment = datetime.fromtimestamp(self.now() if ts is None else ts, timezone.utc)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@attrs.frozen
class Credentials:
    """Fake credentials the sandbox accepts (safe to print: they open nothing real)."""

    client_id: str
    client_secret: str = attrs.field(repr=False)
    api_key: str = attrs.field(repr=False)
    entity_id: str


@attrs.define
class Stats:
    """Counters for tests: token requests the token endpoint processed, and every request
    received keyed `"METHOD /path"` (ids as sent, faulted requests included)."""

    token_requests: int = 0
    requests_by_path: Counter[str] = attrs.field(factory=Counter)


@attrs.frozen
class LedgerEntry:
    """One operation applied to a payment: `kind` is "captures", "refunds" or "voids"."""

    kind: str
    id: str
    amount: int
    idempotency_key: str | None


class SandboxState:
    """Everything the handlers read and change; one per Sandbox, at `request.app[STATE]`."""

    def __init__(self, *, token_lifetime: float, session_ttl: float) -> None:
        self.clock = Clock()
        self.credentials = Credentials(
            client_id=f"sandbox-client-{secrets.token_hex(4)}",
            client_secret=secrets.token_urlsafe(24),
            api_key=secrets.token_urlsafe(18),
            entity_id=new_id(),
        )
        self.token_lifetime = token_lifetime
        self.session_ttl = session_ttl
        self.base_url = ""
        self.stats = Stats()
        self.tokens: dict[str, float] = {}
        self.sessions: dict[str, JSON] = {}
        self.session_expiry: dict[str, float] = {}
        self.payments: dict[str, JSON] = {}
        # Per payment: where the advanced flow's 3-D Secure page sends the shopper back.
        self.return_urls: dict[str, str] = {}
        # Per payment: the `webhook.url` its session (or advanced-flow request) asked for.
        self.webhook_urls: dict[str, str] = {}
        # Per payment, per partner transaction: how much was captured / refunded / voided.
        self.books: dict[str, dict[str, dict[str, int]]] = {}
        # (scope, key) -> id of what the first request created; scope is a payment id
        # for operations, the `CreationKind` ("payments", "client_sessions", "payment_links")
        # for creations.
        self.idempotency: dict[tuple[str, str], str] = {}
        # Purse documents no deduplication of creations; False emulates a server without it.
        self.deduplicate_creates = True
        # Per created payment, session or link: the x-idempotency-key its request carried, so tests
        # can count what one key made (whether or not the server deduplicated it).
        self.creation_keys: dict[str, str | None] = {}
        self.ledger: dict[str, list[LedgerEntry]] = {}
        # Wallet tokens (saved cards) for merchant-initiated payments.
        self.wallet = Wallet()
        # The Sandbox listens here (webhooks, delayed settlements); handlers only announce.
        self.listeners: list[Callable[[JSON], None]] = []
        # Pay by Link: the links, each attempt's client session -> its link, and who hears
        # about a link's changes (its webhooks), as `listeners` for payments.
        self.payment_links: dict[str, JSON] = {}
        self.link_attempts: dict[str, str] = {}
        self.link_listeners: list[Callable[[JSON], None]] = []

    # -- tokens ------------------------------------------------------------------------
    def issue_token(self) -> str:
        token = "sbx_" + secrets.token_urlsafe(24)
        self.tokens[token] = self.clock.now() + self.token_lifetime
        return token

    def token_valid(self, token: str) -> bool:
        expiry = self.tokens.get(token)
        return expiry is not None and self.clock.now() < expiry

    def expire_all_tokens(self) -> None:
        self.tokens.clear()

    # -- sessions ----------------------------------------------------------------------
    def session(self, session_id: str) -> JSON | None:
        """The session, turned EXPIRED on read once past `expires_at` (if still open)."""
        session = self.sessions.get(session_id)
        if (
            session is not None
            and session["status"] == "CREATED"
            and self.clock.now() >= self.session_expiry[session_id]
        ):
            session["status"] = "EXPIRED"
        return session

    def forget_session(self, session_id: str) -> None:
        """Undo a session's creation (a payment link attempt that never started)."""
        del self.sessions[session_id]
        del self.session_expiry[session_id]
        self.link_attempts.pop(session_id, None)

    def session_view(self, session: JSON) -> JSON:
        """The session as the API shows it: once submitted, with the payment's authorization."""
        view = dict(session)
        payment = self.payments.get(session.get("payment_id") or "")
        if payment is not None:
            view["authorization"] = payment["authorization"]
        return view

    # -- creations (payments, client sessions and payment links) -------------------------
    def replay_of(self, kind: CreationKind, key: str | None) -> str | None:
        """The id an earlier request with `key` created, if creations are deduplicated;
        None: create anew."""
        if key is None or not self.deduplicate_creates:
            return None
        return self.idempotency.get((kind, key))

    def record_creation(self, kind: CreationKind, resource_id: str, key: str | None) -> None:
        self.creation_keys[resource_id] = key
        # A server that does not deduplicate keeps no memory of keys: none is remembered.
        if key is not None and self.deduplicate_creates:
            self.idempotency[(kind, key)] = resource_id

    def created(
        self, kind: CreationKind, *, key: str | None = None, order_reference: str | None = None
    ) -> list[JSON]:
        """Payments, sessions or links (as the API shows them) in creation order, filtered."""
        if kind not in ("payments", "client_sessions", "payment_links"):
            raise ValueError(
                f"kind must be 'payments', 'client_sessions' or 'payment_links', not {kind!r}"
            )
        if kind == "payments":
            pairs = [(p, p.get("order_reference")) for p in self.payments.values()]
        elif kind == "payment_links":
            pairs = [(link, _reference(link.get("order"))) for link in self.payment_links.values()]
        else:
            for session_id in self.sessions:
                self.session(session_id)  # past its expiry it shows EXPIRED, as a GET would
            views = [self.session_view(s) for s in self.sessions.values()]
            pairs = [(v, _reference(v.get("order"))) for v in views]
        return [
            resource
            for resource, reference in pairs
            if (key is None or self.creation_keys.get(resource["id"]) == key)
            and (order_reference is None or reference == order_reference)
        ]

    # -- payments ----------------------------------------------------------------------
    def add_payment(self, payment: JSON, source: JSON) -> None:
        self.payments[payment["id"]] = payment
        webhook = source.get("webhook")
        if isinstance(webhook, dict) and isinstance(webhook.get("url"), str):
            self.webhook_urls[payment["id"]] = webhook["url"]
        if isinstance(source.get("shopper_redirection_url"), str):
            self.return_urls[payment["id"]] = source["shopper_redirection_url"]
        self.books[payment["id"]] = {}
        self.ledger[payment["id"]] = []

    def changed(self, payment: JSON) -> None:
        """Announce that `payment` changed (after its `version` was bumped)."""
        for listener in list(self.listeners):
            listener(payment)

    @staticmethod
    def snapshot(obj: JSON) -> JSON:
        """A deep copy, so what tests inspect can't alter the sandbox (and vice versa)."""
        return copy.deepcopy(obj)


STATE = web.AppKey("purse_sandbox_state", SandboxState)
