"""`AsyncPurse`: the client users hold; it wires settings, transport, tokens and resources together.

Use it as `async with AsyncPurse(...) as purse:` or call `await purse.aclose()` when done.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from types import TracebackType
from typing import Any

from ._auth import TokenManager, TokenStore
from ._config import RetryPolicy, Settings
from ._errors import APITimeoutError
from ._json import DEFAULT_MAX_RESPONSE_SIZE
from ._logging import setup_from_env
from ._requester import Requester
from ._transport import Transport
from ._version import __version__
from .resources import (
    AsyncClientSessions,
    AsyncEligibleSolutions,
    AsyncPayments,
    AsyncRedirections,
    AsyncSigningKeys,
    AsyncWebhooks,
)

__all__ = ["AsyncPurse"]


class AsyncPurse:
    """Client of the Purse Payment API v2 for asyncio code: await its methods.

    Credentials come from the arguments (see `from_env()` for `PURSE_*` variables); a missing
    or empty one raises `ConfigurationError` naming it. `environment` is "sandbox" (default)
    or "production"; `base_url` overrides it (e.g. the embedded sandbox). `timeout` bounds each
    attempt, `deadline` a whole call with its retries; `max_retries` retries connection errors,
    timeouts, 408, 429 and 5xx with exponential backoff, honouring Retry-After.

    Payment and client-session creation are re-sent only when they certainly did not reach
    Purse (`OutcomeUnknownError` otherwise) unless `idempotent_creates=True` (see
    docs/reliability.md). Answers larger than `max_response_size` bytes are refused while
    read. `http://` to a host other than this machine needs `allow_insecure_http=True`.
    """

    client_sessions: AsyncClientSessions
    payments: AsyncPayments
    eligible_solutions: AsyncEligibleSolutions
    signing_keys: AsyncSigningKeys
    redirections: AsyncRedirections
    webhooks: AsyncWebhooks

    def __init__(
        self,
        *,
        client_id: str | None = None,
        client_secret: str | None = None,
        api_key: str | None = None,
        entity_id: str | None = None,
        environment: str | None = None,
        base_url: str | None = None,
        token_url: str | None = None,
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
        )
        self._transport = Transport(
            max_connections=self._settings.max_connections,
            user_agent=f"purse-python/{__version__}",
            max_response_size=self._settings.max_response_size,
        )
        self._tokens = TokenManager(self._settings, store=token_store)
        requester = Requester(self._settings, self._transport, self._tokens)
        self._tokens.bind(requester.fetch_token)
        self._requester = requester
        settings = self._settings
        self.client_sessions = AsyncClientSessions(requester, settings)
        self.payments = AsyncPayments(requester, settings)
        self.eligible_solutions = AsyncEligibleSolutions(requester, settings)
        self.signing_keys = AsyncSigningKeys(requester, settings)
        self.redirections = AsyncRedirections(requester, settings)
        self.webhooks = AsyncWebhooks(requester, settings)

    @classmethod
    def from_env(cls, **overrides: Any) -> AsyncPurse:
        """Build a client from `PURSE_CLIENT_ID`, `PURSE_CLIENT_SECRET`, `PURSE_API_KEY`,
        `PURSE_ENTITY_ID`, `PURSE_ENVIRONMENT`, `PURSE_BASE_URL` (and `PURSE_TOKEN_URL`);
        keyword arguments override them."""
        return cls(**{**Settings.env_kwargs(), **overrides})

    @property
    def settings(self) -> Settings:
        """The validated settings (secrets hidden from repr)."""
        return self._settings

    @property
    def token_requests(self) -> int:
        """How many OAuth2 tokens this client has fetched (retries of one fetch count once)."""
        return self._tokens.requests_made

    async def authenticate(self, *, timeout: float | None = None) -> None:
        """Obtain an OAuth2 token now (it is otherwise fetched by the first call).

        Useful at start-up to fail fast on wrong credentials: raises `AuthenticationError`.
        """
        if timeout is None:
            await self._tokens.get_token()
            return
        try:
            await asyncio.wait_for(self._tokens.get_token(), timeout)
        except asyncio.TimeoutError:
            raise APITimeoutError(
                f"token request timed out after {timeout:.3g}s", url=self._settings.token_url
            ) from None

    @property
    def is_closed(self) -> bool:
        return self._transport.closed

    async def aclose(self) -> None:
        """Close the connection pool. Idempotent; the client cannot be used afterwards."""
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
