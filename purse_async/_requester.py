"""The request loop: headers, bearer token, attempts, 401 refresh, retries under one key, and
the rule that every error of a keyed call carries its key and whether it may have been applied.

Every decision is delegated to pure functions (`_retry`, `_auth.is_token_fresh`, `_errors`).
"""

from __future__ import annotations

import asyncio
import base64
import copy
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol, TypeVar

from ._auth import AccessToken, TokenManager
from ._config import Settings
from ._converter import structure
from ._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    ClientClosedError,
    ConfigurationError,
    PurseError,
    make_status_error,
    request_id_of,
)
from ._headers import check_headers
from ._json import loads
from ._logging import logger
from ._response import Recording
from ._retry import backoff_delay, fits_deadline, parse_retry_after, should_retry
from ._transport import HTTPResponse

__all__ = ["Requester", "Sender", "keyed", "tag_error"]

T = TypeVar("T")


class Sender(Protocol):
    """What the requester sends attempts with: a `Transport` (or a client's view of one)."""

    def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        data: bytes | Mapping[str, str] | None = None,
        timeout: float,
        idempotency_key: str | None = None,
    ) -> Awaitable[HTTPResponse]: ...


def tag_error(
    error: BaseException, idempotency_key: str | None, may_have_been_applied: bool
) -> BaseException:
    """Stamp the call's key and outcome on whatever it raises (a PurseError, or a caller's
    CancelledError / KeyboardInterrupt passing through): retrying with the key is always safe."""
    if idempotency_key is not None:
        error.idempotency_key = idempotency_key  # type: ignore[attr-defined]
        error.may_have_been_applied = may_have_been_applied  # type: ignore[attr-defined]
    elif isinstance(error, PurseError) and error.may_have_been_applied is None:
        error.may_have_been_applied = may_have_been_applied
    return error


class keyed:  # lower case: used like a function, `with keyed(key):`
    """`with keyed(key):` around a keyed call's argument checks, once its key is chosen: any
    `PurseError` raised inside was refused before anything was sent, and still carries the key
    (with `may_have_been_applied=False`) like every other error of the call. Without a key
    (None) it changes nothing: a refused argument is then not about a request."""

    __slots__ = ("idempotency_key",)

    def __init__(self, idempotency_key: str | None) -> None:
        self.idempotency_key = idempotency_key

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, error: BaseException | None, tb: object) -> None:
        if self.idempotency_key is not None and isinstance(error, PurseError):
            tag_error(error, self.idempotency_key, False)


class _CallState:
    """What one call has done so far: may any attempt have been applied server-side? How many
    attempts did it take to succeed?"""

    __slots__ = ("attempts", "in_flight", "maybe_applied")

    def __init__(self) -> None:
        self.maybe_applied = False
        self.in_flight = False
        self.attempts = 0

    def outcome(self) -> bool:
        return self.maybe_applied or self.in_flight


def _check_seconds(name: str, value: object) -> None:
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0
    ):
        raise ConfigurationError(f"{name} must be a number > 0, got {value!r:.80}")


def _check_options(
    timeout: float | None,
    deadline: float | None,
    max_retries: int | None,
    extra_headers: Mapping[str, str] | None,
) -> None:
    _check_seconds("timeout", timeout)
    _check_seconds("deadline", deadline)
    if max_retries is not None and (
        isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0
    ):
        raise ConfigurationError(f"max_retries must be an int >= 0, got {max_retries!r}")
    if extra_headers is not None:
        if not isinstance(extra_headers, Mapping):
            raise ConfigurationError(f"extra_headers must be a mapping, got {extra_headers!r}")
        check_headers(extra_headers, "extra_headers")


class Requester:
    """Sends API requests for one client; shared by every resource of that client."""

    #: Where a raw-response call's requests are recorded (only on the copy `recording()`
    #: makes for that call: the shared requester never records, and builds nothing).
    _recording: Recording | None = None

    def __init__(
        self,
        settings: Settings,
        transport: Sender,
        tokens: TokenManager,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._transport = transport
        self._tokens = tokens
        self._sleep = sleep
        self._clock = clock
        self._token_header: tuple[AccessToken | None, str] = (None, "")
        self._base_headers = {
            "x-api-key": settings.api_key,
            "Accept": "application/json",
            **settings.default_headers,
        }

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        deadline: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
        deduplicated: bool = True,
        see_other_ok: bool = False,
    ) -> Any:
        """Send one API call, retrying as the policy allows; return the decoded 2xx JSON body.

        `timeout` bounds each attempt (default: the client's `timeout`); `deadline` the whole
        call, every attempt and wait (default: the client's `deadline`).
        `deduplicated=False` says the server may not deduplicate `idempotency_key` (creations):
        the request is then re-sent only when it certainly was not processed.
        `see_other_ok=True` takes a `303 See Other` as success (returning None: the redirect is
        never followed, its body never read), for the calls Purse may answer so.
        Whatever it raises carries `idempotency_key` and `may_have_been_applied`.
        """
        state = _CallState()
        try:
            if (
                timeout is not None
                or deadline is not None
                or max_retries is not None
                or extra_headers is not None
            ):
                _check_options(timeout, deadline, max_retries, extra_headers)
            headers = dict(self._base_headers)
            data: bytes | None = None
            if body is not None:
                data = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
                headers["Content-Type"] = "application/json"
            if idempotency_key is not None:
                headers["x-idempotency-key"] = idempotency_key
            if extra_headers:
                headers.update(extra_headers)
            url = self._settings.base_url + path
            resp = await self._exchange(
                method,
                url,
                path,
                headers=headers,
                data=data,
                idempotency_key=idempotency_key,
                repeatable=idempotency_key is not None and deduplicated,
                see_other_ok=see_other_ok,
                authenticated=True,
                timeout=timeout,
                deadline=deadline,
                max_retries=max_retries,
                state=state,
            )
            if self._recording is not None:
                self._recording.answered(
                    method, url, resp.status, resp.headers, state.attempts, idempotency_key
                )
            if not resp.body or resp.status == 303:
                return None
            return loads(resp.body, what=f"the answer to {method} {url}")
        except BaseException as exc:
            # Cancellation and Ctrl-C pass through unchanged, stamped like our own errors.
            tag_error(exc, idempotency_key, state.outcome())
            if self._recording is not None and state.attempts == 0:
                self._recording.failed(getattr(exc, "attempts", 0), idempotency_key)
            raise

    def recording(self, recording: Recording) -> Requester:
        """A requester like this one (same client, transport and tokens) that records what
        its requests did into `recording`: for one `with_raw_response` call."""
        clone = copy.copy(self)
        clone._recording = recording
        return clone

    async def request_as(self, cls: type[T], method: str, path: str, **kwargs: Any) -> T:
        """`request`, decoded into `cls`: a decode failure carries the key like any error
        (the operation was applied; only its answer is unreadable)."""
        data = await self.request(method, path, **kwargs)
        try:
            return structure(data, cls)
        except PurseError as exc:
            tag_error(exc, kwargs.get("idempotency_key"), True)
            raise

    async def fetch_token(self) -> bytes:
        """POST the client-credentials grant to the token URL; the raw 2xx body.

        Retried like any call (a token request changes nothing server-side); a refusal is an
        `AuthenticationError` carrying the OAuth2 error text, never the secret.
        """
        settings = self._settings
        basic = base64.b64encode(f"{settings.client_id}:{settings.client_secret}".encode())
        headers = {
            "x-api-key": settings.api_key,
            "Accept": "application/json",
            "Authorization": "Basic " + basic.decode("ascii"),
        }
        url = settings.token_url
        try:
            resp = await self._exchange(
                "POST",
                url,
                url,
                headers=headers,
                data=(
                    {"grant_type": "client_credentials", "scope": settings.scope}
                    if settings.scope
                    else {"grant_type": "client_credentials"}
                ),
                idempotency_key=None,
                repeatable=True,
                authenticated=False,
            )
        except APIStatusError as err:
            if err.status >= 500 and not isinstance(err, AuthenticationError):
                raise
            raise AuthenticationError(
                f"token request refused: {err}",
                status=err.status,
                problem=err.problem,
                method="POST",
                url=url,
                request_id=err.request_id,
            ) from None
        return resp.body

    async def _exchange(
        self,
        method: str,
        url: str,
        shown: str,
        *,
        headers: dict[str, str],
        data: bytes | Mapping[str, str] | None,
        idempotency_key: str | None,
        repeatable: bool,
        authenticated: bool,
        timeout: float | None = None,
        deadline: float | None = None,
        max_retries: int | None = None,
        state: _CallState | None = None,
        see_other_ok: bool = False,
    ) -> HTTPResponse:
        """The attempt loop shared by API calls and token requests: the 2xx answer, or the
        last error (with its attempt count) once the retry policy says stop."""
        if state is None:
            state = _CallState()
        policy = self._settings.retry
        limit = policy.max_retries if max_retries is None else max_retries
        budget = deadline if deadline is not None else policy.deadline
        per_attempt = timeout if timeout is not None else self._settings.timeout
        deadline_at = None if budget is None else self._clock() + budget
        retries = 0
        attempts = 0
        refreshed_after_401 = False
        while True:
            attempts += 1
            token = None
            if authenticated:
                # Awaiting only when a token must be fetched keeps the common case synchronous.
                token = self._tokens.fresh_token() or await self._tokens.get_token()
                headers["Authorization"] = self._authorization(token)
            attempt_timeout = per_attempt
            if deadline_at is not None:
                remaining = deadline_at - self._clock()
                if remaining <= 0:
                    raise self._finish(
                        APITimeoutError(
                            f"{method} {shown}: deadline of {budget:.3g}s exhausted",
                            method=method,
                            url=url,
                            idempotency_key=idempotency_key,
                        ),
                        attempts - 1,
                        state,
                    )
                if remaining < attempt_timeout:
                    # Only a deadline closer than the per-attempt timeout shortens it (keeping the
                    # common value constant lets the transport reuse its timeout object).
                    attempt_timeout = remaining
            debug = logger.isEnabledFor(10)
            sent_at = self._clock() if debug else 0.0
            error: PurseError
            retry_after: float | None = None
            state.in_flight = True
            try:
                resp = await self._transport.send(
                    method,
                    url,
                    headers=headers,
                    data=data,
                    timeout=attempt_timeout,
                    idempotency_key=idempotency_key,
                )
            except (ClientClosedError, ConfigurationError):
                state.in_flight = False  # refused before anything was sent
                raise
            except APIConnectionError as exc:
                error = exc
                state.in_flight = False
                state.maybe_applied = state.maybe_applied or exc.request_sent
                if debug:
                    logger.debug("%s %s failed (attempt %d): %s", method, shown, attempts, exc)
            else:
                status = resp.status
                if debug:
                    logger.debug(
                        "%s %s -> %d in %.1f ms (attempt %d%s)",
                        method,
                        shown,
                        status,
                        (self._clock() - sent_at) * 1000,
                        attempts,
                        f", idempotency key {idempotency_key}" if idempotency_key else "",
                    )
                if 200 <= status < 300 or (status == 303 and see_other_ok):
                    state.attempts = attempts
                    return resp
                state.in_flight = False
                retry_after = parse_retry_after(
                    resp.headers, now=time.time(), cap=policy.max_retry_after
                )
                error = make_status_error(
                    status=status,
                    body=resp.body,
                    method=method,
                    url=url,
                    request_id=request_id_of(resp.headers),
                    idempotency_key=idempotency_key,
                    retry_after=retry_after,
                )
                state.maybe_applied = state.maybe_applied or bool(error.may_have_been_applied)
                if status == 401 and token is not None:
                    # The token may have been revoked or expired early: drop it, fetch a new one
                    # and try once more. This retry is free: the request was never processed.
                    self._tokens.invalidate(token)
                    if not refreshed_after_401:
                        refreshed_after_401 = True
                        continue
            if not should_retry(
                error,
                method=method,
                has_idempotency_key=repeatable,
                retries_done=retries,
                max_retries=limit,
            ):
                raise self._finish(error, attempts, state)
            delay = backoff_delay(retries, policy, retry_after=retry_after)
            if not fits_deadline(delay, now=self._clock(), deadline_at=deadline_at):
                raise self._finish(error, attempts, state)
            logger.info(
                "retrying %s %s in %.2fs (retry %d of %d) after: %s",
                method,
                shown,
                delay,
                retries + 1,
                limit,
                error,
            )
            await self._sleep(delay)
            retries += 1

    def _authorization(self, token: AccessToken) -> str:
        # One string per token, not one per request.
        cached, header = self._token_header
        if cached is not token:
            header = f"{token.token_type} {token.value}"
            self._token_header = (token, header)
        return header

    @staticmethod
    def _finish(error: PurseError, attempts: int, state: _CallState) -> PurseError:
        if isinstance(error, (APIStatusError, APIConnectionError)):
            error.attempts = attempts
        # What the call as a whole may have done: an earlier attempt may have been applied
        # even when the last one certainly was not.
        error.may_have_been_applied = state.maybe_applied or bool(error.may_have_been_applied)
        return error
