"""The operation a capture, refund or void answer stands for: the operation itself, or the one
this call made, found in a Payment when Purse answers with the whole payment.

Never an `Operation` made up from a payment's id and amount: when none can be told apart, a
`DecodeError` says so (the call may have been applied: retry with the same key).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .. import models as _models
from .._converter import structure
from .._errors import DecodeError
from .._logging import logger

if TYPE_CHECKING:
    from ..models.operation import Operation

__all__ = ["operation_of_answer"]

#: Members only a Payment has (an operation is {id, status, amount, created_at,
#: partner_transactions}): one of them, or the operations' array, makes the answer a Payment.
_PAYMENT_ONLY = frozenset({"authorization", "amounts", "overview", "captures", "refunds", "voids"})


def operation_of_answer(data: Any, kind: str, amount: int | None, key: str) -> Operation:
    """`data`, the JSON answer to a POST `/payments/{id}/{kind}` sent with `key` for `amount`
    (None: all available), as the Operation it made. A Payment answer gives the operation of
    `kind` carrying `key` (when its operations carry an `idempotency_key` member), else the
    newest of that kind for `amount`. `DecodeError` when it is neither readable nor findable."""
    if type(data) is not dict or _PAYMENT_ONLY.isdisjoint(data):
        return structure(data, _models.Operation)
    payment = structure(data, _models.Payment)
    operations: Sequence[Operation] = getattr(payment, kind)
    found, reason = _made_by_this_call(operations, amount, key)
    what = kind[:-1]
    if found is None:
        raise DecodeError(
            f"the {what} answer is payment {payment.id}, not an operation, and no {what} this "
            f"call made can be told apart in it ({reason}); the {what} may have been applied: "
            f"retry with the same idempotency key ({key}), which cannot apply it twice, or "
            f"read the payment's {kind}",
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
    operations: Sequence[Operation], amount: int | None, key: str
) -> tuple[Operation | None, str]:
    """The operation and, when there is none, why."""
    keyed = [op for op in operations if isinstance(op.extra.get("idempotency_key"), str)]
    if keyed:
        # Purse says which request made each: nothing else counts.
        mine = [op for op in keyed if op.extra["idempotency_key"] == key]
        if len(mine) == 1:
            return mine[0], ""
        return None, f"{len(mine)} operations carry the key {key}"
    candidates = [op for op in operations if amount is None or op.amount == amount]
    if not candidates:
        asked = "any amount" if amount is None else f"amount {amount}"
        return None, f"none of its {len(operations)} operations of this kind is for {asked}"
    dates = [op.created_at for op in candidates if op.created_at is not None]
    if len(dates) < len(candidates):
        # Without dates, the array's order (oldest first) says which is the newest.
        return candidates[-1], ""
    try:
        newest = max(dates)
    except TypeError:  # naive and aware timestamps mixed: no order
        return None, "their created_at cannot be compared"
    latest = [op for op in candidates if op.created_at == newest]
    if len(latest) > 1:
        return None, f"{len(latest)} of them are the newest (created_at {newest.isoformat()})"
    return latest[0], ""
