"""Read-only admin routes under `/_sandbox/`, for tests running in other processes (Celery
workers, Locust workers, a fleet of benchmark processes) against one sandbox served by
`python -m purse_async sandbox --port N`: its counters, its ledger and what it created.

    GET /_sandbox/stats                       token requests, requests by path and by endpoint
    GET /_sandbox/ledger                      every payment's ledger: {payment_id: [entry, ...]}
    GET /_sandbox/ledger/{payment_id}         one payment's ledger (404 if unknown)
    GET /_sandbox/payments?order_reference=R&idempotency_key=K   payments created, filtered
    GET /_sandbox/payments/{payment_id}       one payment as the sandbox holds it
    GET /_sandbox/client-sessions?order_reference=R&idempotency_key=K
    GET /_sandbox/payment-links?order_reference=R&idempotency_key=K

Only peers on this machine (127.0.0.0/8, ::1) are answered, whatever interface the sandbox
listens on; others get 403. Nothing can be changed through these routes. They are served
ahead of the sandbox's counting and fault injection: reading the counters neither changes them
nor consumes an injected fault. `SandboxAdmin` reads them from blocking code (stdlib only).
"""

from __future__ import annotations

import ipaddress
import json
import re
import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import attrs
from aiohttp import web

from ._problems import ApiProblem, not_found
from ._state import STATE, CreationKind, SandboxState

__all__ = ["ADMIN_PREFIX", "SandboxAdmin", "endpoint_of", "install_admin"]

ADMIN_PREFIX = "/_sandbox/"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
JSON = dict[str, Any]

# An id in a path: a UUID (payments, sessions, operations) or a long hex/word token.
_ID_SEGMENT = re.compile(
    r"^(?:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|[A-Za-z]{0,4}_?[0-9a-fA-F]{16,})$"
)


def endpoint_of(path: str) -> str:
    """`path` with its ids replaced by `{id}`: `/payment/v2/payments/{id}/captures`."""
    return "/".join("{id}" if _ID_SEGMENT.match(part) else part for part in path.split("/"))


def _peer_is_loopback(request: web.Request) -> bool:
    # The transport's peer, not `request.remote` nor any header: a proxy header can't open it.
    transport = request.transport
    peer = transport.get_extra_info("peername") if transport is not None else None
    if not peer or not isinstance(peer, (tuple, list)):
        return False
    try:
        address = ipaddress.ip_address(str(peer[0]).split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def _state(request: web.Request) -> SandboxState:
    return request.app[STATE]


async def _stats(request: web.Request) -> web.StreamResponse:
    state = _state(request)
    by_path = dict(state.stats.requests_by_path)
    by_endpoint: Counter[str] = Counter()
    for key, count in by_path.items():
        method, _, path = key.partition(" ")
        by_endpoint[f"{method} {endpoint_of(path)}"] += count
    return web.json_response(
        {
            "token_requests": state.stats.token_requests,
            "requests": sum(by_path.values()),
            "requests_by_path": by_path,
            "requests_by_endpoint": dict(by_endpoint),
            "payments": len(state.payments),
            "client_sessions": len(state.sessions),
            "payment_links": len(state.payment_links),
        }
    )


def _entries(state: SandboxState, payment_id: str) -> list[JSON]:
    return [attrs.asdict(entry) for entry in state.ledger.get(payment_id, [])]


async def _ledgers(request: web.Request) -> web.StreamResponse:
    state = _state(request)
    return web.json_response({pid: _entries(state, pid) for pid in state.ledger})


async def _ledger(request: web.Request) -> web.StreamResponse:
    state = _state(request)
    payment_id = request.match_info["payment_id"]
    if payment_id not in state.ledger:
        raise not_found(f"no payment {payment_id!r}")
    return web.json_response({"payment_id": payment_id, "entries": _entries(state, payment_id)})


def _created(request: web.Request, kind: CreationKind) -> web.StreamResponse:
    state = _state(request)
    found = state.created(
        kind,
        key=request.query.get("idempotency_key"),
        order_reference=request.query.get("order_reference"),
    )
    return web.json_response({kind: [state.snapshot(resource) for resource in found]})


async def _payments(request: web.Request) -> web.StreamResponse:
    return _created(request, "payments")


async def _sessions(request: web.Request) -> web.StreamResponse:
    return _created(request, "client_sessions")


async def _payment_links(request: web.Request) -> web.StreamResponse:
    return _created(request, "payment_links")


async def _payment(request: web.Request) -> web.StreamResponse:
    state = _state(request)
    payment = state.payments.get(request.match_info["payment_id"])
    if payment is None:
        raise not_found(f"no payment {request.match_info['payment_id']!r}")
    return web.json_response(state.snapshot(payment))


def admin_routes() -> list[web.RouteDef]:
    p = ADMIN_PREFIX
    return [
        web.get(p + "stats", _stats),
        web.get(p + "ledger", _ledgers),
        web.get(p + "ledger/{payment_id}", _ledger),
        web.get(p + "payments", _payments),
        web.get(p + "payments/{payment_id}", _payment),
        web.get(p + "client-sessions", _sessions),
        web.get(p + "payment-links", _payment_links),
    ]


@web.middleware
async def _admin_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not request.path.startswith(ADMIN_PREFIX):
        return await handler(request)
    try:
        if not _peer_is_loopback(request):
            raise ApiProblem(
                403, "Forbidden", "the sandbox's admin routes answer this machine only"
            )
        try:
            # The matched route's own handler: the middlewares after this one (counting,
            # faults, auth) never see an admin read.
            return await request.match_info.handler(request)
        except (web.HTTPNotFound, web.HTTPMethodNotAllowed) as exc:
            raise ApiProblem(
                exc.status,
                exc.reason,
                f"no admin route for {request.method} {request.path} (read-only: GET only)",
            ) from None
    except ApiProblem as problem:
        return problem.response(request.path)


def install_admin(app: web.Application) -> None:
    """Add the `/_sandbox/` routes to a sandbox app, served ahead of its other middlewares."""
    app.middlewares.insert(0, _admin_middleware)
    app.add_routes(admin_routes())


class SandboxAdmin:
    """Blocking reader of a sandbox's admin routes (urllib only: usable from any process,
    framework or event loop). `base_url` is the sandbox's (`PURSE_BASE_URL`); `context` an
    `ssl.SSLContext` for a sandbox served over TLS. Never goes through a proxy."""

    def __init__(
        self, base_url: str, *, timeout: float = 10.0, context: ssl.SSLContext | None = None
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        handlers: list[Any] = [urllib.request.ProxyHandler({})]
        if context is not None:
            handlers.append(urllib.request.HTTPSHandler(context=context))
        self._opener = urllib.request.build_opener(*handlers)

    def get(self, path: str, **query: str | None) -> Any:
        """The decoded JSON of `GET /_sandbox/<path>?<query>` (None values left out);
        `KeyError` on 404, `RuntimeError` on any other error status."""
        params = {k: v for k, v in query.items() if v is not None}
        url = f"{self.base_url}{ADMIN_PREFIX}{path.lstrip('/')}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        try:
            with self._opener.open(url, timeout=self.timeout) as resp:
                return json.loads(resp.read())
        except urllib.error.HTTPError as err:
            with err:
                detail = err.read(2000).decode("utf-8", "replace")
            if err.code == 404:
                raise KeyError(path) from None
            raise RuntimeError(f"GET {url}: {err.code} {detail}") from None

    def stats(self) -> JSON:
        """`token_requests`, `requests`, `requests_by_path`, `requests_by_endpoint`,
        `payments`, `client_sessions`, `payment_links`."""
        stats: JSON = self.get("stats")
        return stats

    def ledger(self, payment_id: str) -> list[JSON]:
        """The payment's ledger entries (`kind`, `id`, `amount`, `idempotency_key`)."""
        entries: list[JSON] = self.get(f"ledger/{urllib.parse.quote(payment_id, safe='')}")[
            "entries"
        ]
        return entries

    def ledgers(self) -> dict[str, list[JSON]]:
        """Every payment's ledger entries, by payment id."""
        ledgers: dict[str, list[JSON]] = self.get("ledger")
        return ledgers

    def payments(
        self, *, order_reference: str | None = None, idempotency_key: str | None = None
    ) -> list[JSON]:
        found: list[JSON] = self.get(
            "payments", order_reference=order_reference, idempotency_key=idempotency_key
        )["payments"]
        return found

    def payment(self, payment_id: str) -> JSON:
        payment: JSON = self.get(f"payments/{urllib.parse.quote(payment_id, safe='')}")
        return payment

    def client_sessions(
        self, *, order_reference: str | None = None, idempotency_key: str | None = None
    ) -> list[JSON]:
        found: list[JSON] = self.get(
            "client-sessions", order_reference=order_reference, idempotency_key=idempotency_key
        )["client_sessions"]
        return found

    def payment_links(
        self, *, order_reference: str | None = None, idempotency_key: str | None = None
    ) -> list[JSON]:
        found: list[JSON] = self.get(
            "payment-links", order_reference=order_reference, idempotency_key=idempotency_key
        )["payment_links"]
        return found
