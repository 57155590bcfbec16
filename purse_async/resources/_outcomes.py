"""What a keyed write's ambiguous outcome becomes: a replay that matches the request, an
`IdempotencyConflictError` naming what differs, or an `OutcomeUnknownError` for creations."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from .._errors import (
    APIConnectionError,
    APITimeoutError,
    IdempotencyConflictError,
    OutcomeUnknownError,
    OutcomeUnknownTimeoutError,
    PurseError,
)
from .._logging import logger
from .._requester import Requester, tag_error
from ._base import Budget

__all__ = ["create_once", "differences", "mismatch_error", "outcome_unknown"]

T = TypeVar("T")


async def create_once(
    requester: Requester,
    cls: type[T],
    path: str,
    *,
    body: Mapping[str, Any],
    key: str | None,
    resource: str,
    deduplicated: bool,
    retrieve: Callable[[str, float | None], Awaitable[T]],
    timeout: float | None,
    deadline: float | None,
    max_retries: int | None,
    extra_headers: Mapping[str, str] | None,
) -> T:
    """POST a creation that Purse may not deduplicate: re-sent only if `deduplicated`, an
    ambiguous failure raised as `OutcomeUnknownError`, and a write-conflict resolved to what
    the key made (looked up with `retrieve(id, deadline)`) only if its amount, currency and
    order reference match the request's. `deadline` (None: the client's) bounds both requests."""
    budget = Budget.of_call(requester, deadline)
    order = body.get("order")
    asked = {
        "amount": body.get("amount"),
        "currency": body.get("currency"),
        "order_reference": order.get("reference") if isinstance(order, Mapping) else None,
    }
    try:
        return await requester.request_as(
            cls,
            "POST",
            path,
            body=body,
            idempotency_key=key,
            timeout=timeout,
            deadline=deadline,
            max_retries=max_retries,
            extra_headers=extra_headers,
            deduplicated=deduplicated,
        )
    except IdempotencyConflictError as exc:
        conflict = exc
    except APIConnectionError as exc:
        if key is None or deduplicated or not exc.may_have_been_applied:
            raise
        # Not re-sent: without documented deduplication a second attempt could be a second
        # payment (a second authorization on the shopper's card).
        raise outcome_unknown(
            exc,
            resource=resource,
            amount=asked.get("amount"),
            currency=asked.get("currency"),
            order_reference=asked.get("order_reference"),
        ) from None
    if key is None:
        raise conflict  # a write-conflict answers a keyed request: nothing of this call's to read
    try:
        if not conflict.resource_id:
            raise conflict
        existing = await retrieve(conflict.resource_id, budget.left())
    except PurseError as exc:
        # The key did make something: whatever failed here must still hand the key over.
        raise tag_error(exc, key, True) from None
    diffs = differences(asked, _facts(existing))
    if diffs:
        raise mismatch_error(conflict, key, resource, diffs)
    logger.info("%s creation replayed (key %s): %s", resource, key, conflict.resource_id)
    return existing


def _facts(created: Any) -> dict[str, Any]:
    """What a created resource says of the request that made it (sessions, links and payments
    share these members; a payment may also carry `order_reference` at its root)."""
    order = getattr(created, "order", None)
    return {
        "amount": created.amount,
        "currency": created.currency,
        "order_reference": getattr(created, "order_reference", None)
        or (order.reference if order is not None else None),
    }


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
    cause: APIConnectionError | str,
    *,
    resource: str,
    amount: int | None,
    currency: str | None,
    order_reference: str | None,
    idempotency_key: str | None = None,
    find_out: str = "Check whether it exists before creating it again with the same key",
) -> OutcomeUnknownError:
    """A creation that may have reached Purse and was not re-sent (see `OutcomeUnknownError`).

    `cause` is the error that left it ambiguous (its key, request and attempts are kept), or a
    sentence saying how it was found out (e.g. an attempt recorded in flight, never answered;
    then `idempotency_key` is the key it was sent with). `find_out` says what to do first.
    """
    error = cause if isinstance(cause, APIConnectionError) else None
    cls = OutcomeUnknownTimeoutError if isinstance(error, APITimeoutError) else OutcomeUnknownError
    key = error.idempotency_key if error is not None else idempotency_key
    unknown = cls(
        f"{cause} - the {resource} may have been created (idempotency key {key}, amount "
        f"{amount} {currency}, order {order_reference!r}). It was not re-sent: Purse does not "
        f"document deduplicating {resource} creation. {find_out}, or set "
        "idempotent_creates=True once Purse confirms deduplication.",
        method=error.method if error is not None else None,
        url=error.url if error is not None else None,
        idempotency_key=key,
        resource=resource,
        amount=amount,
        currency=currency,
        order_reference=order_reference,
    )
    if error is not None:
        unknown.attempts = error.attempts
    unknown.may_have_been_applied = True
    return unknown
