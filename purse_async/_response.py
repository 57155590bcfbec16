"""Response metadata for successful calls: `APIResponse`, what `with_raw_response` returns.

`await purse.payments.with_raw_response.retrieve(payment_id)` makes the same call as
`purse.payments.retrieve(payment_id)` and returns an `APIResponse[Payment]`: the model as
`.parsed`, with the status, headers and request id of the answer it was read from, the number
of HTTP attempts, the idempotency key sent and the time the call took.

Only calls made through `with_raw_response` record anything: the requester of an ordinary call
builds no metadata (one attribute test per request), so the common path costs what it did.
"""

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Concatenate, Generic, ParamSpec, TypeVar

import attrs

from ._errors import request_id_of

if TYPE_CHECKING:
    from .resources._base import AsyncAPIResource

__all__ = ["APIResponse", "AsyncRawResponses", "Recording", "raw_response", "reading_back"]

T = TypeVar("T")
P = ParamSpec("P")
R = TypeVar("R", bound="AsyncAPIResource")


@attrs.frozen(repr=False)
class APIResponse(Generic[T]):
    """A successful call's result (`parsed`) with what the HTTP exchange said about it.

    - `parsed`: what the plain method returns (a `Payment`, an `Operation`, ...).
    - `status`, `headers` (case-insensitive) and `request_id` (`x-request-id` and the like):
      those of the answer `parsed` was read from, with one exception. A call that made several
      requests reports:
      - its own request, when Purse answered it with success but without the result, which is
        then only read back: `client_sessions.abort` answered `303 See Other` reports that 303
        (the POST's headers and request id), though `parsed` is the session a GET read back;
      - otherwise the last request, the one `parsed` was read from: a capture, refund, void or
        creation whose key met a write-conflict (its own request refused: nothing of it to
        report) and was resolved by reading what the key made reports that GET; the
        authorization attempts of `payments.create(retry=...)` report the last one.
    - `attempts`: the HTTP attempts the call made, retries and read-backs included (token
      requests excluded).
    - `idempotency_key`: the key the call sent (yours or the generated one), else None.
    - `elapsed`: seconds from the call to its result, retries and waits included.
    - `method`, `url`: the request `status` and `headers` describe.
    """

    parsed: T
    status: int
    headers: Mapping[str, str]
    request_id: str | None
    attempts: int
    idempotency_key: str | None
    elapsed: float
    method: str
    url: str

    def __repr__(self) -> str:
        # Headers left out: a proxy or a server may echo something the logs should not hold.
        return (
            f"APIResponse(status={self.status}, request_id={self.request_id!r}, "
            f"attempts={self.attempts}, idempotency_key={self.idempotency_key!r}, "
            f"elapsed={self.elapsed:.3f}, method={self.method!r}, url={self.url!r}, "
            f"parsed={type(self.parsed).__name__})"
        )


#: True while a call reads back the result of its own request, which Purse answered with
#: success but without it (abort's 303): see `reading_back`.
_READING_BACK: ContextVar[bool] = ContextVar("purse_reading_back", default=False)


@contextmanager
def reading_back() -> Iterator[None]:
    """Within it, the requests of a raw-response call only read back its result: their
    attempts count, but the answer it reports stays its own request's (e.g. abort's 303).
    A context variable: each task (and the blocking face's call on the bridge) has its own."""
    token = _READING_BACK.set(True)
    try:
        yield
    finally:
        _READING_BACK.reset(token)


class Recording:
    """What the requests of one raw-response call did (filled by the requester)."""

    __slots__ = ("attempts", "headers", "idempotency_key", "method", "status", "url")

    def __init__(self) -> None:
        self.attempts = 0
        self.idempotency_key: str | None = None
        self.status = 0
        self.headers: Mapping[str, str] = {}
        self.method = ""
        self.url = ""

    def answered(
        self,
        method: str,
        url: str,
        status: int,
        headers: Mapping[str, str],
        attempts: int,
        idempotency_key: str | None,
    ) -> None:
        self.attempts += attempts
        if self.idempotency_key is None:
            self.idempotency_key = idempotency_key
        if self.status and _READING_BACK.get():
            return  # a read-back: the call's own answer is the one to report
        self.method, self.url, self.status, self.headers = method, url, status, headers

    def failed(self, attempts: int, idempotency_key: str | None) -> None:
        """A request of the call failed (e.g. the write-conflict a replay is resolved from)."""
        self.attempts += attempts
        if self.idempotency_key is None:
            self.idempotency_key = idempotency_key

    def response(self, parsed: T, elapsed: float) -> APIResponse[T]:
        request_id = request_id_of(self.headers)
        key = self.idempotency_key
        if key is None:
            # A result that names its key (an operation) though no request of this call sent
            # it: cannot happen today, but the result's own key is the truth if it does.
            key = getattr(parsed, "idempotency_key", None)
        return APIResponse(
            parsed=parsed,
            status=self.status,
            headers=self.headers,
            request_id=request_id,
            attempts=self.attempts,
            idempotency_key=key,
            elapsed=elapsed,
            method=self.method,
            url=self.url,
        )


class AsyncRawResponses(Generic[R]):
    """Base of `purse.<resource>.with_raw_response`: the resource's endpoint methods, each
    returning an `APIResponse` around what the plain method returns."""

    def __init__(self, resource: R) -> None:
        self._resource = resource

    def _call(self, name: str, args: Any, kwargs: Any) -> Coroutine[Any, Any, APIResponse[Any]]:
        recording = Recording()
        resource = self._resource
        # A copy of the resource whose requester records: the shared one never does.
        recorder = resource._derive(resource._requester.recording(recording), resource._settings)
        # Called now, as the plain method would be: a wrong argument is a TypeError at the call.
        return _respond(getattr(recorder, name)(*args, **kwargs), recording)


async def _respond(call: Awaitable[T], recording: Recording) -> APIResponse[T]:
    started = time.monotonic()
    parsed = await call
    return recording.response(parsed, time.monotonic() - started)


def raw_response(
    method: Callable[Concatenate[R, P], Awaitable[T]],
) -> Callable[Concatenate[Any, P], Coroutine[Any, Any, APIResponse[T]]]:
    """`method` of a resource class as a method of its `AsyncRawResponses` class: same
    parameters, returning an awaitable `APIResponse[T]` (its signature says so, for the sync
    generator). Arguments are checked when it is called, as the plain method's are."""
    name = method.__name__
    owner = method.__qualname__.rsplit(".", 1)[0]

    def call(
        self: AsyncRawResponses[Any], /, *args: P.args, **kwargs: P.kwargs
    ) -> Coroutine[Any, Any, APIResponse[T]]:
        return self._call(name, args, kwargs)

    functools.update_wrapper(call, method)
    signature = inspect.signature(method)
    returns = signature.return_annotation
    call.__signature__ = signature.replace(  # type: ignore[attr-defined]
        return_annotation=f"Awaitable[APIResponse[{returns}]]"
    )
    head = f"`{owner}.{name}(...)`, returning an `APIResponse` whose `.parsed` is its result."
    # Long names: the generated sync docstring (`Async` dropped, 11 columns of indent and
    # quotes) must stay within 100 columns.
    if len(head) - len("Async") * owner.startswith("Async") > 89:
        head = head.replace(", returning", ",\nreturning", 1)
    call.__doc__ = (
        f"{head}\n\n"
        "Same arguments; the response adds the answer's status, headers and request id, the\n"
        "attempts made, the idempotency key sent and the time taken."
    )
    return call
