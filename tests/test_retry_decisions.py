"""Pure retry decisions: what is retried, for which requests, and how long the SDK waits."""

from __future__ import annotations

import email.utils

import pytest

from purse_async import APIConnectionError, APITimeoutError, RetryPolicy
from purse_async._errors import make_status_error
from purse_async._retry import backoff_delay, fits_deadline, parse_retry_after, should_retry


def status_error(status: int) -> object:
    return make_status_error(status=status, body=None, method="POST", url="http://x/y")


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_retryable_statuses_are_retried_for_gets_and_keyed_posts(status: int) -> None:
    err = status_error(status)
    assert should_retry(err, method="GET", has_idempotency_key=False, retries_done=0, max_retries=2)
    assert should_retry(err, method="POST", has_idempotency_key=True, retries_done=0, max_retries=2)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422, 501])
def test_client_errors_are_never_retried(status: int) -> None:
    err = status_error(status)
    assert not should_retry(
        err, method="GET", has_idempotency_key=True, retries_done=0, max_retries=5
    )


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_unkeyed_post_is_not_retried_after_the_server_may_have_acted(status: int) -> None:
    assert not should_retry(
        status_error(status),
        method="POST",
        has_idempotency_key=False,
        retries_done=0,
        max_retries=5,
    )


@pytest.mark.parametrize("status", [408, 429])
def test_unkeyed_post_is_retried_when_the_server_says_it_did_not_process_it(status: int) -> None:
    # 408: the request was not received in time; 429: turned away before processing.
    assert should_retry(
        status_error(status),
        method="POST",
        has_idempotency_key=False,
        retries_done=0,
        max_retries=2,
    )


def test_connection_errors_follow_whether_the_request_was_sent() -> None:
    never_sent = APIConnectionError("refused", request_sent=False)
    maybe_sent = APIConnectionError("reset")
    timeout = APITimeoutError("slow")
    post = {"method": "POST", "has_idempotency_key": False, "retries_done": 0, "max_retries": 2}
    assert should_retry(never_sent, **post)  # type: ignore[arg-type]
    assert not should_retry(maybe_sent, **post)  # type: ignore[arg-type]
    assert not should_retry(timeout, **post)  # type: ignore[arg-type]
    keyed = {**post, "has_idempotency_key": True}
    assert should_retry(maybe_sent, **keyed)  # type: ignore[arg-type]
    assert should_retry(timeout, **keyed)  # type: ignore[arg-type]


def test_retry_budget_is_respected() -> None:
    err = status_error(503)
    assert should_retry(err, method="GET", has_idempotency_key=False, retries_done=1, max_retries=2)
    assert not should_retry(
        err, method="GET", has_idempotency_key=False, retries_done=2, max_retries=2
    )
    assert not should_retry(
        err, method="GET", has_idempotency_key=False, retries_done=0, max_retries=0
    )


def test_retry_after_seconds_http_date_and_cap() -> None:
    now = 1_700_000_000.0
    assert parse_retry_after({"retry-after": "3"}, now=now, cap=60) == 3.0
    assert parse_retry_after({"retry-after": "0.5"}, now=now, cap=60) == 0.5
    assert parse_retry_after({"retry-after": "500"}, now=now, cap=60) == 60.0
    assert parse_retry_after({"retry-after": "-4"}, now=now, cap=60) == 0.0
    date = email.utils.formatdate(now + 7, usegmt=True)
    assert parse_retry_after({"retry-after": date}, now=now, cap=60) == pytest.approx(7, abs=1)
    past = email.utils.formatdate(now - 100, usegmt=True)
    assert parse_retry_after({"retry-after": past}, now=now, cap=60) == 0.0
    assert parse_retry_after({"retry-after-ms": "250"}, now=now, cap=60) == 0.25


@pytest.mark.parametrize("value", ["", "soon", "nan", "Mon, 99 Foo 2020"])
def test_unreadable_retry_after_is_ignored(value: str) -> None:
    assert parse_retry_after({"retry-after": value}, now=0.0, cap=60) is None
    assert parse_retry_after({}, now=0.0, cap=60) is None


def test_backoff_grows_exponentially_up_to_the_cap() -> None:
    policy = RetryPolicy(initial_backoff=0.5, max_backoff=4.0, jitter=0.0)
    delays = [backoff_delay(n, policy) for n in range(6)]
    assert delays == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]


def test_jitter_stays_within_the_exponential_bound() -> None:
    policy = RetryPolicy(initial_backoff=1.0, max_backoff=8.0, jitter=1.0)
    assert backoff_delay(2, policy, rand=lambda: 0.0) == 4.0
    assert backoff_delay(2, policy, rand=lambda: 0.999) == pytest.approx(0.004)
    half = RetryPolicy(initial_backoff=1.0, jitter=0.5)
    assert backoff_delay(0, half, rand=lambda: 1.0) == 0.5


def test_server_retry_after_wins_over_backoff() -> None:
    policy = RetryPolicy(initial_backoff=0.5, jitter=0.0)
    assert backoff_delay(0, policy, retry_after=3.0) == 3.0


def test_deadline_check() -> None:
    assert fits_deadline(1.0, now=10.0, deadline_at=None)
    assert fits_deadline(1.0, now=10.0, deadline_at=11.5)
    assert not fits_deadline(2.0, now=10.0, deadline_at=11.5)
