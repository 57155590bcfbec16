"""Fault injection for tests and load scripts: failures, 429s, latency and dropped connections.

Rules match by path substring and are consumed in order; the middleware applies them.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import attrs
from aiohttp import web

__all__ = ["FaultInjector"]


@attrs.define
class _Rule:
    kind: str  # "fail" | "drop_before" | "drop_after"
    remaining: int
    path: str | None
    status: int = 503
    retry_after: float | None = None
    body: Any = None

    def matches(self, path: str) -> bool:
        return self.remaining > 0 and (self.path is None or self.path in path)


class FaultInjector:
    """What the sandbox should break next. Token requests are never faulted unless `path`
    names them (a fault meant for captures must not hide behind a token refresh)."""

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
        self._rules.append(_Rule("fail", n, path, status, retry_after, body))

    def rate_limit(self, n: int = 1, *, retry_after: float = 1.0, path: str | None = None) -> None:
        self.fail_next(n, status=429, path=path, retry_after=retry_after)

    def latency(self, seconds: float, *, path: str | None = None) -> None:
        self._latency.append((seconds, path))

    def drop_connection(self, n: int = 1, *, when: str = "before", path: str | None = None) -> None:
        if when not in ("before", "after"):
            raise ValueError(f"when must be 'before' or 'after', got {when!r}")
        self._rules.append(_Rule(f"drop_{when}", n, path))

    def clear(self) -> None:
        self._rules.clear()
        self._latency.clear()

    def _take(self, path: str) -> _Rule | None:
        for rule in self._rules:
            if rule.matches(path) and (rule.path is not None or path != "/oauth/token"):
                rule.remaining -= 1
                return rule
        return None

    def _delay(self, path: str) -> float:
        return sum(s for s, p in self._latency if p is None or p in path)

    @web.middleware
    async def middleware(
        self,
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        delay = self._delay(request.path)
        if delay:
            await asyncio.sleep(delay)
        rule = self._take(request.path)
        if rule is None:
            return await handler(request)
        if rule.kind == "fail":
            headers = {}
            if rule.retry_after is not None:
                headers["Retry-After"] = f"{rule.retry_after:g}"
            body = rule.body or {
                "type": "about:blank",
                "title": "Injected fault",
                "status": rule.status,
                "detail": "fault injected by the sandbox",
            }
            return web.Response(
                status=rule.status,
                text=json.dumps(body),
                headers=headers,
                content_type="application/problem+json",
            )
        if rule.kind == "drop_after":
            await handler(request)  # applied server-side, but the answer never leaves
        _drop(request)
        raise AssertionError("unreachable")


def _drop(request: web.Request) -> None:
    if request.transport is not None:
        request.transport.close()
    # Ends the handler without writing a response; the client sees a dropped connection.
    raise asyncio.CancelledError
