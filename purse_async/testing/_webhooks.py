"""Webhook delivery: POST the payment JSON as of each change (each new `version`) to the session's
`webhook.url`, optionally HMAC-signed, in background tasks; and the delivery faults tests inject.

Purse documents the trigger (the payment's `amounts` change) and the body (the GetPayment JSON);
the sandbox sends one delivery per new `version` (a superset), one at a time per URL in change
order unless a fault says otherwise: `WebhookFaults` duplicates, holds back (out of order) or
delays deliveries, as a real network and retrying sender may (assumption, docs/sandbox.md).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from typing import Any

import aiohttp
import attrs

__all__ = ["WebhookDelivery", "WebhookDispatcher", "WebhookFaults"]

SIGNATURE_HEADER = "x-purse-signature"


@attrs.define
class WebhookDelivery:
    """One webhook the sandbox sent: `status` once answered, `error` if it could not be sent.
    `duplicate`: this is the second copy of a delivery; `held`: it was held back, then released;
    `delay`: seconds it waited before leaving."""

    url: str
    headers: dict[str, str]
    body: dict[str, Any]
    status: int | None = None
    error: str | None = None
    duplicate: bool = False
    held: bool = False
    delay: float = 0.0


@attrs.define
class _Outgoing:
    """A delivery decided at the change (body frozen then), waiting to be sent."""

    record: WebhookDelivery
    raw: bytes
    copies: int


def signature(secret: str, body: bytes) -> str:
    """The `x-purse-signature` value: `sha256=` + hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookFaults:
    """What to do to the next webhook deliveries (`Sandbox.webhook_faults`). Call these on the
    sandbox's event loop. Counted faults apply to the next deliveries in change order."""

    def __init__(self, dispatcher: WebhookDispatcher) -> None:
        self._dispatcher = dispatcher
        self._duplicates = 0
        self._holds = 0
        self._delay = 0.0
        self._held: list[_Outgoing] = []

    def duplicate_next(self, n: int = 1) -> None:
        """Deliver each of the next `n` webhooks twice (same body, same signature)."""
        self._duplicates += _count(n)

    def hold_next(self, n: int = 1) -> None:
        """Hold back the next `n` webhooks until `release_held()`: they then arrive after the
        ones sent meanwhile (a held version 2 arrives after version 3)."""
        self._holds += _count(n)

    def release_held(self) -> int:
        """Send every held webhook now, oldest first, after those already on their way; how
        many were released. `Sandbox.wait_for_webhooks()` then waits for them too."""
        released, self._held = self._held, []
        for outgoing in released:
            outgoing.record.held = True
            self._dispatcher.schedule(outgoing)
        return len(released)

    def delay(self, seconds: float) -> None:
        """Make every later webhook wait `seconds` before it leaves (0 stops delaying); the
        API answers at once, the webhooks come late but in order."""
        if seconds < 0:
            raise ValueError("seconds must be >= 0")
        self._delay = float(seconds)

    def clear(self) -> None:
        """Forget the duplicates, holds and delay still to apply (held webhooks stay held)."""
        self._duplicates = self._holds = 0
        self._delay = 0.0

    @property
    def held(self) -> list[WebhookDelivery]:
        """The webhooks held back and not yet released, oldest first."""
        return [outgoing.record for outgoing in self._held]

    def _apply(self, outgoing: _Outgoing) -> bool:
        """Decide this delivery's faults; False if it is held back for now."""
        outgoing.record.delay = self._delay
        if self._duplicates:
            self._duplicates -= 1
            outgoing.copies = 2
        if self._holds:
            self._holds -= 1
            self._held.append(outgoing)
            return False
        return True


def _count(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError("n must be an integer >= 0")
    return n


class WebhookDispatcher:
    """Sends deliveries without blocking the API answer; one ClientSession, opened lazily."""

    def __init__(self, secret: str | None, timeout: float = 10.0) -> None:
        self.secret = secret
        self.timeout = timeout
        self.deliveries: list[WebhookDelivery] = []
        self.faults = WebhookFaults(self)
        self._http: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        # The last delivery scheduled per URL: the next one waits for it, so a receiver sees
        # versions in order unless a fault reorders them on purpose.
        self._last: dict[str, asyncio.Task[None]] = {}
        # (payment id, version) already notified: each version is delivered once.
        self._notified: set[tuple[str, int]] = set()

    def notify(self, url: str, payment: dict[str, Any]) -> None:
        stamp = (payment["id"], payment["version"])
        if stamp in self._notified:
            return
        self._notified.add(stamp)
        # Serialized now: the body is the payment as it was at this change, not later.
        raw = json.dumps(payment).encode()
        headers = {"Content-Type": "application/json"}
        if self.secret:
            headers[SIGNATURE_HEADER] = signature(self.secret, raw)
        record = WebhookDelivery(url=url, headers=headers, body=json.loads(raw))
        outgoing = _Outgoing(record, raw, copies=1)
        if self.faults._apply(outgoing):
            self.schedule(outgoing)

    def schedule(self, outgoing: _Outgoing) -> None:
        """Queue `outgoing` behind the last delivery to its URL (must run on the loop)."""
        first = outgoing.record
        records = [first]
        for _ in range(outgoing.copies - 1):
            body = json.loads(outgoing.raw)
            copy = attrs.evolve(first, headers=dict(first.headers), body=body, duplicate=True)
            records.append(copy)
        self.deliveries.extend(records)
        before = self._last.get(outgoing.record.url)
        task = asyncio.get_running_loop().create_task(self._send(records, outgoing.raw, before))
        self._last[outgoing.record.url] = task
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(
        self, records: list[WebhookDelivery], raw: bytes, before: asyncio.Task[None] | None
    ) -> None:
        if records[0].delay:
            await asyncio.sleep(records[0].delay)
        if before is not None:
            await asyncio.wait([before])  # its outcome is recorded on its own records
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        for record in records:
            try:
                async with self._http.post(record.url, data=raw, headers=record.headers) as resp:
                    record.status = resp.status
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
                record.error = f"{type(exc).__name__}: {exc}"

    async def drain(self) -> None:
        """Wait until every delivery scheduled so far was answered or failed (held ones are
        not scheduled until released)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self, grace: float) -> None:
        """Let in-flight deliveries finish for up to `grace` seconds, cancel the rest, close."""
        if self._tasks:
            _, pending = await asyncio.wait(list(self._tasks), timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        self._last.clear()
        if self._http is not None:
            await self._http.close()
            self._http = None
