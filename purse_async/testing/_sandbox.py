"""`Sandbox`: the emulated Purse Payment API v2 on loopback as an async context manager; wires the
aiohttp app and owns the shopper helpers, saved cards, faults, counters, ledger and webhooks."""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ._admin import install_admin
from ._auth import auth_middleware, token_route
from ._faults import FaultInjector
from ._hosted import hosted_routes
from ._jws import jwks, sign_redirection
from ._operations import complete_authorization, operation_routes
from ._payment_links import (
    attempt_payment_link,
    link_listener,
    payment_link_hosted_routes,
    payment_link_routes,
)
from ._payment_routes import payment_routes
from ._payments import settle
from ._problems import problem_middleware
from ._psp import parse_card
from ._sessions import session_routes, submit_session
from ._state import STATE, CreationKind, Credentials, LedgerEntry, SandboxState, Stats
from ._wallet_routes import wallet_routes
from ._webhooks import WebhookDelivery, WebhookDispatcher, WebhookFaults

if TYPE_CHECKING:
    from .._client import AsyncPurse

__all__ = ["Sandbox"]

logger = logging.getLogger("purse_async.testing")
PREFIXES = ("/payment/v2", "/v2")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def _signing_jwks(request: web.Request) -> web.StreamResponse:
    return web.json_response(jwks())


class Sandbox:
    """An emulated Purse Payment API v2 on loopback: `async with Sandbox() as sb: ...`.

    `token_lifetime` (seconds) is the `expires_in` of issued tokens; `session_ttl` the client
    session lifetime; `webhook_secret` makes webhooks carry `x-purse-signature`;
    `pending_delay` settles PENDING authorizations (card 4000000000000077) as AUTHORIZED after
    that many seconds (None: only `settle_pending()` does). Every change of a payment is one new
    `version` and one webhook; `webhook_faults` duplicates, holds back or delays them.

    Saved cards: an authorization that asked to keep its card (`allow_future_usage: true`, or a
    split item's `save_token: true`) puts a `wallet_token` on its AUTHORIZED card transaction;
    `save_card()` makes one directly. `POST /payments` with one split item `{"wallet_token",
    "amount"}` is then a merchant-initiated payment (no 3-D Secure, no `browser`). The Wallet
    API route lists a customer's saved cards for `merchant_id` (in `client_kwargs()`). Partners,
    raw codes and eligibility: docs/sandbox.md.

    Pay by Link: `POST /payment-links` makes a link whose `links.hosted_page` stays payable until
    paid; each attempt is a payment (and its webhooks); a failed one sets the link back to
    OPENED, an AUTHORIZED one to PAID for good. Each link change is a new `version` and one
    webhook of the link JSON to the link's `webhook.url`. `pay_payment_link()` is the customer
    without a browser (docs/payment-links.md).

    Idempotency keys: captures, refunds and voids are always deduplicated by
    `x-idempotency-key` (documented by Purse): a key used before answers `409` problem+json
    `urn:eu.purse:write-conflict` with `resource_id` = the operation made first. Payment,
    client-session and payment-link creation, which Purse does not document, do the same while
    `deduplicate_creates` is True (the default; also an attribute to change later); when False
    they ignore the key and every request creates anew, as a server without deduplication would.
    `created(kind, idempotency_key=..., order_reference=...)` lists what was created, to prove
    "one payment for this order" or "this key made two sessions".
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        token_lifetime: float = 3600.0,
        session_ttl: float = 1800.0,
        webhook_secret: str | None = None,
        pending_delay: float | None = None,
        deduplicate_creates: bool = True,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.host = host
        self.port = port
        #: Serve https:// with this server-side context (e.g. a certificate from a test CA).
        self.ssl_context = ssl_context
        self.pending_delay = pending_delay
        self.state = SandboxState(token_lifetime=token_lifetime, session_ttl=session_ttl)
        self.state.deduplicate_creates = deduplicate_creates
        self.state.listeners.append(self._on_payment_change)
        # After the payment's own webhook: the link's status follows its attempt's payment.
        self.state.listeners.append(link_listener(self.state))
        self.state.link_listeners.append(self._on_link_change)
        self.faults = FaultInjector()
        self._webhooks = WebhookDispatcher(webhook_secret)
        self._runner: web.AppRunner | None = None
        self._timers: dict[str, asyncio.TimerHandle] = {}

    # -- what tests and demos use --------------------------------------------------------
    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:PORT` once started (`https://` with `ssl_context`)."""
        return self.state.base_url

    @property
    def credentials(self) -> Credentials:
        return self.state.credentials

    @property
    def merchant_id(self) -> str:
        """The Wallet API's merchant id that lists this sandbox's saved cards (random per
        sandbox; `GET /wallet/v3/wallet/merchants/{merchant_id}/...` with another is a 403)."""
        return self.state.wallet.merchant_id

    @property
    def stats(self) -> Stats:
        return self.state.stats

    @property
    def webhook_deliveries(self) -> list[WebhookDelivery]:
        return self._webhooks.deliveries

    @property
    def webhook_faults(self) -> WebhookFaults:
        """Faults for the next webhook deliveries: `duplicate_next(n)`, `hold_next(n)` then
        `release_held()`, `delay(seconds)`, `clear()` (call them on the sandbox's loop)."""
        return self._webhooks.faults

    @property
    def deduplicate_creates(self) -> bool:
        """Whether a payment, client-session or payment-link creation with an
        `x-idempotency-key` used before answers the 409 replay (True) or creates again (False).
        Keys seen while False are not remembered."""
        return self.state.deduplicate_creates

    @deduplicate_creates.setter
    def deduplicate_creates(self, value: bool) -> None:
        self.state.deduplicate_creates = bool(value)

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for `AsyncPurse` / `purse_sync.Purse` pointed at this sandbox."""
        creds = self.credentials
        return {
            "client_id": creds.client_id,
            "client_secret": creds.client_secret,
            "api_key": creds.api_key,
            "entity_id": creds.entity_id,
            "merchant_id": self.merchant_id,
            "base_url": self.base_url,
        }

    def client(self, **overrides: Any) -> AsyncPurse:
        """An `AsyncPurse` bound to this sandbox (close it, e.g. with `async with`)."""
        # Imported here: the sandbox itself never depends on the SDK it is meant to test.
        from purse_async import AsyncPurse

        return AsyncPurse(**{**self.client_kwargs(), **overrides})

    async def checkout(
        self,
        session_id: str,
        *,
        card: str = "4242424242424242",
        holder: str = "Jane Doe",
        expiry: str = "12/30",
        cvc: str = "123",
        gift_card: str | None = None,
        gift_card_amount: int | None = None,
    ) -> str:
        """Play the shopper on the hosted page (same logic, no HTTP): pay the session and return
        the redirect URL with `purse-redirection-data`. `ValueError` if the session is unknown,
        not CREATED (e.g. EXPIRED) or the card input is unusable. `cvc` is accepted, unused."""
        session = self.state.session(session_id)
        if session is None:
            raise ValueError(f"no client session {session_id!r}")
        _, url = submit_session(
            self.state,
            session,
            card=card,
            holder=holder,
            expiry=expiry,
            gift_card=gift_card,
            gift_card_amount=gift_card_amount,
        )
        return url

    async def pay_payment_link(
        self,
        payment_link_id: str,
        *,
        card: str = "4242424242424242",
        holder: str = "Jane Doe",
        expiry: str = "12/30",
        cvc: str = "123",
        gift_card: str | None = None,
        gift_card_amount: int | None = None,
    ) -> str:
        """Play the customer on a payment link's hosted page (same logic, no HTTP): one payment
        attempt, then the redirect URL with `purse-redirection-data`. `ValueError` if the link
        is unknown, PAID (further attempts are rejected) or PENDING, or the card input is
        unusable (then no attempt is made). `cvc` is accepted, unused."""
        link = self.state.payment_links.get(payment_link_id)
        if link is None:
            raise ValueError(f"no payment link {payment_link_id!r}")
        _, url = attempt_payment_link(
            self.state,
            link,
            card=card,
            holder=holder,
            expiry=expiry,
            gift_card=gift_card,
            gift_card_amount=gift_card_amount,
        )
        return url

    def save_card(
        self,
        number: str,
        *,
        customer_reference: str | None = None,
        holder: str = "Jane Doe",
        expiry: str = "12/30",
    ) -> str:
        """Save a card (e.g. a `MagicCards` number) as a wallet token for merchant-initiated
        payments; the token id `wt_<32 hex>`. The same card (number, expiry) for the same
        customer keeps one token. `ValueError` if `number` or `expiry` is not a card's."""
        return self.state.wallet.save(parse_card(number, holder, expiry), customer_reference)

    def settle_pending(self, payment_id: str, status: str = "AUTHORIZED") -> None:
        """Resolve a PENDING authorization now as AUTHORIZED, REFUSED or ERROR (call it on the
        sandbox's event loop): one new `version`, one webhook. `ValueError` if the payment has
        nothing pending."""
        timer = self._timers.pop(payment_id, None)
        if timer is not None:
            timer.cancel()
        complete_authorization(self.state, settle(self.state, payment_id, status))

    def sign_redirection(
        self,
        claims: dict[str, Any],
        *,
        kid: str | None = None,
        headers: dict[str, Any] | None = None,
    ) -> str:
        """A JWS signed with the sandbox key (as `purse-redirection-data` is), for tests."""
        return sign_redirection(claims, kid=kid, headers=headers)

    def jwks(self) -> dict[str, Any]:
        """The body `GET /payment/v2/signing-jwks` answers."""
        return jwks()

    def expire_all_tokens(self) -> None:
        """Forget every issued token: the next API call with one answers 401."""
        self.state.expire_all_tokens()

    def advance_clock(self, seconds: float) -> None:
        """Move the sandbox clock forward (token and session expiry) without sleeping."""
        self.state.clock.advance(seconds)

    def ledger(self, payment_id: str) -> list[LedgerEntry]:
        """Every operation applied to the payment, in order: proof nothing ran twice."""
        return list(self.state.ledger.get(payment_id, []))

    def created(
        self,
        kind: CreationKind,
        *,
        idempotency_key: str | None = None,
        order_reference: str | None = None,
    ) -> list[dict[str, Any]]:
        """Copies of the "payments", "client_sessions" or "payment_links" created so far, oldest
        first (as `payment()` / `session()` / `payment_link()` show them), only those whose
        creating request carried
        `idempotency_key` and whose `order.reference` is `order_reference` when given. Payments
        include those made by paying a session (their request had no key)."""
        found = self.state.created(kind, key=idempotency_key, order_reference=order_reference)
        return [self.state.snapshot(resource) for resource in found]

    def payment(self, payment_id: str) -> dict[str, Any]:
        """A copy of the payment JSON as the sandbox holds it (`KeyError` if unknown)."""
        return self.state.snapshot(self.state.payments[payment_id])

    def payment_link(self, payment_link_id: str) -> dict[str, Any]:
        """A copy of the payment link JSON as the API shows it (`KeyError` if unknown)."""
        return self.state.snapshot(self.state.payment_links[payment_link_id])

    def session(self, session_id: str) -> dict[str, Any]:
        """A copy of the client session JSON as the API shows it (`KeyError` if unknown)."""
        session = self.state.session(session_id)
        if session is None:
            raise KeyError(session_id)
        return self.state.snapshot(self.state.session_view(session))

    async def wait_for_webhooks(self) -> None:
        """Wait until every webhook scheduled so far was answered or failed."""
        await self._webhooks.drain()

    # -- internals -------------------------------------------------------------------
    def _on_payment_change(self, payment: dict[str, Any]) -> None:
        url = self.state.webhook_urls.get(payment["id"])
        if url is not None:
            self._webhooks.notify(url, payment)
        pending = payment["authorization"]["status"] == "PENDING"
        if pending and self.pending_delay is not None and payment["id"] not in self._timers:
            loop = asyncio.get_running_loop()
            self._timers[payment["id"]] = loop.call_later(
                self.pending_delay, self._settle_later, payment["id"]
            )

    def _on_link_change(self, link: dict[str, Any]) -> None:
        webhook = link.get("webhook")
        if isinstance(webhook, dict) and isinstance(webhook.get("url"), str):
            self._webhooks.notify(webhook["url"], link)

    def _settle_later(self, payment_id: str) -> None:
        self._timers.pop(payment_id, None)
        payment = self.state.payments.get(payment_id)
        if payment is not None and payment["authorization"]["status"] == "PENDING":
            self.settle_pending(payment_id)

    @web.middleware
    async def _count(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self.state.stats.requests_by_path[f"{request.method} {request.path}"] += 1
        return await handler(request)

    def _app(self) -> web.Application:
        # Outermost first: counting sees every request, faults come before any handling (so an
        # injected 503 needs no token), problems and auth wrap the routes.
        app = web.Application(
            middlewares=[self._count, self.faults.middleware, problem_middleware, auth_middleware]
        )
        app[STATE] = self.state
        install_admin(app)  # read-only /_sandbox/ routes for other processes
        app.add_routes([token_route()])
        for prefix in PREFIXES:
            app.add_routes(session_routes(prefix))
            app.add_routes(payment_routes(prefix))
            app.add_routes(operation_routes(prefix))
            app.add_routes(payment_link_routes(prefix))
            app.add_routes([web.get(prefix + "/signing-jwks", _signing_jwks)])
        app.add_routes(wallet_routes())
        app.add_routes(hosted_routes())
        app.add_routes(payment_link_hosted_routes())
        return app

    async def start(self) -> Sandbox:
        if self._runner is not None:
            raise RuntimeError("this sandbox is already running")
        # handler_cancellation: a client that gives up (timeout, Ctrl-C) cancels the handler,
        # so an injected latency never applies an operation the client no longer waits for.
        runner = web.AppRunner(
            self._app(), access_log=None, handler_cancellation=True, shutdown_timeout=1.0
        )
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, self.port, ssl_context=self.ssl_context).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        host = "127.0.0.1" if self.host in ("", "0.0.0.0", "::") else self.host
        scheme = "http" if self.ssl_context is None else "https"
        self.state.base_url = f"{scheme}://{f'[{host}]' if ':' in host else host}:{self.port}"
        logger.debug("Purse sandbox listening on %s", self.state.base_url)
        return self

    async def close(self, *, webhook_grace: float = 1.0) -> None:
        """Stop serving; give in-flight webhook deliveries `webhook_grace` seconds to finish,
        cancel the rest; release everything. Safe to call twice."""
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self._webhooks.close(webhook_grace)

    async def __aenter__(self) -> Sandbox:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
