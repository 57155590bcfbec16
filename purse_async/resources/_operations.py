"""Capture, refund and void: the keyed POST, its answer read as the operation it made (itself,
or found in a Payment when Purse answers with the whole payment), and a replayed key resolved.

Never an `Operation` made up from a payment's id and amount, nor guessed among several: when the
one this call made cannot be told apart, a keyed `DecodeError` says so (retry with the same key).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from .. import models as _models
from .._converter import structure
from .._errors import DecodeError, IdempotencyConflictError, PurseError
from .._logging import logger
from .._requester import keyed, tag_error
from ._base import (
    API_PREFIX,
    PAYMENT_ONLY_MEMBERS,
    Budget,
    build_body,
    check_amount,
    check_id,
    check_list,
    key_or_new,
)
from ._outcomes import differences, mismatch_error

if TYPE_CHECKING:
    from ..models import Priority
    from ..models.operation import Operation
    from ._payments import AsyncPayments

__all__ = ["operate", "operation_of_answer"]


def operation_of_answer(data: Any, kind: str, amount: int | None, key: str) -> Operation:
    """`data`, the JSON answer to a POST `/payments/{id}/{kind}` sent with `key` for `amount`
    (None: all available), as the Operation it made. A Payment answer gives the operation of
    `kind` carrying `key` (when its operations carry an `idempotency_key` member), else its only
    operation of `kind` if that fits `amount`. `DecodeError` when it is neither readable nor
    findable: with two or more keyless operations of `kind`, none can be told to be this call's."""
    if type(data) is not dict or PAYMENT_ONLY_MEMBERS.isdisjoint(data):
        return structure(data, _models.Operation)
    payment = structure(data, _models.Payment)
    operations: Sequence[Operation] = getattr(payment, kind)
    found, reason = _made_by_this_call(operations, kind, amount, key)
    what = kind[:-1]
    if found is None:
        raise DecodeError(
            f"the {what} answer is payment {payment.id}, not an operation, and no {what} this "
            f"call made can be told apart in it ({reason}); the {what} may have been applied: "
            f"retry with the same idempotency key ({key}), which cannot apply it twice (Purse "
            f"then names the {what} that key made), or read the payment's {kind}",
            path=f"$.{kind}",
            body=data,
        )
    logger.info(
        "%s on payment %s was answered with the payment: returning its %s %s",
        what,
        payment.id,
        what,
        found.id,
    )
    return found


def _made_by_this_call(
    operations: Sequence[Operation], kind: str, amount: int | None, key: str
) -> tuple[Operation | None, str]:
    """The operation and, when there is none, why."""
    with_keys = [op for op in operations if isinstance(op.extra.get("idempotency_key"), str)]
    if with_keys:
        # Purse says which request made each: nothing else counts.
        mine = [op for op in with_keys if op.extra["idempotency_key"] == key]
        if len(mine) == 1:
            return mine[0], ""
        return None, f"{len(mine)} operations carry the key {key}"
    if len(operations) > 1:
        # Neither the amount nor created_at says which one this call made: an earlier one
        # (another key, the same amount) would be returned as this call's. Retrying with the
        # key makes Purse name the operation (its write-conflict replay), resolved by id.
        return None, f"it holds {len(operations)} {kind} and none carries an idempotency key"
    if not operations:
        return None, f"it holds no {kind}"
    only = operations[0]
    if amount is not None and only.amount != amount:
        return None, f"its only one is for amount {only.amount}, not {amount}"
    return only, ""


async def operate(
    payments: AsyncPayments,
    kind: str,
    payment_id: str,
    amount: int | None,
    priorities: Sequence[Priority | Mapping[str, Any]] | None,
    idempotency_key: str | None,
    timeout: float | None,
    deadline: float | None,
    max_retries: int | None,
    extra_headers: Mapping[str, str] | None,
) -> Operation:
    # Chosen once, before the first attempt: every retry must present the same key.
    key = key_or_new(idempotency_key)
    with keyed(key):  # refused before sending: the error still hands the key over
        path = f"{API_PREFIX}/payments/{check_id('payment_id', payment_id)}/{kind}"
        if amount is not None:
            check_amount("amount", amount, allow_zero=False)
        body = build_body(
            {
                "amount": amount,
                "priorities": None
                if priorities is None
                else check_list("priorities", priorities, model=_models.Priority),
            },
            None,
        )
    # `deadline` (None: the client's) bounds the POST and the read-back a replay needs.
    budget = Budget.of_call(payments._requester, deadline)
    try:
        answer = await payments._requester.request(
            "POST",
            path,
            body=body,
            idempotency_key=key,
            timeout=timeout,
            deadline=deadline,
            max_retries=max_retries,
            extra_headers=extra_headers,
        )
    except IdempotencyConflictError as exc:
        # The key was used already: by an earlier attempt of this call (whose answer was
        # lost), or by the caller's earlier call with their key. Return that operation if
        # it is what this call asked for.
        return await _resolve_replay(
            payments, kind, payment_id, amount, key, exc, timeout, budget, extra_headers
        )
    try:
        # The operation, or the one this call made when Purse answers with the payment.
        operation = operation_of_answer(answer, kind, amount, key)
    except PurseError as exc:
        # Applied, only its answer is unreadable: the key is the one to retry with.
        tag_error(exc, key, True)
        raise
    return attrs.evolve(operation, idempotency_key=key)


async def _resolve_replay(
    payments: AsyncPayments,
    kind: str,
    payment_id: str,
    amount: int | None,
    key: str,
    conflict: IdempotencyConflictError,
    timeout: float | None,
    budget: Budget,
    extra_headers: Mapping[str, str] | None,
) -> Operation:
    try:
        if not conflict.resource_id:
            raise conflict
        payment = await payments.retrieve(
            payment_id, timeout=timeout, deadline=budget.left(), extra_headers=extra_headers
        )
        operations: Sequence[Operation] = getattr(payment, kind)
        existing = next((op for op in operations if op.id == conflict.resource_id), None)
        if existing is None:
            # Not (yet) among this payment's operations: never pretend it succeeded.
            raise conflict
    except PurseError as exc:
        # Whatever failed, an operation with this key exists: the key is the one to retry
        # with, and the error says so.
        raise tag_error(exc, key, True) from None
    diffs = differences({"amount": amount}, {"amount": existing.amount})
    if diffs:
        raise mismatch_error(conflict, key, kind[:-1], diffs)
    logger.info(
        "%s on payment %s replayed (key %s): existing operation %s",
        kind[:-1],
        payment_id,
        key,
        existing.id,
    )
    return attrs.evolve(existing, idempotency_key=key, replayed=True)
