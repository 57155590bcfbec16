"""Captures, refunds and voids: one operation spread over the partner transactions.

`idempotency_key` and `replayed` are set by the SDK, not sent by the API.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

from ._enums import OperationStatus

__all__ = ["Operation", "OperationPartnerTransaction"]


@attrs.frozen(kw_only=True)
class OperationPartnerTransaction:
    """The share of an operation carried by one partner transaction."""

    id: str | None = None
    partner: str | None = None
    method: str | None = None
    amount: int | None = None
    status: OperationStatus | None = None
    partner_status: str | None = None
    partner_status_description: str | None = None
    partner_reference: str | None = None
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)


@attrs.frozen(kw_only=True)
class Operation:
    """A capture, refund or void.

    `idempotency_key` is the key it was requested with; `replayed` is True when an earlier
    attempt had already created it and the SDK returned that one instead of a duplicate.
    """

    id: str
    status: OperationStatus | None = None
    amount: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    partner_transactions: tuple[OperationPartnerTransaction, ...] = ()
    idempotency_key: str | None = None
    replayed: bool = False
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)
