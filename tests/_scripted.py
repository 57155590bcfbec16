"""A loopback aiohttp.web server that answers a scripted sequence and records every request.

Used where a test needs an exact sequence (503 then 201, a dropped connection, a 401 ...).
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import attrs
from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@attrs.define
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


def reply(
    status: int = 200,
    body: Any = None,
    headers: dict[str, str] | None = None,
    content_type: str = "application/json",
) -> Handler:
    """A scripted answer: status + JSON body (or raw text/bytes)."""

    async def handler(request: web.Request) -> web.StreamResponse:
        if body is None:
            return web.Response(status=status, headers=headers)
        if isinstance(body, (bytes, str)):
            return web.Response(
                status=status,
                body=body if isinstance(body, bytes) else body.encode(),
                headers=headers,
                content_type=content_type,
            )
        return web.json_response(body, status=status, headers=headers, content_type=content_type)

    return handler


def problem(status: int, title: str = "Error", **fields: Any) -> Handler:
    return reply(
        status,
        {"type": "about:blank", "title": title, "status": status, **fields},
        content_type="application/problem+json",
    )


async def drop(request: web.Request) -> web.StreamResponse:
    """Close the connection without answering (the request did reach the server)."""
    assert request.transport is not None
    request.transport.close()
    raise asyncio.CancelledError


def stall(seconds: float) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(seconds)
        return web.json_response({})

    return handler


@asynccontextmanager
async def serve(app: web.Application, **runner_options: Any) -> AsyncIterator[str]:
    """Serve `app` on 127.0.0.1 (a free port) for the block; yields its base URL."""
    runner = web.AppRunner(app, access_log=None, **runner_options)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


class ScriptedServer:
    """Answers `POST /oauth/token` with fresh tokens (unless scripted) and every other path from
    its script queue, falling back to `default` (404)."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.script: dict[str, deque[Handler]] = defaultdict(deque)
        #: Answers used for a path once its script queue is empty.
        self.routes: dict[str, Handler] = {}
        self.token_lifetime = 3600
        self.token_count = 0
        self.token_gate: asyncio.Event | None = None
        self._serving: AbstractAsyncContextManager[str] | None = None
        self.base_url = ""

    def add(self, path: str, *handlers: Handler) -> None:
        self.script[path].extend(handlers)

    def of(self, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.path == path]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.requests.append(Recorded(request.method, request.path, dict(request.headers), body))
        queue = self.script.get(request.path)
        if queue:
            return await queue.popleft()(request)
        if request.path in self.routes:
            return await self.routes[request.path](request)
        if request.path == "/oauth/token":
            return await self._token(request)
        return web.json_response(
            {"type": "about:blank", "title": "Not Found", "status": 404}, status=404
        )

    async def _token(self, request: web.Request) -> web.StreamResponse:
        if self.token_gate is not None:
            await self.token_gate.wait()
        self.token_count += 1
        return web.json_response(
            {
                "access_token": f"tok-{self.token_count}",
                "token_type": "Bearer",
                "expires_in": self.token_lifetime,
            }
        )

    async def __aenter__(self) -> ScriptedServer:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._serving = serve(app, handler_cancellation=True)
        self.base_url = await self._serving.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._serving is not None
        await self._serving.__aexit__(None, None, None)
