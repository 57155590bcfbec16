"""Client settings: credentials, environment, timeouts and retry policy, validated once.

`Settings` is frozen; `Settings.env_kwargs()` reads the `PURSE_*` variables; no secret in repr.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import attrs

from ._errors import ConfigurationError, ValidationError
from ._headers import check_headers
from ._json import DEFAULT_MAX_RESPONSE_SIZE

__all__ = ["ENVIRONMENTS", "RetryPolicy", "Settings"]

#: Known environments and their API base URLs (docs: references/convention).
ENVIRONMENTS: Mapping[str, str] = {
    "sandbox": "https://api.purse-sandbox.com",
    "production": "https://api.purse-live.com",
}

DEFAULT_TIMEOUT = 30.0


@attrs.frozen
class RetryPolicy:
    """How failed attempts are retried: count, backoff and the overall deadline.

    `max_retries` counts retries after the first attempt. `deadline` bounds the whole call,
    every attempt and wait included (None: no overall bound besides the per-attempt timeout).
    """

    max_retries: int = 2
    initial_backoff: float = 0.5
    max_backoff: float = 8.0
    jitter: float = 1.0
    max_retry_after: float = 60.0
    deadline: float | None = 120.0

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.max_retries, int) or self.max_retries < 0:
            raise ConfigurationError(f"max_retries must be an int >= 0, got {self.max_retries!r}")
        for name in ("initial_backoff", "max_backoff", "max_retry_after"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or value < 0:
                raise ConfigurationError(f"{name} must be a number >= 0, got {value!r}")
        if not 0 <= self.jitter <= 1:
            raise ConfigurationError(f"jitter must be between 0 and 1, got {self.jitter!r}")
        if self.deadline is not None and self.deadline <= 0:
            raise ConfigurationError(f"deadline must be > 0 or None, got {self.deadline!r}")


def is_loopback(host: str | None) -> bool:
    """Is `host` this machine (where cleartext HTTP exposes nothing on a network)?"""
    if not host:
        return False
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_url(name: str, value: str, *, allow_insecure_http: bool) -> str:
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError(f"{name} must be an absolute http(s) URL, got {value!r}")
    if parts.query or parts.fragment:
        raise ConfigurationError(f"{name} must not carry a query or fragment, got {value!r}")
    if parts.scheme == "http" and not allow_insecure_http and not is_loopback(parts.hostname):
        # The client secret (token request) and bearer tokens would cross the network in clear.
        raise ConfigurationError(
            f"{name} {value!r} is cleartext http:// to a host that is not this machine: use "
            f"https://, or pass allow_insecure_http=True if this is deliberate (a test proxy)"
        )
    return value.rstrip("/")


#: RFC 6749 section 3.3: scope tokens are printable ASCII but space, `"` and `\`.
_SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")


def check_scope(scope: object) -> str | None:
    """An OAuth2 `scope`: space-separated tokens (RFC 6749), normalized to single spaces."""
    if scope is None:
        return None
    tokens = scope.split(" ") if isinstance(scope, str) else None
    if not tokens or not all(_SCOPE_TOKEN.fullmatch(token) for token in tokens if token):
        raise ConfigurationError(
            "scope must be space-separated OAuth2 scope tokens (printable ASCII, no quote or "
            f"backslash), got {scope!r:.80}"
        )
    normalized = " ".join(token for token in tokens if token)
    if not normalized:
        raise ConfigurationError(f"scope must not be empty, got {scope!r:.80}")
    return normalized


@attrs.frozen(repr=False)
class Settings:
    """Validated configuration of one client. Build it through `AsyncPurse(...)` or `from_env()`."""

    client_id: str
    client_secret: str
    api_key: str
    entity_id: str | None
    base_url: str
    token_url: str
    environment: str | None
    timeout: float
    retry: RetryPolicy
    token_refresh_margin: float = 60.0
    jwks_min_refresh_interval: float = 30.0
    max_connections: int = 100
    default_headers: Mapping[str, str] = attrs.field(factory=dict)
    #: Purse deduplicates payment and client-session creation by idempotency key (not
    #: documented; see docs/reliability.md): if True, an ambiguous creation is re-sent.
    idempotent_creates: bool = False
    max_response_size: int = DEFAULT_MAX_RESPONSE_SIZE
    #: The Wallet API's merchant id (saved cards: `purse.wallet`), if configured.
    merchant_id: str | None = None
    #: The OAuth2 `scope` the token request asks for (None: no scope sent).
    scope: str | None = None

    def __repr__(self) -> str:
        # Only what is safe to print: ids and URLs, never the secret or the api key.
        return (
            f"Settings(client_id={self.client_id!r}, entity_id={self.entity_id!r}, "
            f"merchant_id={self.merchant_id!r}, scope={self.scope!r}, "
            f"base_url={self.base_url!r}, environment={self.environment!r}, "
            f"client_secret='***', api_key='***')"
        )

    @classmethod
    def build(
        cls,
        *,
        client_id: str | None,
        client_secret: str | None,
        api_key: str | None,
        entity_id: str | None = None,
        environment: str | None = None,
        base_url: str | None = None,
        token_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = 2,
        deadline: float | None = 120.0,
        retry: RetryPolicy | None = None,
        token_refresh_margin: float = 60.0,
        max_connections: int = 100,
        default_headers: Mapping[str, str] | None = None,
        idempotent_creates: bool = False,
        max_response_size: int = DEFAULT_MAX_RESPONSE_SIZE,
        allow_insecure_http: bool = False,
        merchant_id: str | None = None,
        scope: str | None = None,
    ) -> Settings:
        for name, value in (
            ("client_id", client_id),
            ("client_secret", client_secret),
            ("api_key", api_key),
        ):
            if value is None or not isinstance(value, str) or not value.strip():
                raise ConfigurationError(
                    f"{name} is missing or empty: pass {name}=... or set PURSE_{name.upper()}"
                )
        assert client_id is not None and client_secret is not None and api_key is not None
        if entity_id is not None and (not isinstance(entity_id, str) or not entity_id.strip()):
            raise ConfigurationError(f"entity_id must be a non-empty string, got {entity_id!r}")
        if merchant_id is not None and (
            not isinstance(merchant_id, str) or not merchant_id.strip()
        ):
            raise ConfigurationError(
                f"merchant_id must be a non-empty string, got {merchant_id!r:.80}"
            )
        scope = check_scope(scope)
        if base_url is None:
            env = environment or "sandbox"
            if env not in ENVIRONMENTS:
                raise ConfigurationError(
                    f"environment must be one of {sorted(ENVIRONMENTS)} (or pass base_url=...), "
                    f"got {environment!r}"
                )
            base_url = ENVIRONMENTS[env]
            environment = env
        insecure = allow_insecure_http
        base = _check_url("base_url", base_url, allow_insecure_http=insecure)
        tok = (
            _check_url("token_url", token_url, allow_insecure_http=insecure)
            if token_url
            else f"{base}/oauth/token"
        )
        if not isinstance(timeout, (int, float)) or timeout <= 0:
            raise ConfigurationError(f"timeout must be a number > 0, got {timeout!r}")
        if not isinstance(max_connections, int) or max_connections < 1:
            raise ConfigurationError(
                f"max_connections must be an int >= 1, got {max_connections!r}"
            )
        if token_refresh_margin < 0:
            raise ConfigurationError(
                f"token_refresh_margin must be >= 0, got {token_refresh_margin!r}"
            )
        if (
            isinstance(max_response_size, bool)
            or not isinstance(max_response_size, int)
            or max_response_size < 1024
        ):
            raise ConfigurationError(
                f"max_response_size must be an int >= 1024 (bytes), got {max_response_size!r}"
            )
        if not isinstance(idempotent_creates, bool):
            raise ConfigurationError(
                f"idempotent_creates must be True or False, got {idempotent_creates!r}"
            )
        headers = dict(default_headers or {})
        try:
            check_headers(headers, "default_headers")
        except ValidationError as exc:
            raise ConfigurationError(str(exc)) from None
        policy = retry or RetryPolicy(max_retries=max_retries, deadline=deadline)
        return cls(
            client_id=client_id,
            client_secret=client_secret,
            api_key=api_key,
            entity_id=entity_id,
            base_url=base,
            token_url=tok,
            environment=environment,
            timeout=float(timeout),
            retry=policy,
            token_refresh_margin=float(token_refresh_margin),
            max_connections=max_connections,
            default_headers=headers,
            idempotent_creates=idempotent_creates,
            max_response_size=max_response_size,
            merchant_id=merchant_id,
            scope=scope,
        )

    @staticmethod
    def env_kwargs(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
        """Read the `PURSE_*` variables into keyword arguments for `build` (empty ones ignored)."""
        env = os.environ if environ is None else environ
        names = {
            "client_id": "PURSE_CLIENT_ID",
            "client_secret": "PURSE_CLIENT_SECRET",
            "api_key": "PURSE_API_KEY",
            "entity_id": "PURSE_ENTITY_ID",
            "merchant_id": "PURSE_MERCHANT_ID",
            "scope": "PURSE_SCOPE",
            "environment": "PURSE_ENVIRONMENT",
            "base_url": "PURSE_BASE_URL",
            "token_url": "PURSE_TOKEN_URL",
        }
        return {key: env[var] for key, var in names.items() if env.get(var)}
