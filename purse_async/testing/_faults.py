"""Fault injection: injected error answers (5xx, 429 + Retry-After), latency, and dropped
connections before or after the operation ran; applied by a middleware ahead of the handlers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any, Literal

import attrs
from aiohttp import web

from ._problems import API_PREFIXES

__all__ = ["FaultInjector"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@attrs.define
class _Rule:
    kind: Literal["fail", "drop_before", "drop_after"]
    remaining: int
    path: str | None
    status: int = 503
    retry_after: float | None = None
    body: Any = None


def _matches(pattern: str | None, path: str) -> bool:
    # No pattern = the API calls an SDK makes (never its token request nor the shopper's
    # pages), so a fault meant for a capture can't be swallowed by a token refresh.
    return path.startswith(API_PREFIXES) if pattern is None else pattern in path


def _format_seconds(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else f"{seconds:g}"


class FaultInjector:
    """What the sandbox should break next. `path` is a substring of the request path; without
    it, rules match every API call under /payment/v2 or /v2 (not /oauth/token, not /hosted).
    Counted rules are consumed in the order they were added; latency lasts until `clear()`."""

    def __init__(self) -> None:
        self._rules: list[_Rule] = []
        self._latency: list[tuple[float, str | None]] = []

    def fail_next(
        self,
        n: int = 1,
        *,
        status: int = 503,
        path: str | None = None,
        retry_after: float | None = None,
        body: Any = None,
    ) -> None:
        """Answer the next `n` matching requests with `status` (problem+json unless `body`
        is given: a dict/list is sent as JSON, str/bytes as is), without running them."""
        self._rules.append(_Rule("fail", n, path, status, retry_after, body))

    def rate_limit(self, n: int = 1, *, retry_after: float = 1.0, path: str | None = None) -> None:
        """Answer the next `n` matching requests 429 with `Retry-After: retry_after`."""
        self.fail_next(n, status=429, path=path, retry_after=retry_after)

    def latency(self, seconds: float, *, path: str | None = None) -> None:
        """Delay every matching request by `seconds` (cumulative) until `clear()`."""
        self._latency.append((seconds, path))

    def drop_connection(
        self, n: int = 1, *, when: Literal["before", "after"] = "before", path: str | None = None
    ) -> None:
        """Close the connection of the next `n` matching requests without an answer: "before"
        the handler runs (nothing happened), or "after" it (the operation was applied, the
        answer lost: how duplicate charges happen without idempotency keys)."""
        if when not in ("before", "after"):
            raise ValueError(f"when must be 'before' or 'after', not {when!r}")
        self._rules.append(_Rule("drop_before" if when == "before" else "drop_after", n, path))

    def clear(self) -> None:
        self._rules.clear()
        self._latency.clear()

    @property
    def pending(self) -> int:
        """How many counted faults are still to be served."""
        return sum(rule.remaining for rule in self._rules)

    def _take(self, path: str) -> _Rule | None:
        for rule in self._rules:
            if rule.remaining > 0 and _matches(rule.path, path):
                rule.remaining -= 1
                return rule
        return None

    def _response(self, rule: _Rule, path: str) -> web.Response:
        headers = {}
        if rule.retry_after is not None:
            headers["Retry-After"] = _format_seconds(rule.retry_after)
        if isinstance(rule.body, (str, bytes)):
            return web.Response(status=rule.status, body=rule.body, headers=headers)
        body = rule.body
        if body is None:
            body = {
                "type": "about:blank",
                "title": "Too Many Requests" if rule.status == 429 else "Injected fault",
                "status": rule.status,
                "detail": "fault injected by the sandbox",
                "instance": path,
            }
        content_type = "application/problem+json" if rule.body is None else "application/json"
        return web.Response(
            status=rule.status, text=json.dumps(body), headers=headers, content_type=content_type
        )

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        delay = sum(s for s, p in self._latency if _matches(p, request.path))
        if delay > 0:
            await asyncio.sleep(delay)
        rule = self._take(request.path)
        if rule is None:
            return await handler(request)
        if rule.kind == "fail":
            return self._response(rule, request.path)
        if rule.kind == "drop_after":
            await handler(request)  # applied server-side; the answer never leaves
        if request.transport is not None:
            request.transport.abort()
        # Ends this request's task without writing anything (aiohttp logs it at debug level
        # as a premature disconnection); the client sees the connection reset.
        raise asyncio.CancelledError
