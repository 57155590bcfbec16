"""Error answers of the emulated API: RFC 7807 problem+json (validation, rules, replays, the
creations' idempotency), OAuth2 errors for the token endpoint, and the problems middleware."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from ._state import STATE, CreationKind, SandboxState

__all__ = [
    "API_PREFIXES",
    "ApiProblem",
    "FieldErrors",
    "idempotent_create",
    "not_found",
    "oauth_error",
    "problem_middleware",
    "problem_response",
    "read_json",
    "write_conflict",
]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
API_PREFIXES = ("/payment/v2/", "/v2/")


class ApiProblem(Exception):
    """Raised by handlers; answered as problem+json by `problem_middleware`."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        *,
        type_: str = "about:blank",
        errors: list[dict[str, str]] | None = None,
        pointer: str | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.type = type_
        self.errors = list(errors or [])
        if pointer is not None:
            self.errors.append({"pointer": pointer, "detail": detail or title})
        self.headers = headers or {}
        self.extra = extra or {}

    def response(self, instance: str) -> web.Response:
        body: dict[str, Any] = {"type": self.type, "title": self.title, "status": self.status}
        if self.detail:
            body["detail"] = self.detail
        body["instance"] = instance
        if self.errors:
            body["errors"] = self.errors
        body.update(self.extra)
        return problem_response(body, headers=self.headers)


class FieldErrors:
    """Collects every invalid field of a request, so one 400 names them all."""

    def __init__(self) -> None:
        self.items: list[dict[str, str]] = []

    def add(self, pointer: str, detail: str) -> None:
        self.items.append({"pointer": pointer, "detail": detail})

    def raise_if_any(self) -> None:
        if self.items:
            # Each field's message is in `errors` only: a `detail` repeating them made clients
            # that show both (the SDK's error message) say every one twice. The wording is the
            # one Purse's Express Checkout API documents for its validation errors.
            raise ApiProblem(
                400,
                "Invalid request",
                "The request body contains invalid fields.",
                type_="urn:eu.purse:validation-error",
                errors=self.items,
            )


def not_found(detail: str) -> ApiProblem:
    """The 404 of an unknown id: `detail` says what was looked for."""
    return ApiProblem(404, "Not Found", detail, type_="urn:eu.purse:not-found")


def problem_response(
    body: dict[str, Any], *, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        status=int(body["status"]),
        text=json.dumps(body),
        content_type="application/problem+json",
        headers=headers,
    )


def write_conflict(instance: str, resource_id: str) -> web.Response:
    """The documented idempotency replay answer: 409 naming what the first request created."""
    return problem_response(
        {
            "type": "urn:eu.purse:write-conflict",
            "title": "Idempotency violation",
            "status": 409,
            "instance": instance,
            "resource_id": resource_id,
        }
    )


async def idempotent_create(
    request: web.Request,
    kind: CreationKind,
    make: Callable[[SandboxState, dict[str, Any]], dict[str, Any]],
    then: Callable[[SandboxState, dict[str, Any]], None] | None = None,
) -> web.StreamResponse:
    """A create route: the 409 replay if this `x-idempotency-key` made something already,
    else `make(state, body)` recorded under the key, `then(state, created)`, and a 201 of it."""
    state = request.app[STATE]
    body = await read_json(request)
    # No await from here on: the key check and the creation are atomic on the loop.
    key = request.headers.get("x-idempotency-key") or None
    first = state.replay_of(kind, key)
    if first is not None:
        return write_conflict(request.path, first)
    created = make(state, body)
    state.record_creation(kind, created["id"], key)
    if then is not None:
        then(state, created)
    return web.json_response(created, status=201)


def oauth_error(status: int, error: str, description: str) -> web.Response:
    headers = {"WWW-Authenticate": 'Basic realm="purse"'} if status == 401 else None
    return web.json_response(
        {"error": error, "error_description": description}, status=status, headers=headers
    )


async def read_json(request: web.Request) -> dict[str, Any]:
    """The JSON object body (empty body = `{}`); anything else is a 400."""
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise ApiProblem(
            400, "Invalid request", "the body is not valid JSON", type_="urn:eu.purse:bad-json"
        ) from None
    if not isinstance(body, dict):
        raise ApiProblem(
            400, "Invalid request", "the body must be a JSON object", type_="urn:eu.purse:bad-json"
        )
    return body


@web.middleware
async def problem_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiProblem as problem:
        return problem.response(request.path)
    except (web.HTTPNotFound, web.HTTPMethodNotAllowed) as exc:
        # API clients get a problem body they can parse; pages keep aiohttp's plain answer.
        if not request.path.startswith(API_PREFIXES):
            raise
        return ApiProblem(
            exc.status,
            exc.reason,
            f"no route for {request.method} {request.path}",
            type_="urn:eu.purse:not-found" if exc.status == 404 else "about:blank",
        ).response(request.path)
