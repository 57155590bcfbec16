"""Webhook delivery: POST the payment JSON to the session's `webhook.url` whenever the payment's
`amounts` change, optionally HMAC-signed, in background tasks the sandbox awaits on close."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from typing import Any

import aiohttp
import attrs

__all__ = ["WebhookDelivery", "WebhookDispatcher"]

SIGNATURE_HEADER = "x-purse-signature"


@attrs.define
class WebhookDelivery:
    """One webhook the sandbox sent: `status` once answered, `error` if it could not be sent."""

    url: str
    headers: dict[str, str]
    body: dict[str, Any]
    status: int | None = None
    error: str | None = None


def signature(secret: str, body: bytes) -> str:
    """The `x-purse-signature` value: `sha256=` + hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookDispatcher:
    """Sends deliveries without blocking the API answer; one ClientSession, opened lazily."""

    def __init__(self, secret: str | None, timeout: float = 10.0) -> None:
        self.secret = secret
        self.timeout = timeout
        self.deliveries: list[WebhookDelivery] = []
        self._http: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        # Last `amounts` sent per payment: a change of anything else (e.g. a settled
        # authorization with the same amounts) is not a webhook trigger.
        self._sent: dict[str, Any] = {}

    def notify(self, url: str, payment: dict[str, Any]) -> None:
        if payment["id"] in self._sent and self._sent[payment["id"]] == payment["amounts"]:
            return
        self._sent[payment["id"]] = dict(payment["amounts"])
        # Serialized now: the body is the payment as it was at this change, not later.
        body = json.dumps(payment).encode()
        headers = {"Content-Type": "application/json"}
        if self.secret:
            headers[SIGNATURE_HEADER] = signature(self.secret, body)
        record = WebhookDelivery(url=url, headers=headers, body=json.loads(body))
        self.deliveries.append(record)
        task = asyncio.get_running_loop().create_task(self._send(record, body))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, record: WebhookDelivery, body: bytes) -> None:
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        try:
            async with self._http.post(record.url, data=body, headers=record.headers) as resp:
                record.status = resp.status
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            record.error = f"{type(exc).__name__}: {exc}"

    async def drain(self) -> None:
        """Wait until every delivery scheduled so far was answered or failed."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self, grace: float) -> None:
        """Let in-flight deliveries finish for up to `grace` seconds, cancel the rest, close."""
        if self._tasks:
            _, pending = await asyncio.wait(list(self._tasks), timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        if self._http is not None:
            await self._http.close()
            self._http = None
