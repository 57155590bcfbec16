"""OAuth2 client credentials for the emulated API: the token endpoint, and the middleware that
requires a known unexpired bearer token and the right `x-api-key` on every API call."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable

from aiohttp import web

from ._problems import API_PREFIXES, ApiProblem, oauth_error
from ._state import STATE

__all__ = ["auth_middleware", "token_route"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Redirections must be verifiable by anyone holding the URL: the JWKS needs no credentials.
PUBLIC_SUFFIXES = ("/signing-jwks",)
# The Wallet API (saved cards) sits beside the Payment API, behind the same checks.
GUARDED_PREFIXES = (*API_PREFIXES, "/wallet/v3/")


def _client_credentials(request: web.Request, form: dict[str, str]) -> tuple[str, str] | None:
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            client_id, sep, secret = (
                base64.b64decode(encoded, validate=True).decode().partition(":")
            )
        except (binascii.Error, UnicodeDecodeError):
            return None
        return (client_id, secret) if sep else None
    if "client_id" in form and "client_secret" in form:
        return form["client_id"], form["client_secret"]
    return None


async def token(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    state.stats.token_requests += 1
    raw = await request.post()
    form = {k: v for k, v in raw.items() if isinstance(v, str)}
    creds = _client_credentials(request, form)
    if creds is None:
        return oauth_error(401, "invalid_client", "Client authentication failed")
    if form.get("grant_type") != "client_credentials":
        return oauth_error(400, "unsupported_grant_type", "grant_type must be client_credentials")
    expected = state.credentials
    if creds != (expected.client_id, expected.client_secret):
        return oauth_error(401, "invalid_client", "Client authentication failed")
    if request.headers.get("x-api-key") != expected.api_key:
        return oauth_error(401, "invalid_client", "missing or unknown x-api-key")
    answer: dict[str, object] = {
        "access_token": state.issue_token(),
        "token_type": "Bearer",
        "expires_in": int(state.token_lifetime),
    }
    if form.get("scope"):
        # Every scope asked for is granted, and said so (RFC 6749 section 5.1).
        answer["scope"] = form["scope"]
    return web.json_response(answer, headers={"Cache-Control": "no-store"})


def token_route() -> web.RouteDef:
    return web.post("/oauth/token", token)


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    path = request.path
    if not path.startswith(GUARDED_PREFIXES) or path.endswith(PUBLIC_SUFFIXES):
        return await handler(request)
    state = request.app[STATE]
    scheme, _, bearer = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not state.token_valid(bearer.strip()):
        raise ApiProblem(
            401,
            "Unauthorized",
            "missing, unknown or expired access token",
            type_="urn:eu.purse:unauthorized",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    api_key = request.headers.get("x-api-key")
    if not api_key:
        raise ApiProblem(
            401,
            "Unauthorized",
            "the x-api-key header is missing",
            type_="urn:eu.purse:unauthorized",
        )
    if api_key != state.credentials.api_key:
        raise ApiProblem(
            403, "Forbidden", "this x-api-key is not valid", type_="urn:eu.purse:forbidden"
        )
    return await handler(request)
