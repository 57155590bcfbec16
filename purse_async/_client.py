"""`AsyncPurse`: the client users hold; it wires settings, transport, tokens and resources together.

Use it as `async with AsyncPurse(...) as purse:` or call `await purse.aclose()` when done.
"""

from __future__ import annotations

import asyncio
import inspect
import os
from collections.abc import Mapping
from ssl import SSLContext
from types import TracebackType
from typing import Any

import attrs

from ._auth import TokenManager, TokenStore
from ._config import RetryPolicy, Settings
from ._errors import APITimeoutError, ClientClosedError, ConfigurationError, ValidationError
from ._headers import check_headers
from ._json import DEFAULT_MAX_RESPONSE_SIZE
from ._logging import logger, setup_from_env
from ._network import ProxyRouter, check_network_options
from ._requester import Requester
from ._transport import HTTPResponse, HTTPSession, Transport
from ._version import __version__
from .resources import (
    AsyncClientSessions,
    AsyncEligibleSolutions,
    AsyncPaymentLinks,
    AsyncPayments,
    AsyncRedirections,
    AsyncSigningKeys,
    AsyncWalletTokens,
    AsyncWebhooks,
)
from .resources._base import AsyncAPIResource

__all__ = ["AsyncPurse"]

#: What `with_options` may change: defaults of the calls, nothing the pool or tokens depend on.
WITH_OPTIONS = (
    "timeout",
    "deadline",
    "max_retries",
    "retry_policy",
    "default_headers",
    "idempotent_creates",
)


class AsyncPurse:
    """Client of the Purse Payment API v2 for asyncio code: await its methods.

    Credentials come from the arguments (see `from_env()` for `PURSE_*` variables); a missing
    or empty one raises `ConfigurationError` naming it. `environment` is "sandbox" (default)
    or "production"; `base_url` overrides it (e.g. the embedded sandbox). `merchant_id` is the
    Wallet API's merchant (saved cards, `purse.wallet`); `scope` the OAuth2 scope the token
    request asks for (e.g. one Express Checkout needs). `timeout` bounds each
    attempt, `deadline` a whole call with its retries; `max_retries` retries connection errors,
    timeouts, 408, 429 and 5xx with exponential backoff, honouring Retry-After.

    Payment and client-session creation are re-sent only when they certainly did not reach
    Purse (`OutcomeUnknownError` otherwise) unless `idempotent_creates=True` (see
    docs/reliability.md). Answers larger than `max_response_size` bytes are refused while
    read. `http://` to a host other than this machine needs `allow_insecure_http=True`.

    Network: `proxy` is an http(s) proxy URL for every request (credentials in it are sent as
    Proxy-Authorization, never shown). `trust_env=True` honours `HTTPS_PROXY`, `HTTP_PROXY`,
    `ALL_PROXY` and `NO_PROXY` as requests and httpx do, read once when the client is made,
    except for loopback hosts, which never go through a proxy from the environment (~/.netrc is
    never read). `ssl` is an `ssl.SSLContext` (e.g. trusting a corporate CA) or False: no
    certificate verification, refused unless every host is this machine or
    `allow_unverified_tls=True` (then a warning is logged). `connect_timeout` bounds each TCP
    connect and TLS handshake: a request that could not connect was not sent, so it is retried
    like a refused connection (creations included). `max_connections_per_host` and
    `keepalive_timeout` (idle seconds before a pooled connection is closed; default 15) tune
    the pool. `http_session` (asyncio only, not in purse_sync) is an aiohttp.ClientSession you
    own: requests use it, closing the client leaves it open, and the proxy, TLS, trust_env and
    pool options must then be set on it instead.
    """

    client_sessions: AsyncClientSessions
    payments: AsyncPayments
    payment_links: AsyncPaymentLinks
    eligible_solutions: AsyncEligibleSolutions
    signing_keys: AsyncSigningKeys
    redirections: AsyncRedirections
    webhooks: AsyncWebhooks
    wallet: AsyncWalletTokens

    def __init__(
        self,
        *,
        client_id: str | None = None,
        client_secret: str | None = None,
        api_key: str | None = None,
        entity_id: str | None = None,
        merchant_id: str | None = None,
        environment: str | None = None,
        base_url: str | None = None,
        token_url: str | None = None,
        scope: str | None = None,
        timeout: float = 30.0,
        max_retries: int = 2,
        deadline: float | None = 120.0,
        retry_policy: RetryPolicy | None = None,
        token_store: TokenStore | None = None,
        max_connections: int = 100,
        default_headers: Mapping[str, str] | None = None,
        idempotent_creates: bool = False,
        max_response_size: int = DEFAULT_MAX_RESPONSE_SIZE,
        allow_insecure_http: bool = False,
        proxy: str | None = None,
        trust_env: bool = True,
        ssl: SSLContext | bool | None = None,
        allow_unverified_tls: bool = False,
        connect_timeout: float | None = None,
        max_connections_per_host: int | None = None,
        keepalive_timeout: float | None = None,
        http_session: HTTPSession | None = None,
    ) -> None:
        setup_from_env()
        self._settings = Settings.build(
            client_id=client_id,
            client_secret=client_secret,
            api_key=api_key,
            entity_id=entity_id,
            environment=environment,
            base_url=base_url,
            token_url=token_url,
            timeout=timeout,
            max_retries=max_retries,
            deadline=deadline,
            retry=retry_policy,
            max_connections=max_connections,
            default_headers=default_headers,
            idempotent_creates=idempotent_creates,
            max_response_size=max_response_size,
            allow_insecure_http=allow_insecure_http,
            merchant_id=merchant_id,
            scope=scope,
        )
        urls = (self._settings.base_url, self._settings.token_url)
        network = check_network_options(
            urls=urls,
            proxy=proxy,
            trust_env=trust_env,
            ssl=ssl,
            allow_unverified_tls=allow_unverified_tls,
            connect_timeout=connect_timeout,
            max_connections=max_connections,
            max_connections_per_host=max_connections_per_host,
            keepalive_timeout=keepalive_timeout,
            http_session=http_session is not None,
        )
        if network.unverified:
            logger.warning(
                "TLS certificate verification is OFF for %s (allow_unverified_tls=True): "
                "anyone on the network path can read and change every request, credentials "
                "included",
                ", ".join(network.unverified),
            )
        # A caller's session routes by its own settings (its trust_env, its proxy).
        proxies = None if http_session is not None else ProxyRouter.build(network, os.environ, urls)
        self._transport = Transport(
            max_connections=self._settings.max_connections,
            user_agent=f"purse-python/{__version__}",
            max_response_size=self._settings.max_response_size,
            network=network,
            proxies=proxies,
            http_session=http_session,
        )
        self._tokens = TokenManager(self._settings, store=token_store)
        requester = Requester(self._settings, self._transport, self._tokens)
        self._tokens.bind(requester.fetch_token)
        self._requester = requester
        settings = self._settings
        self.client_sessions = AsyncClientSessions(requester, settings)
        self.payments = AsyncPayments(requester, settings)
        self.payment_links = AsyncPaymentLinks(requester, settings)
        self.eligible_solutions = AsyncEligibleSolutions(requester, settings)
        self.signing_keys = AsyncSigningKeys(requester, settings)
        self.redirections = AsyncRedirections(requester, settings)
        self.webhooks = AsyncWebhooks(requester, settings)
        self.wallet = AsyncWalletTokens(requester, settings)

    @classmethod
    def from_env(cls, **overrides: Any) -> AsyncPurse:
        """Build a client from `PURSE_CLIENT_ID`, `PURSE_CLIENT_SECRET`, `PURSE_API_KEY`,
        `PURSE_ENTITY_ID`, `PURSE_MERCHANT_ID`, `PURSE_ENVIRONMENT`, `PURSE_BASE_URL`,
        `PURSE_TOKEN_URL` and `PURSE_SCOPE`; keyword arguments override them."""
        return cls(**{**Settings.env_kwargs(), **overrides})

    @property
    def settings(self) -> Settings:
        """The validated settings (secrets hidden from repr)."""
        return self._settings

    @property
    def token_requests(self) -> int:
        """How many OAuth2 tokens this client has fetched (retries of one fetch count once)."""
        return self._tokens.requests_made

    async def authenticate(self, *, deadline: float | None = None) -> None:
        """Obtain an OAuth2 token now (it is otherwise fetched by the first call).

        Useful at start-up to fail fast on wrong credentials: raises `AuthenticationError`.
        `deadline` bounds the whole token request with its retries (each attempt is bounded
        by the client's `timeout`).
        """
        if deadline is None:
            await self._tokens.get_token()
            return
        try:
            await asyncio.wait_for(self._tokens.get_token(), deadline)
        except asyncio.TimeoutError:
            raise APITimeoutError(
                f"token request timed out after {deadline:.3g}s", url=self._settings.token_url
            ) from None

    def with_options(self, **overrides: Any) -> AsyncPurse:
        """A client with other defaults that shares this one's connection pool, OAuth2 token,
        JWKS cache and in-memory stores (attempts, webhook versions).

        It may change `timeout` (per attempt), `deadline` (whole call), `max_retries`,
        `retry_policy` (replaces the policy; `max_retries` and `deadline` then adjust it),
        `default_headers` (merged over this client's) and `idempotent_creates`; anything that
        would need another connection pool or other credentials (`base_url`, `client_id`,
        `proxy`, `max_connections`, ...) raises `ConfigurationError` naming it: make another
        client for that. Cheap (no connection, no token request): e.g.
        `purse.with_options(deadline=5).payments.retrieve(payment_id)`.

        Closing the derived client ends only its own use (its calls then raise
        `ClientClosedError`); closing this client closes the pool for every client derived
        from it. Tokens are fetched under this client's settings.
        """
        settings = _derived_settings(self._settings, overrides)
        transport = self._transport
        shared = transport.shared if isinstance(transport, _SharedTransport) else transport
        view = _SharedTransport(shared)
        requester = Requester(settings, view, self._tokens)
        child = object.__new__(type(self))
        # Whatever the parent holds is shared (pool, tokens, caches), except what differs.
        vars(child).update(vars(self))
        child._settings = settings
        child._transport = view
        child._requester = requester
        for name, value in vars(self).items():
            if isinstance(value, AsyncAPIResource):
                setattr(child, name, value._derive(requester, settings))
        return child

    @property
    def is_closed(self) -> bool:
        return self._transport.closed

    async def aclose(self) -> None:
        """Close the connection pool. Idempotent; the client cannot be used afterwards.

        A client made by `with_options` only stops using the pool it shares: closing the
        client it was made from closes the pool (for every client derived from it).
        """
        await self._transport.aclose()

    def _abandon(self) -> None:
        # For purse_sync after fork(): drop the parent's connection pool untouched.
        self._transport.abandon()

    async def __aenter__(self) -> AsyncPurse:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        s = self._settings
        return f"AsyncPurse(base_url={s.base_url!r}, client_id={s.client_id!r})"


def _refused(name: str) -> Exception:
    if name in inspect.signature(AsyncPurse.__init__).parameters:
        return ConfigurationError(
            f"with_options() cannot change {name}: the derived client shares this one's "
            f"connection pool and credentials; create another client for another {name}"
        )
    return TypeError(f"with_options() got an unexpected keyword argument {name!r}")


def _seconds(name: str, value: object, *, optional: bool) -> float | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        bound = "None or a number > 0" if optional else "a number > 0"
        raise ConfigurationError(f"{name} must be {bound}, got {value!r:.80}")
    return float(value)


def _derived_settings(settings: Settings, overrides: Mapping[str, Any]) -> Settings:
    """`settings` with the defaults `with_options` may change, each checked as the
    constructor checks it (`ConfigurationError` naming the first bad one)."""
    for name in overrides:
        if name not in WITH_OPTIONS:
            raise _refused(name)
    policy = settings.retry
    given = overrides.get("retry_policy")
    if given is not None:
        if not isinstance(given, RetryPolicy):
            raise ConfigurationError(
                f"retry_policy must be a RetryPolicy, got {type(given).__name__}"
            )
        policy = given
    changes: dict[str, Any] = {}
    if "max_retries" in overrides:
        retries = overrides["max_retries"]
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise ConfigurationError(f"max_retries must be an int >= 0, got {retries!r:.80}")
        changes["max_retries"] = retries
    if "deadline" in overrides:
        changes["deadline"] = _seconds("deadline", overrides["deadline"], optional=True)
    if changes:
        policy = attrs.evolve(policy, **changes)
    timeout = settings.timeout
    if "timeout" in overrides:
        value = _seconds("timeout", overrides["timeout"], optional=False)
        assert value is not None
        timeout = value
    headers = settings.default_headers
    extra = overrides.get("default_headers")
    if extra is not None:
        if not isinstance(extra, Mapping):
            raise ConfigurationError(f"default_headers must be a mapping, got {extra!r:.80}")
        headers = {**headers, **extra}
        try:
            check_headers(headers, "default_headers")
        except ValidationError as exc:
            raise ConfigurationError(str(exc)) from None
    creates = overrides.get("idempotent_creates", settings.idempotent_creates)
    if not isinstance(creates, bool):
        raise ConfigurationError(f"idempotent_creates must be True or False, got {creates!r:.80}")
    return attrs.evolve(
        settings,
        timeout=timeout,
        retry=policy,
        default_headers=headers,
        idempotent_creates=creates,
    )


class _SharedTransport(Transport):
    """The transport of a client made by `with_options`: its parent's pool (`shared`), with a
    `closed` of its own. Closing it leaves the pool open; closing the parent closes the pool,
    and this one with it. Only what the requester and the client use is overridden; anything
    else is read from the shared transport."""

    def __init__(self, shared: Transport) -> None:  # no super().__init__(): it owns nothing
        self.shared = shared
        self._own_closed = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.shared, name)

    @property
    def closed(self) -> bool:
        return self._own_closed or self.shared.closed

    async def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        data: bytes | Mapping[str, str] | None = None,
        timeout: float,
        idempotency_key: str | None = None,
    ) -> HTTPResponse:
        if self._own_closed:
            raise ClientClosedError("this Purse client is closed; create a new one")
        return await self.shared.send(
            method,
            url,
            headers=headers,
            data=data,
            timeout=timeout,
            idempotency_key=idempotency_key,
        )

    async def aclose(self) -> None:
        self._own_closed = True

    def abandon(self) -> None:
        self._own_closed = True
