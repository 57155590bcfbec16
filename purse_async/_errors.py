"""The exception tree of the SDK, and the pure mapping from an HTTP answer to an exception.

Every error the SDK raises derives from `PurseError`; the tree::

    PurseError
    ├── ConfigurationError             bad or missing settings or call options
    ├── ValidationError                a request the SDK refuses to send (bad field value)
    ├── ClientClosedError              the client was closed (before or during the call)
    ├── DecodeError                    a response that does not fit the models (names the path)
    │   └── ResponseTooLargeError      ... or exceeds the size or nesting caps
    ├── SignatureVerificationError     a redirection or webhook whose signature does not hold
    ├── PaymentMismatchError           a payment that is not what the merchant's order expects
    ├── WebhookError                   a webhook body or source that cannot be trusted or parsed
    ├── APIConnectionError             the request did not get an HTTP answer
    │   ├── APITimeoutError            ... because it ran out of time
    │   └── OutcomeUnknownError        a create that may have reached Purse was not re-sent
    │       └── OutcomeUnknownTimeoutError   ... after a timeout (also an APITimeoutError)
    └── APIStatusError                 the server answered with a non-2xx status
        ├── BadRequestError            400
        ├── AuthenticationError        401, and every failure of the OAuth2 token endpoint
        ├── PermissionDeniedError      403
        ├── NotFoundError              404
        ├── ConflictError              409
        │   └── IdempotencyConflictError   409 urn:eu.purse:write-conflict
        ├── UnprocessableEntityError   422
        ├── RateLimitError             429
        └── InternalServerError        5xx

Status errors carry the parsed problem+json body, the request id, the idempotency key, the method
and the URL (query string removed), never a credential.

Every error a call raises says, on `PurseError` itself, which `idempotency_key` the call sent (or
generated) and whether the operation `may_have_been_applied`: retrying with `err.idempotency_key`
is always safe. Every error pickles with its attributes (Celery, multiprocessing).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ClientClosedError",
    "ConfigurationError",
    "ConflictError",
    "DecodeError",
    "FieldError",
    "IdempotencyConflictError",
    "InternalServerError",
    "NotFoundError",
    "OutcomeUnknownError",
    "OutcomeUnknownTimeoutError",
    "PaymentMismatchError",
    "PermissionDeniedError",
    "Problem",
    "PurseError",
    "RateLimitError",
    "ResponseTooLargeError",
    "SignatureVerificationError",
    "UnprocessableEntityError",
    "ValidationError",
    "WebhookError",
    "error_class_for",
    "parse_problem",
]

WRITE_CONFLICT_TYPE = "urn:eu.purse:write-conflict"

REQUEST_ID_HEADERS = ("x-request-id", "x-correlation-id", "request-id", "x-amzn-requestid")


def request_id_of(headers: Mapping[str, str]) -> str | None:
    """The request id an answer carries, under the first of `REQUEST_ID_HEADERS` it has."""
    for name in REQUEST_ID_HEADERS:
        value = headers.get(name)
        if value:
            return value
    return None


def _rebuild(cls: type[BaseException], args: tuple[Any, ...], state: dict[str, Any]) -> Any:
    # Keyword-only constructors can't be replayed by pickle's default (cls(*args)): rebuild
    # the instance without calling __init__, then restore every attribute.
    error = cls.__new__(cls, *args)
    BaseException.__init__(error, *args)
    error.__dict__.update(state)
    return error


class PurseError(Exception):
    """Base class of every error raised by the Purse SDK.

    `idempotency_key`: the key the failed call sent or generated (None for calls without one).
    `may_have_been_applied`: False only when the operation certainly did not happen; True when
    it may have (or did); None when the error is not about a request (settings, webhooks).
    """

    idempotency_key: str | None = None
    may_have_been_applied: bool | None = None

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.args, dict(self.__dict__)))


class ConfigurationError(PurseError, ValueError):
    """A setting or call argument is missing or invalid; the message names it."""


class ValidationError(PurseError, ValueError):
    """The SDK refused to send a request because a field has an invalid value."""

    def __init__(self, message: str, *, field: str | None = None, value: Any = None) -> None:
        super().__init__(message)
        self.field = field
        self.value = value


class ClientClosedError(PurseError):
    """The client was closed before or while this call ran; create a new client."""


class DecodeError(PurseError):
    """A response body could not be decoded into the SDK's models."""

    def __init__(self, message: str, *, path: str | None = None, body: Any = None) -> None:
        super().__init__(message)
        self.path = path
        self.body = body


class ResponseTooLargeError(DecodeError):
    """A body exceeded the size cap (`max_response_size`) or the JSON nesting cap."""


class SignatureVerificationError(PurseError):
    """A signed payload (redirection JWS, webhook HMAC) failed verification."""


class WebhookError(PurseError):
    """A webhook request could not be trusted or parsed."""


class PaymentMismatchError(PurseError):
    """What Purse authorized is not what the merchant's order expects (`Payment.check`).

    `mismatches` names every difference at once, each as `field found (the order expects
    ...)` or `field missing in the payment (...)`; `payment_id` is the payment checked. Do not
    fulfil the order: the shopper paid for something else (another amount, currency or order).
    """

    def __init__(self, message: str, *, payment_id: str | None, mismatches: Sequence[str]) -> None:
        super().__init__(message)
        self.payment_id = payment_id
        self.mismatches: tuple[str, ...] = tuple(mismatches)


class APIConnectionError(PurseError):
    """No HTTP answer was received (DNS, refused or dropped connection, TLS, ...)."""

    def __init__(
        self,
        message: str = "Connection error.",
        *,
        method: str | None = None,
        url: str | None = None,
        idempotency_key: str | None = None,
        request_sent: bool = True,
    ) -> None:
        super().__init__(message)
        self.method = method
        self.url = url
        self.idempotency_key = idempotency_key
        #: False only when the request certainly never reached the server (connection refused,
        #: DNS failure): the one case where even a POST without an idempotency key may be retried.
        self.request_sent = request_sent
        self.may_have_been_applied = request_sent
        #: How many attempts the SDK made before giving up with this error (1 = no retry).
        self.attempts = 1


class APITimeoutError(APIConnectionError):
    """The request (or the whole call's deadline) ran out of time."""

    def __init__(
        self,
        message: str = "Request timed out.",
        *,
        method: str | None = None,
        url: str | None = None,
        idempotency_key: str | None = None,
    ) -> None:
        super().__init__(message, method=method, url=url, idempotency_key=idempotency_key)


class OutcomeUnknownError(APIConnectionError):
    """A payment or client-session creation may have reached Purse, and the SDK did not re-send
    it: Purse does not document deduplicating creations by idempotency key, and a second
    payment would be a second authorization on the shopper's card.

    Find out first (retrieve the payment or session, your webhook, or Purse support with
    `idempotency_key`, `amount` and `order_reference`); re-send with the same key only once you
    know the first did not happen, or once Purse confirmed it deduplicates (then set
    `AsyncPurse(idempotent_creates=True)` and the SDK re-sends by itself).
    """

    def __init__(
        self,
        message: str,
        *,
        method: str | None = None,
        url: str | None = None,
        idempotency_key: str | None = None,
        resource: str = "payment",
        amount: int | None = None,
        currency: str | None = None,
        order_reference: str | None = None,
    ) -> None:
        super().__init__(message, method=method, url=url, idempotency_key=idempotency_key)
        self.resource = resource
        self.amount = amount
        self.currency = currency
        self.order_reference = order_reference


class OutcomeUnknownTimeoutError(OutcomeUnknownError, APITimeoutError):
    """`OutcomeUnknownError` after a timeout: `except APITimeoutError` handlers still see it."""


@attrs.frozen
class FieldError:
    """One field-level problem of a validation error (`errors[]` in problem+json)."""

    pointer: str | None
    detail: str | None


@attrs.frozen
class Problem:
    """A parsed `application/problem+json` body (RFC 7807), or the OAuth2 error body."""

    type: str | None = None
    title: str | None = None
    status: int | None = None
    detail: str | None = None
    instance: str | None = None
    resource_id: str | None = None
    errors: tuple[FieldError, ...] = ()
    raw: Any = attrs.field(default=None, repr=False, eq=False)

    def summary(self) -> str | None:
        parts = [p for p in (self.title, self.detail) if p]
        for err in self.errors:
            if err.detail and err.detail == self.detail:
                # A one-field problem often repeats its `detail` there: say it once.
                parts.append(err.pointer or "?")
            else:
                parts.append(f"{err.pointer or '?'}: {err.detail or '?'}")
        return " - ".join(parts) if parts else None


class APIStatusError(PurseError):
    """The API answered with a non-success HTTP status."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        problem: Problem,
        method: str,
        url: str,
        request_id: str | None = None,
        idempotency_key: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        #: How many attempts the SDK made before giving up with this error (1 = no retry).
        self.attempts = 1
        self.status = status
        self.problem = problem
        self.method = method
        self.url = url
        self.request_id = request_id
        self.idempotency_key = idempotency_key
        self.retry_after = retry_after
        self.may_have_been_applied = status_may_have_applied(status, problem)

    # Shortcuts to the problem fields users reach for most.
    @property
    def type(self) -> str | None:
        return self.problem.type

    @property
    def title(self) -> str | None:
        return self.problem.title

    @property
    def detail(self) -> str | None:
        return self.problem.detail

    @property
    def resource_id(self) -> str | None:
        return self.problem.resource_id

    @property
    def errors(self) -> tuple[FieldError, ...]:
        return self.problem.errors


class BadRequestError(APIStatusError):
    """400: the request was rejected as malformed or violating a business rule."""


class AuthenticationError(APIStatusError):
    """401, or the OAuth2 token endpoint refused the credentials (carries the OAuth error)."""


class PermissionDeniedError(APIStatusError):
    """403: the credentials are valid but may not do this."""


class NotFoundError(APIStatusError):
    """404: no such resource."""


class ConflictError(APIStatusError):
    """409: the request conflicts with the resource's state."""


class IdempotencyConflictError(ConflictError):
    """409 `urn:eu.purse:write-conflict`: this idempotency key was already used.

    `resource_id` names the operation that already exists.
    """


class UnprocessableEntityError(APIStatusError):
    """422: the request is well formed but cannot be processed."""


class RateLimitError(APIStatusError):
    """429: too many requests; `retry_after` says how long the server asked to wait."""


class InternalServerError(APIStatusError):
    """5xx: the server failed."""


_STATUS_CLASSES: Mapping[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


#: Answers that say the request was not processed (throttled or not read in time).
NOT_PROCESSED_STATUSES = frozenset({408, 429})


def status_may_have_applied(status: int, problem: Problem) -> bool:
    """May a request answered with `status` have been applied? A 5xx may hide an applied
    operation; a write-conflict says an earlier request with the key was; other 4xx refuse."""
    if status >= 500:
        return True
    return status == 409 and problem.type == WRITE_CONFLICT_TYPE


def error_class_for(status: int, problem: Problem) -> type[APIStatusError]:
    """Which exception class stands for this status (and problem type)."""
    if status == 409 and problem.type == WRITE_CONFLICT_TYPE:
        return IdempotencyConflictError
    if status >= 500:
        return InternalServerError
    return _STATUS_CLASSES.get(status, APIStatusError)


def _opt_str(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def parse_problem(body: bytes | str | None, status: int) -> Problem:
    """Parse a problem+json, OAuth2 `{error, error_description}` or plain-text error body.

    Never raises: an unreadable body becomes a Problem whose `detail` is the (truncated) text.
    """
    if body is None or body == b"" or body == "":
        return Problem(status=status)
    # Here, not at the top: _json imports this module.
    from ._json import check_depth

    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):  # hostile nesting included: the text is the detail
        return Problem(status=status, detail=text[:500], raw=text[:500])
    raw: Any = data
    try:
        check_depth(text.encode())
    except ResponseTooLargeError:
        # Its members are still read (a deep `x` leaves `title` readable), but an error must
        # stay picklable (Celery): `raw` keeps the text's start, not objects nested that deep.
        raw = text[:500]
    if not isinstance(data, Mapping):
        return Problem(status=status, detail=text[:500], raw=raw)
    if "error" in data and "title" not in data and isinstance(data["error"], str):
        # OAuth2 error response (RFC 6749 §5.2).
        return Problem(
            type=data["error"],
            title=data["error"],
            status=status,
            detail=_opt_str(data.get("error_description")),
            raw=raw,
        )
    raw_errors = data.get("errors")
    errors: list[FieldError] = []
    if isinstance(raw_errors, Sequence) and not isinstance(raw_errors, str):
        for item in raw_errors:
            if isinstance(item, Mapping):
                errors.append(
                    FieldError(
                        pointer=_opt_str(item.get("pointer") or item.get("field")),
                        detail=_opt_str(item.get("detail") or item.get("message")),
                    )
                )
    raw_status = data.get("status")
    return Problem(
        type=_opt_str(data.get("type")),
        title=_opt_str(data.get("title")),
        status=raw_status if isinstance(raw_status, int) else status,
        detail=_opt_str(data.get("detail")),
        instance=_opt_str(data.get("instance")),
        resource_id=_opt_str(data.get("resource_id")),
        errors=tuple(errors),
        raw=raw,
    )


def make_status_error(
    *,
    status: int,
    body: bytes | str | None,
    method: str,
    url: str,
    request_id: str | None = None,
    idempotency_key: str | None = None,
    retry_after: float | None = None,
) -> APIStatusError:
    """Build the right APIStatusError subclass for an HTTP answer (pure)."""
    problem = parse_problem(body, status)
    cls = error_class_for(status, problem)
    summary = problem.summary()
    message = f"{method} {url} -> {status}"
    if summary:
        message += f": {summary}"
    if idempotency_key:
        message += f" (idempotency key {idempotency_key})"
    return cls(
        message,
        status=status,
        problem=problem,
        method=method,
        url=url,
        request_id=request_id,
        idempotency_key=idempotency_key,
        retry_after=retry_after,
    )
