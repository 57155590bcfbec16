"""Pure retry decisions: which failures are retried, for which requests, and how long to wait.

No I/O here: the request loop in `_requester.py` asks these functions and applies the answers.
"""

from __future__ import annotations

import email.utils
import random
from collections.abc import Callable, Mapping

from ._config import RetryPolicy
from ._errors import NOT_PROCESSED_STATUSES, APIConnectionError, APIStatusError, PurseError

__all__ = [
    "RETRYABLE_STATUSES",
    "backoff_delay",
    "is_retryable_status",
    "parse_retry_after",
    "should_retry",
]

#: Statuses that say "this attempt failed, the same request may succeed later".
RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})

#: Methods that are safe to repeat whatever happened to the first attempt.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


def is_retryable_status(status: int) -> bool:
    return status in RETRYABLE_STATUSES


def should_retry(
    error: PurseError,
    *,
    method: str,
    has_idempotency_key: bool,
    retries_done: int,
    max_retries: int,
) -> bool:
    """Should the request that just failed with `error` be attempted again?

    A POST without an idempotency key (or whose key the server may not deduplicate) is retried
    only when the server certainly did not act on it: the connection was never opened, or it was
    turned away with 408 or 429 before processing. Anything else could charge twice.
    """
    if retries_done >= max_retries:
        return False
    repeatable = method in IDEMPOTENT_METHODS or has_idempotency_key
    if isinstance(error, APIConnectionError):
        return repeatable or not error.request_sent
    if isinstance(error, APIStatusError):
        if not is_retryable_status(error.status):
            return False
        return repeatable or error.status in NOT_PROCESSED_STATUSES
    return False


def parse_retry_after(headers: Mapping[str, str], *, now: float, cap: float) -> float | None:
    """Seconds to wait from a `Retry-After` (delta-seconds or HTTP-date) or `retry-after-ms` header.

    None when absent or unreadable; negative values become 0; the result never exceeds `cap`.
    """
    raw_ms = headers.get("retry-after-ms")
    if raw_ms:
        try:
            return min(max(float(raw_ms) / 1000.0, 0.0), cap)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if not raw:
        return None
    raw = raw.strip()
    try:
        seconds = float(raw)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        seconds = when.timestamp() - now
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), cap)


def backoff_delay(
    retries_done: int,
    policy: RetryPolicy,
    *,
    retry_after: float | None = None,
    rand: Callable[[], float] = random.random,
) -> float:
    """How long to wait before retry number `retries_done + 1`.

    Exponential (initial * 2**n, capped at max_backoff) with "full jitter" scaled by
    `policy.jitter`; a server's Retry-After wins when present (already capped by the parser).
    """
    if retry_after is not None:
        return retry_after
    base: float = min(policy.initial_backoff * 2.0**retries_done, policy.max_backoff)
    return base * (1.0 - policy.jitter * rand())


def fits_deadline(delay: float, *, now: float, deadline_at: float | None) -> bool:
    """Is there time left to wait `delay` seconds and still make another attempt?"""
    return deadline_at is None or now + delay < deadline_at
