"""A fault proxy for the reliability campaign: sits between the SDK and the sandbox on 127.0.0.1.

Every request is forwarded to the upstream and its whole answer read first, so a faulted capture,
refund or void WAS applied; then the answer is broken on its way back for the first attempt (the
first time its `x-idempotency-key` is seen) of about `share` of the money calls. The token
endpoint, GETs and every retry pass through untouched.

Faults: "truncate" (the full Content-Length declared, half the body sent, connection closed),
"garble" (same status, random bytes), "garble_json" (same status, valid JSON of the wrong shape),
"drop" (connection closed, no answer), "delay" (the answer held `delay` seconds, past the
client's per-attempt timeout).
"""

from __future__ import annotations

import asyncio
import json
import random
import re
from collections.abc import Mapping
from typing import Literal, NoReturn

import aiohttp
from aiohttp import web

__all__ = ["FAULTS", "Fault", "FaultProxy"]

Fault = Literal["truncate", "garble", "garble_json", "drop", "delay"]
FAULTS: tuple[Fault, ...] = ("truncate", "garble", "garble_json", "drop", "delay")

MONEY_CALL = re.compile(r"/payments/[^/]+/(captures|refunds|voids)$")
# Framing and hop-by-hop headers: aiohttp writes its own on each leg.
NOT_FORWARDED = frozenset(
    {"host", "content-length", "transfer-encoding", "connection", "keep-alive", "content-encoding"}
)


def _forwardable(headers: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k.lower() not in NOT_FORWARDED}


def _hang_up(request: web.Request, *, flush: bool) -> NoReturn:
    """Close the client's connection (after sending what was written, if `flush`) and end the
    handler without an answer, as the sandbox's own dropped-connection fault does."""
    if request.transport is not None:
        if flush:
            request.transport.close()
        else:
            request.transport.abort()
    raise asyncio.CancelledError


class FaultProxy:
    """`async with FaultProxy(sandbox.base_url, "truncate") as proxy:` then point the SDK at
    `proxy.base_url`. `faulted` counts the answers broken, `forwarded` every request."""

    def __init__(
        self,
        upstream: str,
        fault: Fault,
        *,
        share: float = 0.5,
        delay: float = 1.0,
        seed: int = 0,
    ) -> None:
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}")
        self.upstream = upstream.rstrip("/")
        self.fault = fault
        self.share = share
        self.delay = delay
        self.faulted = 0
        self.forwarded = 0
        self.base_url = ""
        self._rng = random.Random(seed)  # which calls: the same share whatever the timing
        self._garbage = random.Random(seed + 1)
        self._seen: set[str] = set()
        self._session: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None

    def _selected(self, request: web.Request) -> bool:
        """The first attempt of about `share` of the money calls; never a retry, never a token."""
        key = request.headers.get("x-idempotency-key")
        if request.method != "POST" or not key or not MONEY_CALL.search(request.path):
            return False
        if key in self._seen:
            return False
        self._seen.add(key)
        return self._rng.random() < self.share

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        faulty = self._selected(request)
        body = await request.read()
        assert self._session is not None
        self.forwarded += 1
        async with self._session.request(
            request.method,
            self.upstream + request.path_qs,
            data=body or None,
            headers=_forwardable(request.headers),
            allow_redirects=False,
        ) as upstream:
            payload = await upstream.read()  # the whole answer: the upstream is done
            status = upstream.status
            headers = _forwardable(upstream.headers)
        if not faulty:
            return web.Response(status=status, body=payload, headers=headers)
        self.faulted += 1
        if self.fault == "truncate":
            response = web.StreamResponse(status=status, headers=headers)
            response.content_length = len(payload)
            await response.prepare(request)
            await response.write(payload[: len(payload) // 2])
            _hang_up(request, flush=True)
        if self.fault == "drop":
            _hang_up(request, flush=False)
        if self.fault == "garble":
            return web.Response(
                status=status, body=self._garbage.randbytes(len(payload)), headers=headers
            )
        if self.fault == "garble_json":
            try:
                original = json.loads(payload)
            except ValueError:
                original = None
            # Valid JSON, wrong shape: the operation wrapped in an envelope the SDK doesn't know.
            return web.Response(
                status=status, body=json.dumps({"data": original}).encode(), headers=headers
            )
        # "delay": if the client gives up first, handler_cancellation ends this sleep.
        await asyncio.sleep(self.delay)
        return web.Response(status=status, body=payload, headers=headers)

    async def start(self) -> FaultProxy:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=1.0
        )
        await runner.setup()
        self._runner = runner
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        self.base_url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> FaultProxy:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
