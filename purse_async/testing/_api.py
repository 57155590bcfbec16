"""The emulated Payment API v2 routes: OAuth2 token, client sessions, payments, operations, JWKS.

Every route answers under both `/payment/v2/...` and `/v2/...`; errors are problem+json.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from aiohttp import web

from . import _psp
from ._keys import jwks
from ._operations import Refusal, apply_operation
from ._state import LedgerEntry, iso_now

if TYPE_CHECKING:
    from ._sandbox import Sandbox

__all__ = ["build_routes", "problem"]

PREFIXES = ("/payment/v2", "/v2")
_CURRENCY = re.compile(r"[A-Z]{3}")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def problem(
    status: int,
    title: str,
    detail: str | None = None,
    *,
    instance: str | None = None,
    pointer: str | None = None,
    type_: str = "about:blank",
    **extra: Any,
) -> web.Response:
    body: dict[str, Any] = {"type": type_, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    if pointer:
        body["errors"] = [{"pointer": pointer, "detail": detail or title}]
    body.update(extra)
    return web.Response(
        status=status, text=json.dumps(body), content_type="application/problem+json"
    )


def _oauth_error(status: int, error: str, description: str) -> web.Response:
    return web.json_response({"error": error, "error_description": description}, status=status)


async def _json(request: web.Request) -> Any:
    raw = await request.read()
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except ValueError:
        raise Refusal(400, "Invalid request", "the body is not valid JSON") from None


def _check_amount(body: Mapping[str, Any], *, allow_zero: bool) -> None:
    amount = body.get("amount")
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise Refusal(400, "Invalid request", "amount must be an integer in minor units", "/amount")
    if amount < 0 or (amount == 0 and not allow_zero):
        raise Refusal(
            400, "Invalid request", "amount must be > 0 (0 only with allow_future_usage)", "/amount"
        )


def _check_common(sb: Sandbox, body: Any, required: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise Refusal(400, "Invalid request", "the body must be a JSON object")
    for name in required:
        if body.get(name) in (None, ""):
            raise Refusal(400, "Invalid request", f"{name} is required", f"/{name}")
    if body["entity_id"] != sb.credentials.entity_id:
        raise Refusal(
            403, "Forbidden", "entity_id does not belong to these credentials", "/entity_id"
        )
    if not isinstance(body["currency"], str) or not _CURRENCY.fullmatch(body["currency"]):
        raise Refusal(400, "Invalid request", "currency must be an ISO 4217 code", "/currency")
    _check_amount(body, allow_zero=body.get("allow_future_usage") is True)
    order = body.get("order")
    if order is not None and not isinstance(order, dict):
        raise Refusal(400, "Invalid request", "order must be an object", "/order")
    net = (order or {}).get("net_amount")
    if net is not None and (not isinstance(net, int) or net < body["amount"]):
        raise Refusal(
            400,
            "Invalid request",
            "Amount must be less or equal to order net amount minus already paid net amount.",
            "/order/net_amount",
        )
    return body


def build_routes(sb: Sandbox) -> list[web.RouteDef]:
    state = sb.state

    def guarded(handler: Handler, *, public: bool = False) -> Handler:
        async def wrapper(request: web.Request) -> web.StreamResponse:
            if request.headers.get("x-api-key") != state.credentials.api_key and not public:
                return problem(401, "Unauthorized", "missing or unknown x-api-key")
            auth = request.headers.get("Authorization", "")
            if not public or auth:
                scheme, _, token = auth.partition(" ")
                if scheme.lower() != "bearer" or not state.token_valid(token):
                    return problem(401, "Unauthorized", "missing, unknown or expired token")
            try:
                return await handler(request)
            except Refusal as refusal:
                return problem(
                    refusal.status,
                    refusal.title,
                    refusal.detail,
                    instance=request.path,
                    pointer=refusal.pointer,
                )

        return wrapper

    async def token(request: web.Request) -> web.StreamResponse:
        state.stats.token_requests += 1
        form = await request.post()
        client_id, secret = form.get("client_id"), form.get("client_secret")
        scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "basic":
            try:
                client_id, _, secret = base64.b64decode(encoded).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return _oauth_error(401, "invalid_client", "malformed Basic credentials")
        if form.get("grant_type") != "client_credentials":
            return _oauth_error(
                400, "unsupported_grant_type", "grant_type must be client_credentials"
            )
        creds = state.credentials
        if client_id != creds.client_id or secret != creds.client_secret:
            return _oauth_error(401, "invalid_client", "Client authentication failed")
        if request.headers.get("x-api-key") != creds.api_key:
            return _oauth_error(401, "invalid_client", "missing or unknown x-api-key")
        return web.json_response(
            {
                "access_token": state.issue_token(),
                "token_type": "Bearer",
                "expires_in": int(state.token_lifetime),
            }
        )

    async def create_session(request: web.Request) -> web.StreamResponse:
        body = _check_common(
            sb,
            await _json(request),
            ("entity_id", "amount", "currency", "shopper_redirection_url", "order"),
        )
        url = body["shopper_redirection_url"]
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise Refusal(
                400,
                "Invalid request",
                "shopper_redirection_url must be a URL",
                "/shopper_redirection_url",
            )
        session = state.create_session(body, sb.base_url)
        return web.json_response(state.public(session), status=201)

    def _session(request: web.Request) -> dict[str, Any]:
        session = state.session(request.match_info["id"])
        if session is None:
            raise Refusal(404, "Not Found", "no such client session")
        return session

    async def get_session(request: web.Request) -> web.StreamResponse:
        return web.json_response(state.public(_session(request)))

    async def abort_session(request: web.Request) -> web.StreamResponse:
        session = _session(request)
        if session["status"] != "CREATED":
            raise Refusal(409, "Conflict", f"the client session is {session['status']}")
        session["status"] = "ABORTED_BY_MERCHANT"
        return web.json_response(state.public(session))

    async def eligible(request: web.Request) -> web.StreamResponse:
        body = _check_common(sb, await _json(request), ("entity_id", "amount", "currency", "order"))
        solutions = [{"partner": p, "method": "creditcard"} for p in _psp.CARD_PSPS]
        solutions.append({"partner": _psp.GIFT_CARD_PSP, "method": "giftcard"})
        return web.json_response(
            {
                "amount": body["amount"],
                "currency": body["currency"],
                "eligible_solutions": solutions,
            }
        )

    async def create_payment(request: web.Request) -> web.StreamResponse:
        key = request.headers.get("x-idempotency-key")
        if key and ("payments", key) in state.idempotency:
            return problem(
                409,
                "Idempotency violation",
                instance=request.path,
                type_="urn:eu.purse:write-conflict",
                resource_id=state.idempotency[("payments", key)],
            )
        body = _check_common(
            sb, await _json(request), ("entity_id", "amount", "currency", "split", "browser")
        )
        split = body["split"]
        if not isinstance(split, list) or not split or not all(isinstance(i, dict) for i in split):
            raise Refusal(400, "Invalid request", "split must be a non-empty list", "/split")
        if not isinstance(body["browser"], dict):
            raise Refusal(400, "Invalid request", "browser must be an object", "/browser")
        transactions: list[dict[str, Any]] = []
        for i, item in enumerate(split):
            token = item.get("vault_form_token") or item.get("wallet_token")
            if not isinstance(token, str) or not token:
                raise Refusal(
                    400,
                    "Invalid request",
                    "vault_form_token is required",
                    f"/split/{i}/vault_form_token",
                )
            share = item.get("amount", body["amount"])
            transactions += _psp.authorize(
                card=token, holder="", expiry="12/30", amount=share, now=iso_now()
            )
        payment = state.new_payment(source=body, transactions=transactions, client_session_id=None)
        if key:
            state.idempotency[("payments", key)] = payment["id"]
        return web.json_response(payment, status=201)

    def _payment(request: web.Request) -> dict[str, Any]:
        payment = state.payments.get(request.match_info["id"])
        if payment is None:
            raise Refusal(404, "Not Found", "no such payment")
        return payment

    async def get_payment(request: web.Request) -> web.StreamResponse:
        return web.json_response(_payment(request))

    def operation(kind: str) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            payment = _payment(request)
            key = request.headers.get("x-idempotency-key")
            if key and (payment["id"], key) in state.idempotency:
                return problem(
                    409,
                    "Idempotency violation",
                    instance=request.path,
                    type_="urn:eu.purse:write-conflict",
                    resource_id=state.idempotency[(payment["id"], key)],
                )
            body = await _json(request)
            op = apply_operation(payment, state.books[payment["id"]], kind, body, iso_now())
            if key:
                state.idempotency[(payment["id"], key)] = op["id"]
            state.ledger[payment["id"]].append(LedgerEntry(kind, op["id"], op["amount"], key))
            sb.payment_changed(payment)
            return web.json_response(op, status=201)

        return handler

    async def signing_jwks(request: web.Request) -> web.StreamResponse:
        return web.json_response(jwks())

    routes: list[web.RouteDef] = [web.post("/oauth/token", token)]
    for prefix in PREFIXES:
        routes += [
            web.post(f"{prefix}/client-sessions", guarded(create_session)),
            web.get(f"{prefix}/client-sessions/{{id}}", guarded(get_session)),
            web.post(f"{prefix}/client-sessions/{{id}}/abort", guarded(abort_session)),
            web.post(f"{prefix}/eligible-solutions", guarded(eligible)),
            web.post(f"{prefix}/payments", guarded(create_payment)),
            web.get(f"{prefix}/payments/{{id}}", guarded(get_payment)),
            web.get(f"{prefix}/signing-jwks", guarded(signing_jwks, public=True)),
        ]
        for kind in ("captures", "refunds", "voids"):
            routes.append(web.post(f"{prefix}/payments/{{id}}/{kind}", guarded(operation(kind))))
    return routes
