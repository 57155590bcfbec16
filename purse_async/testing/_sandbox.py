"""`Sandbox`: the emulated Purse API on 127.0.0.1 as an async context manager, with its shopper,
fault injection, counters, ledger and webhook deliveries."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any

import aiohttp
import attrs
from aiohttp import web

from ._api import build_routes
from ._faults import FaultInjector
from ._hosted import hosted_routes
from ._keys import sign_redirection
from ._state import Credentials, LedgerEntry, SandboxState, Stats

if TYPE_CHECKING:
    from .._client import AsyncPurse

__all__ = ["Sandbox", "WebhookDelivery"]


@attrs.define
class WebhookDelivery:
    url: str
    headers: dict[str, str]
    body: dict[str, Any]
    status: int | None = None
    error: str | None = None


class Sandbox:
    """An emulated Purse Payment API v2 on loopback; `async with Sandbox() as sb:`."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        token_lifetime: float = 3600.0,
        session_ttl: float = 1800.0,
        webhook_secret: str | None = None,
        pending_delay: float | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.state = SandboxState(token_lifetime=token_lifetime, session_ttl=session_ttl)
        self.faults = FaultInjector()
        self.webhook_secret = webhook_secret
        self.pending_delay = pending_delay
        self.webhook_deliveries: list[WebhookDelivery] = []
        self.base_url = ""
        self._runner: web.AppRunner | None = None
        self._http: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._timers: list[asyncio.TimerHandle] = []

    # -- what tests use --------------------------------------------------------------
    @property
    def credentials(self) -> Credentials:
        return self.state.credentials

    @property
    def stats(self) -> Stats:
        return self.state.stats

    def client_kwargs(self) -> dict[str, Any]:
        creds = self.credentials
        return {
            "client_id": creds.client_id,
            "client_secret": creds.client_secret,
            "api_key": creds.api_key,
            "entity_id": creds.entity_id,
            "base_url": self.base_url,
        }

    def client(self, **overrides: Any) -> AsyncPurse:
        """An `AsyncPurse` pointed at this sandbox (close it, e.g. with `async with`)."""
        from .._client import AsyncPurse

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
        """Play the shopper on the hosted page without a browser; the redirect URL, carrying
        `purse-redirection-data`. Raises `ValueError` if the session cannot be paid."""
        session = self.state.session(session_id)
        if session is None:
            raise ValueError(f"no client session {session_id!r}")
        if session["status"] != "CREATED":
            raise ValueError(f"client session {session_id} is {session['status']}")
        payment, url = self.state.submit_session(
            session,
            card=card,
            holder=holder,
            expiry=expiry,
            gift_card=gift_card,
            gift_card_amount=gift_card_amount,
        )
        self.payment_changed(payment)
        return url

    def settle_pending(self, payment_id: str, status: str = "AUTHORIZED") -> None:
        """Resolve a PENDING authorization (the 4000000000000077 card) now."""
        self.payment_changed(self.state.settle(payment_id, status))

    def sign_redirection(
        self,
        claims: dict[str, Any],
        *,
        kid: str | None = None,
        headers: dict[str, Any] | None = None,
    ) -> str:
        return sign_redirection(claims, kid=kid, headers=headers)

    def expire_all_tokens(self) -> None:
        self.state.expire_all_tokens()

    def ledger(self, payment_id: str) -> list[LedgerEntry]:
        """Every operation applied to the payment, in order: proof nothing ran twice."""
        return list(self.state.ledger.get(payment_id, []))

    def payment(self, payment_id: str) -> dict[str, Any]:
        """The payment JSON as the sandbox holds it."""
        return self.state.payments[payment_id]

    # -- internals -------------------------------------------------------------------
    def payment_changed(self, payment: dict[str, Any]) -> None:
        """Webhook (if the session asked for one) and the delayed PENDING settlement."""
        if self.pending_delay is not None and payment["authorization"]["status"] == "PENDING":
            loop = asyncio.get_running_loop()
            self._timers.append(
                loop.call_later(self.pending_delay, self.settle_pending, payment["id"])
            )
        session_id = self.state.session_of_payment.get(payment["id"])
        session = self.state.sessions.get(session_id or "")
        webhook = (session or {}).get("webhook")
        if isinstance(webhook, dict) and isinstance(webhook.get("url"), str):
            body = json.dumps(payment).encode()
            task = asyncio.get_running_loop().create_task(self._deliver(webhook["url"], body))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _deliver(self, url: str, body: bytes) -> None:
        headers = {"Content-Type": "application/json"}
        if self.webhook_secret:
            digest = hmac.new(self.webhook_secret.encode(), body, hashlib.sha256).hexdigest()
            headers["x-purse-signature"] = f"sha256={digest}"
        record = WebhookDelivery(url=url, headers=headers, body=json.loads(body))
        self.webhook_deliveries.append(record)
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        try:
            async with self._http.post(url, data=body, headers=headers) as resp:
                record.status = resp.status
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            record.error = f"{type(exc).__name__}: {exc}"

    async def wait_for_webhooks(self) -> None:
        """Wait until every webhook scheduled so far was delivered (or failed)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    @web.middleware
    async def _count(
        self,
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        self.state.stats.requests_by_path[f"{request.method} {request.path}"] += 1
        return await handler(request)

    async def start(self) -> Sandbox:
        app = web.Application(middlewares=[self._count, self.faults.middleware])
        app.add_routes(build_routes(self))
        app.add_routes(hosted_routes(self))
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server
        assert server is not None
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1]
        self.base_url = f"http://{self.host}:{self.port}"
        return self

    async def close(self) -> None:
        for timer in self._timers:
            timer.cancel()
        await self.wait_for_webhooks()
        if self._http is not None:
            await self._http.close()
            self._http = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Sandbox:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
