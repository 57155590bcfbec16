"""Waiting on a payment: the loops behind `payments.wait_for_authorization` and `payments.watch`.

The decisions are plain functions tested without I/O: `next_poll_delay` (exponential backoff
from `poll_interval` up to `max_poll_interval`), `plan_sleep` (how long to sleep before the
next poll, and whether it is the last one the time budget allows) and `is_final`. The loops
apply them with one `payments.retrieve` per poll, so the client's retry rules (connection
errors, timeouts, 408, 429, 5xx) apply to each GET.

Decisions:
- Final means "anything but PENDING": AUTHORIZED, REFUSED, ERROR, ABORTED, and statuses this
  SDK does not know yet (`status.is_known` is False). An unknown status is handed back rather
  than waited on: nothing says it will ever change, and the caller must decide on it anyway.
  A payment without an authorization status yet counts as not final (as PENDING).
- `wait_for_authorization`'s `deadline` bounds everything (every GET, retries and sleeps); the
  last poll is made shortly before the deadline (`FINAL_POLL_RESERVE` seconds, at most half of
  what is left, are kept for it), then `APITimeoutError` names the payment and its last status.
- `watch` yields the current payment, then each payment whose `version` grew (or, for an
  answer without a `version`, that differs from the last one yielded). It does not stop at a
  final status: captures, refunds and voids change the payment later. It ends quietly when
  `deadline` runs out, or when the caller stops iterating. The polling interval starts again at
  `poll_interval` after each change and grows while nothing changes.
- As everywhere in the SDK, `timeout` bounds one HTTP attempt (of each GET) and `deadline` the
  whole thing: here the whole wait. Each GET is bounded by the client's `deadline` or by what
  is left of the wait, whichever is shorter.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import TYPE_CHECKING

from .._errors import APITimeoutError, ConfigurationError
from ..models._enums import AuthorizationStatus

if TYPE_CHECKING:
    from ..models.payment import Payment

__all__ = [
    "BACKOFF_FACTOR",
    "FINAL_POLL_RESERVE",
    "Fetch",
    "check_polling",
    "is_final",
    "next_poll_delay",
    "plan_sleep",
    "wait_for_authorization",
    "watch",
]

#: Each poll without news waits this many times longer than the previous one.
BACKOFF_FACTOR = 1.5
#: Seconds (at most half of what is left) kept before the deadline for the last poll.
FINAL_POLL_RESERVE = 2.0


def status_of(payment: Payment) -> AuthorizationStatus | None:
    return payment.authorization.status if payment.authorization is not None else None


def is_final(payment: Payment) -> bool:
    """Is the authorization's outcome known: any status but PENDING (unknown ones included)?
    A payment with no authorization status yet is not final."""
    status = status_of(payment)
    return status is not None and status != AuthorizationStatus.PENDING


def next_poll_delay(
    quiet_polls: int,
    *,
    poll_interval: float,
    max_poll_interval: float,
    factor: float = BACKOFF_FACTOR,
) -> float:
    """Seconds to wait before the next poll, after `quiet_polls` polls in a row that brought
    nothing new (0 right after the first poll or a change): `poll_interval * factor **
    quiet_polls`, capped at `max_poll_interval`."""
    if quiet_polls <= 0:
        return min(poll_interval, max_poll_interval)
    try:
        delay = poll_interval * factor**quiet_polls
    except OverflowError:
        return max_poll_interval
    return min(delay, max_poll_interval)


def plan_sleep(
    delay: float, remaining: float | None, *, reserve: float = FINAL_POLL_RESERVE
) -> tuple[float, bool] | None:
    """(seconds to sleep, whether the poll after it is the last) for a wanted `delay` when
    `remaining` seconds are left (None: no deadline); None when no time is left for a poll.

    If the next poll would come too late, it is moved earlier so that `min(reserve,
    remaining / 2)` seconds are left for it, and it is the last one.
    """
    if remaining is None:
        return delay, False
    if remaining <= 0:
        return None
    keep = min(reserve, remaining / 2)
    if delay <= remaining - keep:
        return delay, False
    return remaining - keep, True


def _positive(name: str, value: object, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        bound = "None or a number > 0" if optional else "a number > 0"
        raise ConfigurationError(f"{name} must be {bound}, got {value!r:.80}")
    if value == float("inf"):
        raise ConfigurationError(f"{name} must be finite, got {value!r}")


def check_polling(
    *,
    deadline: float | None,
    poll_interval: float,
    max_poll_interval: float,
    timeout: float | None,
    deadline_optional: bool,
) -> None:
    """`ConfigurationError` naming the first unusable polling option."""
    _positive("deadline", deadline, optional=deadline_optional)
    _positive("poll_interval", poll_interval)
    _positive("max_poll_interval", max_poll_interval)
    _positive("timeout", timeout, optional=True)
    if max_poll_interval < poll_interval:
        raise ConfigurationError(
            f"max_poll_interval ({max_poll_interval!r}) must be >= poll_interval "
            f"({poll_interval!r})"
        )


class Fetch:
    """One poll: `payments.retrieve` with the caller's per-request options (`timeout` per
    attempt), bounded by the client's deadline or by the time left to the whole wait."""

    def __init__(
        self,
        retrieve: Callable[..., Awaitable[Payment]],
        payment_id: str,
        *,
        timeout: float | None,
        call_deadline: float | None,
        max_retries: int | None,
        extra_headers: Mapping[str, str] | None,
    ) -> None:
        self.retrieve = retrieve
        self.payment_id = payment_id
        self.timeout = timeout
        # What bounds one retrieve when the wait leaves it more time: the client's deadline
        # (as for any call).
        self.budget = call_deadline
        self.max_retries = max_retries
        self.extra_headers = extra_headers

    def bounded_by_wait(self, remaining: float | None) -> bool:
        """Does the time left to the wait, rather than the per-request bound, limit a GET?"""
        return remaining is not None and (self.budget is None or remaining < self.budget)

    async def __call__(self, remaining: float | None) -> Payment:
        budget = remaining if self.bounded_by_wait(remaining) else self.budget
        return await self.retrieve(
            self.payment_id,
            timeout=self.timeout,
            deadline=budget,
            max_retries=self.max_retries,
            extra_headers=self.extra_headers,
        )


def _timeout_error(
    payment_id: str, last: Payment | None, timeout: float, polls: int, cause: str = ""
) -> APITimeoutError:
    if last is None:
        seen = "no answer yet"
    else:
        seen = f"still {status_of(last) or 'without an authorization status'}"
        if last.version is not None:
            seen += f" at version {last.version}"
    message = (
        f"payment {payment_id}: authorization not final within {timeout:.3g}s, {seen} "
        f"after {polls} poll(s)"
    )
    if cause:
        message += f"; the last poll: {cause}"
    return APITimeoutError(message, method="GET")


async def wait_for_authorization(
    fetch: Fetch,
    *,
    deadline: float,
    poll_interval: float,
    max_poll_interval: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> Payment:
    """Poll until the authorization is final; `APITimeoutError` when `deadline` runs out."""
    ends_at = clock() + deadline
    last: Payment | None = None
    polls = 0
    final_poll = False
    while True:
        remaining = ends_at - clock()
        if remaining <= 0:
            raise _timeout_error(fetch.payment_id, last, deadline, polls)
        try:
            payment = await fetch(remaining)
        except APITimeoutError as exc:
            if not fetch.bounded_by_wait(remaining):
                raise
            raise _timeout_error(fetch.payment_id, last, deadline, polls, str(exc)) from None
        polls += 1
        last = payment
        if is_final(payment):
            return payment
        if final_poll:
            raise _timeout_error(fetch.payment_id, last, deadline, polls)
        delay = next_poll_delay(
            polls - 1, poll_interval=poll_interval, max_poll_interval=max_poll_interval
        )
        plan = plan_sleep(delay, ends_at - clock())
        if plan is None:
            raise _timeout_error(fetch.payment_id, last, deadline, polls)
        pause, final_poll = plan
        await sleep(pause)


def _changed(payment: Payment, last: Payment) -> bool:
    if payment.version is not None and last.version is not None:
        return payment.version > last.version
    return payment != last


async def watch(
    fetch: Fetch,
    *,
    deadline: float | None,
    poll_interval: float,
    max_poll_interval: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> AsyncIterator[Payment]:
    """Yield the payment now, then each newer version, until `deadline` seconds have passed
    (None: forever)."""
    ends_at = None if deadline is None else clock() + deadline
    last: Payment | None = None
    quiet = 0
    final_poll = False
    while True:
        remaining = None if ends_at is None else ends_at - clock()
        if remaining is not None and remaining <= 0:
            return
        try:
            payment = await fetch(remaining)
        except APITimeoutError:
            if fetch.bounded_by_wait(remaining):
                return  # the watch's own time ran out during this poll
            raise
        if last is None or _changed(payment, last):
            last = payment
            quiet = 0
            yield payment
        else:
            quiet += 1
        if final_poll:
            return
        delay = next_poll_delay(
            quiet, poll_interval=poll_interval, max_poll_interval=max_poll_interval
        )
        plan = plan_sleep(delay, None if ends_at is None else ends_at - clock())
        if plan is None:
            return
        pause, final_poll = plan
        await sleep(pause)
