"""Authorization attempts of an order and what is decided about them: the append-only records
(`AttemptRecord`) an `AttemptStore` keeps, the `RetryDecision` and the `AuthorizationOutcome`.

No I/O here; the rules are in `_authorization_retry.py`.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Protocol

import attrs

from ._declines import DeclineKind, worst
from .models._enums import RETRYABLE_AUTHORIZATION_STATUSES, AuthorizationStatus

if TYPE_CHECKING:
    from ._authorization_retry import AuthorizationRetry
    from .models.payment import Payment

__all__ = [
    "NOT_CREATED",
    "AttemptRecord",
    "AttemptStore",
    "AuthorizationOutcome",
    "MemoryAttemptStore",
    "RetryAction",
    "RetryDecision",
    "aware",
    "fold",
]

#: `AttemptRecord.status` of an attempt that certainly created nothing (refused before or by
#: Purse): the same attempt number and key may be sent again.
NOT_CREATED = "NOT_CREATED"


class RetryAction(str, enum.Enum):
    """What to do after a failed authorization."""

    DONT_RETRY = "DONT_RETRY"
    RETRY_NOW = "RETRY_NOW"
    RETRY_AT = "RETRY_AT"
    ASK_SHOPPER = "ASK_SHOPPER"

    def __str__(self) -> str:
        return str(self.value)


def aware(moment: datetime) -> datetime:
    """Naive datetimes are taken as UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


@attrs.frozen(kw_only=True)
class AttemptRecord:
    """One authorization attempt of an order, as kept in an `AttemptStore`.

    The ledger is append-only: an attempt is appended when it is sent (`payment_id` None: in
    flight) and again with its outcome; the latest record of an attempt number is its state. A
    record in flight at restart means the outcome is unknown: it is never guessed.
    """

    attempt: int
    idempotency_key: str | None = None
    at: datetime
    partner: str | None = None
    payment_id: str | None = None
    status: str | None = None
    partners: tuple[str, ...] = ()
    decline: DeclineKind | None = None
    network: str | None = None

    @property
    def in_flight(self) -> bool:
        """Sent, and its outcome never recorded."""
        return self.payment_id is None and self.status != NOT_CREATED

    @classmethod
    def from_payment(
        cls,
        payment: Payment,
        *,
        attempt: int,
        at: datetime,
        policy: AuthorizationRetry,
        idempotency_key: str | None = None,
        partner: str | None = None,
    ) -> AttemptRecord:
        """The record of an attempt that made `payment` (its status, the partners that failed,
        the decline kind under `policy`, the card network)."""
        auth = payment.authorization
        txs = auth.partner_transactions if auth is not None else ()
        failed = [tx for tx in txs if tx.status in RETRYABLE_AUTHORIZATION_STATUSES]
        status = auth.status if auth is not None else None
        decline = worst(policy.classify(tx) for tx in failed)
        if decline is None and status == AuthorizationStatus.ERROR:
            decline = DeclineKind.TECHNICAL
        elif decline is None and status in (
            AuthorizationStatus.REFUSED,
            AuthorizationStatus.DECLINED,
        ):
            decline = DeclineKind.UNKNOWN
        network = next((tx.card.selected_network for tx in txs if tx.card is not None), None)
        return cls(
            attempt=attempt,
            idempotency_key=idempotency_key,
            at=aware(at),
            partner=partner,
            payment_id=payment.id,
            status=None if status is None else str(status),
            partners=tuple(dict.fromkeys(tx.partner for tx in failed if tx.partner)),
            decline=decline,
            network=network,
        )


class AttemptStore(Protocol):
    """Where an order's attempts are kept between calls and across restarts (append-only).

    Implement it over your database to make MIT retries crash-safe across processes; `get`
    returns every record appended for the order, oldest first.
    """

    async def get(self, order_reference: str) -> list[AttemptRecord]: ...

    async def append(self, order_reference: str, record: AttemptRecord) -> None: ...


class MemoryAttemptStore:
    """The default store: this process's memory (lost when it ends)."""

    def __init__(self) -> None:
        self._records: dict[str, list[AttemptRecord]] = {}

    async def get(self, order_reference: str) -> list[AttemptRecord]:
        return list(self._records.get(order_reference, ()))

    async def append(self, order_reference: str, record: AttemptRecord) -> None:
        self._records.setdefault(order_reference, []).append(record)


@attrs.frozen(kw_only=True)
class RetryDecision:
    """What to do after an authorization attempt, and why.

    `attempt` is the number the next attempt would have (attempts made so far: `attempt - 1`);
    `idempotency_key` its key (None for DONT_RETRY, or without an order reference); `at` the
    time of a RETRY_AT; `partner` the partner a RETRY_NOW should ask for (None: no
    preference); `exclude_partners` the partners already tried in this round; `decline` how
    the last attempt failed.
    """

    action: RetryAction
    reason: str
    attempt: int
    at: datetime | None = None
    exclude_partners: tuple[str, ...] = ()
    partner: str | None = None
    idempotency_key: str | None = None
    decline: DeclineKind | None = None


@attrs.frozen(kw_only=True)
class AuthorizationOutcome:
    """What `payments.authorize_with_retry` ends with: the last attempt's payment, every
    attempt of the order (one record per attempt, latest state) and the decision about the
    next one (e.g. RETRY_AT: call again then; DONT_RETRY once authorized)."""

    payment: Payment
    attempts: tuple[AttemptRecord, ...]
    decision: RetryDecision


def fold(history: Sequence[AttemptRecord]) -> list[AttemptRecord]:
    """One record per attempt number (the latest appended), in attempt order."""
    latest: dict[int, AttemptRecord] = {}
    for record in history:
        latest[record.attempt] = record
    return [latest[n] for n in sorted(latest)]
