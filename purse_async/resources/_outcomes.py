"""What a keyed write's ambiguous outcome becomes: a replay that matches the request, an
`IdempotencyConflictError` naming what differs, or an `OutcomeUnknownError` for creations."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._errors import (
    APIConnectionError,
    APITimeoutError,
    IdempotencyConflictError,
    OutcomeUnknownError,
    OutcomeUnknownTimeoutError,
)

__all__ = ["differences", "mismatch_error", "outcome_unknown"]


def differences(asked: Mapping[str, Any], found: Mapping[str, Any]) -> list[str]:
    """`name: found (asked ...)` for every member the request set that the resource contradicts.

    Members the request left out (None) are not compared: "capture everything available" matches
    whatever amount was captured.
    """
    return [
        f"{name} {found.get(name)!r} (this call asked {value!r})"
        for name, value in asked.items()
        if value is not None and found.get(name) != value
    ]


def mismatch_error(
    conflict: IdempotencyConflictError, key: str, what: str, diffs: list[str]
) -> IdempotencyConflictError:
    """The 409 re-raised with what differs: the key belongs to another request, which this call
    must never report as its own. This call's request itself was refused, not applied."""
    error = IdempotencyConflictError(
        f"idempotency key {key} was already used for a different {what} "
        f"({conflict.resource_id}): " + "; ".join(diffs),
        status=conflict.status,
        problem=conflict.problem,
        method=conflict.method,
        url=conflict.url,
        request_id=conflict.request_id,
        idempotency_key=key,
    )
    error.attempts = conflict.attempts
    error.may_have_been_applied = False
    return error


def outcome_unknown(
    error: APIConnectionError,
    *,
    resource: str,
    amount: int | None,
    currency: str | None,
    order_reference: str | None,
) -> OutcomeUnknownError:
    """A creation that may have reached Purse and was not re-sent (see `OutcomeUnknownError`)."""
    cls = OutcomeUnknownTimeoutError if isinstance(error, APITimeoutError) else OutcomeUnknownError
    key = error.idempotency_key
    unknown = cls(
        f"{error} - the {resource} may have been created (idempotency key {key}, amount "
        f"{amount} {currency}, order {order_reference!r}). It was not re-sent: Purse does not "
        f"document deduplicating {resource} creation. Check whether it exists before creating "
        f"it again with the same key, or set idempotent_creates=True once Purse confirms "
        f"deduplication.",
        method=error.method,
        url=error.url,
        idempotency_key=key,
        resource=resource,
        amount=amount,
        currency=currency,
        order_reference=order_reference,
    )
    unknown.attempts = error.attempts
    unknown.may_have_been_applied = True
    return unknown
