"""Pure decisions about a NEW authorization attempt after a failed one: may it be made, when, on
which partner, under which idempotency key. No I/O here (`payments.retry_decision` and
`payments.authorize_with_retry` do the reading and creating, docs/authorization.md the why).

Cascading across PSPs inside one payment is Purse's job; this is the merchant's side. A retry is
a new payment for the same order, so the first rule is that an order never ends up with two
authorizations: nothing is retried while anything of the order is authorized, pending, or of
unknown outcome.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from itertools import pairwise
from types import MappingProxyType
from typing import TYPE_CHECKING, Literal

import attrs

from ._attempts import NOT_CREATED, AttemptRecord, RetryAction, RetryDecision, aware, fold
from ._declines import DEFAULT_DECLINES, DeclineKind, classify, normalize_table
from ._errors import ConfigurationError, ValidationError
from .models._enums import (
    FAILED_AUTHORIZATION_STATUSES,
    RETRYABLE_AUTHORIZATION_STATUSES,
    AuthorizationStatus,
)

if TYPE_CHECKING:
    from .models.partner_transaction import PartnerTransaction
    from .models.payment import Payment

__all__ = ["AuthorizationRetry", "Initiator", "attempt_key", "decide"]

#: Who starts the payment: the shopper, present (CIT), or the merchant on a saved card (MIT).
Initiator = Literal["CIT", "MIT"]
INITIATORS = ("CIT", "MIT")
_HOLDING = frozenset({"AUTHORIZED", "PENDING"})


def attempt_key(order_reference: str, attempt: int) -> str:
    """The idempotency key of attempt number `attempt` (1-based) of an order:
    `"{order_reference}/authorization/{attempt}"`. The same order and number give the same key,
    so a restarted worker replays an attempt instead of creating another one."""
    if not isinstance(order_reference, str) or not order_reference.strip():
        raise ValidationError(
            f"an order reference is needed to derive attempt keys, got {order_reference!r}",
            field="order_reference",
            value=order_reference,
        )
    if isinstance(attempt, bool) or not isinstance(attempt, int) or attempt < 1:
        raise ValidationError(
            f"attempt must be an int >= 1, got {attempt!r}", field="attempt", value=attempt
        )
    return f"{order_reference}/authorization/{attempt}"


def _network(name: str | None) -> str | None:
    if not name:
        return None
    flat = "".join(ch if ch.isalnum() else "_" for ch in name.strip().upper())
    if flat.startswith("VISA"):
        return "VISA"
    if flat in ("MC", "MASTER_CARD") or flat.startswith("MASTERCARD"):
        return "MASTERCARD"
    return flat


def _span(window: timedelta) -> str:
    hours = window.total_seconds() / 3600
    if hours >= 48 and hours % 24 == 0:
        return f"{int(hours // 24)} days"
    return f"{hours:g} hours"


#: Card-scheme reattempt limits: Visa 15 in 30 days; Mastercard 10 in 24 h and 35 in 30 days.
DEFAULT_SCHEME_CAPS: Mapping[str, tuple[tuple[int, timedelta], ...]] = {
    "VISA": ((15, timedelta(days=30)),),
    "MASTERCARD": ((10, timedelta(hours=24)), (35, timedelta(days=30))),
}
DEFAULT_SCHEDULE = (timedelta(days=1), timedelta(days=3), timedelta(days=7))


@attrs.frozen(kw_only=True)
class AuthorizationRetry:
    """When a failed authorization may be followed by a new attempt (docs/authorization.md).

    - `max_attempts`: attempts per order, the first included.
    - `schedule`: when merchant-initiated (MIT) retries after a soft decline happen, as offsets
      from the order's first attempt (default 1, 3 and 7 days); once past the last, no more.
    - `next_partner_at_once`: after a soft MIT decline, try at once an eligible partner not
      tried yet in this round (a round is what happens between two scheduled times).
    - `declines`: `{(partner, partner_status): DeclineKind}` entries that extend or override
      the default table (`purse_async._declines.DEFAULT_DECLINES`); partner `"*"` is any.
    - `scheme_caps`: `{network: ((attempts, window), ...)}` card-scheme limits, counted over the
      attempts of the history given, the first included (default Visa 15 in 30 days,
      Mastercard 10 in 24 hours and 35 in 30 days); the network is the card's
      `selected_network`.
    - `do_not_retry_advice_codes`: Mastercard merchant advice codes that forbid any retry.
    """

    max_attempts: int = 4
    schedule: tuple[timedelta, ...] = DEFAULT_SCHEDULE
    next_partner_at_once: bool = True
    declines: Mapping[tuple[str, str], DeclineKind | str] = attrs.field(factory=dict, hash=False)
    scheme_caps: Mapping[str, Sequence[tuple[int, timedelta]]] = attrs.field(
        default=DEFAULT_SCHEME_CAPS, hash=False
    )
    do_not_retry_advice_codes: frozenset[str] = frozenset({"03", "21"})
    _table: Mapping[tuple[str, str], DeclineKind] = attrs.field(
        init=False, repr=False, eq=False, hash=False, default=DEFAULT_DECLINES
    )

    def __attrs_post_init__(self) -> None:
        if isinstance(self.max_attempts, bool) or not isinstance(self.max_attempts, int):
            raise ConfigurationError(f"max_attempts must be an int, got {self.max_attempts!r}")
        if self.max_attempts < 1:
            raise ConfigurationError(f"max_attempts must be >= 1, got {self.max_attempts!r}")
        schedule = tuple(self.schedule)
        if not all(isinstance(d, timedelta) and d > timedelta(0) for d in schedule) or any(
            a >= b for a, b in pairwise(schedule)
        ):
            raise ConfigurationError(
                f"schedule must be increasing positive timedeltas, got {self.schedule!r}"
            )
        try:
            overrides = normalize_table(self.declines)
        except (ValueError, AttributeError) as exc:
            raise ConfigurationError(str(exc)) from None
        caps: dict[str, tuple[tuple[int, timedelta], ...]] = {}
        for network, limits in dict(self.scheme_caps).items():
            key = _network(network) if isinstance(network, str) else None
            pairs = tuple(tuple(pair) for pair in limits)
            if key is None or not all(
                len(p) == 2
                and isinstance(p[0], int)
                and not isinstance(p[0], bool)
                and p[0] >= 1
                and isinstance(p[1], timedelta)
                and p[1] > timedelta(0)
                for p in pairs
            ):
                raise ConfigurationError(
                    f"scheme_caps maps a network to (attempts >= 1, timedelta) pairs, "
                    f"got {network!r}: {limits!r}"
                )
            caps[key] = pairs  # type: ignore[assignment]
        codes = frozenset(str(code) for code in self.do_not_retry_advice_codes)
        object.__setattr__(self, "schedule", schedule)
        object.__setattr__(self, "declines", overrides)
        object.__setattr__(self, "scheme_caps", caps)
        object.__setattr__(self, "do_not_retry_advice_codes", codes)
        object.__setattr__(self, "_table", {**DEFAULT_DECLINES, **overrides})

    @property
    def decline_table(self) -> Mapping[tuple[str, str], DeclineKind]:
        """The table in force: the defaults with `declines` applied (keys in lower case)."""
        return MappingProxyType(dict(self._table))

    @staticmethod
    def attempt_key(order_reference: str, attempt: int) -> str:
        """`"{order_reference}/authorization/{attempt}"`: the idempotency key of attempt
        number `attempt` (1-based) of an order."""
        return attempt_key(order_reference, attempt)

    def classify(self, transaction: PartnerTransaction) -> DeclineKind:
        """SOFT, HARD, TECHNICAL or UNKNOWN for one failed partner transaction."""
        return classify(
            transaction, self._table, do_not_retry_advice_codes=self.do_not_retry_advice_codes
        )

    def decide(
        self,
        payment: Payment,
        *,
        initiator: Initiator,
        history: Sequence[AttemptRecord] = (),
        now: datetime,
        eligible_partners: Sequence[str] | None = None,
    ) -> RetryDecision:
        """`decide(payment, ..., policy=self)`."""
        return decide(
            payment,
            initiator=initiator,
            history=history,
            policy=self,
            now=now,
            eligible_partners=eligible_partners,
        )


def _why(payment: Payment, policy: AuthorizationRetry, kind: DeclineKind | None) -> str:
    auth = payment.authorization
    for tx in auth.partner_transactions if auth is not None else ():
        if tx.status in RETRYABLE_AUTHORIZATION_STATUSES and policy.classify(tx) == kind:
            text = f"{tx.partner or '?'} {tx.status} {tx.partner_status!r}"
            return (
                f"{text} {tx.partner_status_description}" if tx.partner_status_description else text
            )
    return f"authorization {auth.status if auth is not None else None}"


def _holds_money(payment: Payment) -> str | None:
    amounts = payment.amounts
    if amounts is not None:
        for name in ("total_authorized", "authorize_pending"):
            value = getattr(amounts, name)
            if isinstance(value, int) and value > 0:
                return f"amounts.{name} is {value}"
    auth = payment.authorization
    for tx in auth.partner_transactions if auth is not None else ():
        if tx.status in _HOLDING:
            return f"partner transaction {tx.id} ({tx.partner}) is {tx.status}"
    return None


def _cap_free_at(
    records: Sequence[AttemptRecord], caps: Sequence[tuple[int, timedelta]], now: datetime
) -> tuple[datetime, str | None]:
    """The earliest time from `now` when one more attempt keeps within every cap, and the cap
    that holds it back (None if none does)."""
    times = sorted(record.at for record in records)
    when, which = now, None
    for limit, window in caps:
        if len(times) < limit:
            continue
        free = times[len(times) - limit] + window  # when enough old attempts left the window
        if free > when:
            when, which = free, f"at most {limit} attempts in {_span(window)}"
    return when, which


def decide(
    payment: Payment,
    *,
    initiator: Initiator,
    history: Sequence[AttemptRecord] = (),
    policy: AuthorizationRetry | None = None,
    now: datetime,
    eligible_partners: Sequence[str] | None = None,
) -> RetryDecision:
    """May a new authorization attempt follow `payment` (the latest attempt of its order)?

    `history` holds the order's attempts (an `AttemptStore`'s records; `payment` is added or
    refreshed in it); `eligible_partners` the card partners eligible for the order, in order
    (None: unknown, then no partner is picked). The rules, in order (docs/authorization.md):
    nothing but a final REFUSED (DECLINED alike) or ERROR is ever retried; nothing is while any
    attempt of the order is authorized, pending or of unknown outcome; a hard decline never is.
    Then CIT: ask the shopper. MIT: an unclassified decline is not retried; a technical failure
    is retried at once, once per round (on a partner not tried yet if one is eligible); a soft
    decline at once on an untried eligible partner (`next_partner_at_once`), else at the next
    scheduled time; always within `max_attempts` and the card scheme's caps.
    """
    if initiator not in INITIATORS:
        raise ValidationError(
            f"initiator must be 'CIT' or 'MIT', got {initiator!r}",
            field="initiator",
            value=initiator,
        )
    policy = policy or AuthorizationRetry()
    now = aware(now)
    reference = payment.order_reference or (payment.order.reference if payment.order else None)
    records = fold(history)
    known = next((r for r in records if r.payment_id == payment.id), None)
    real = [r for r in records if r.status != NOT_CREATED]
    number = known.attempt if known else max((r.attempt for r in real), default=0) + 1
    current = AttemptRecord.from_payment(
        payment,
        attempt=number,
        at=known.at if known else (payment.created_at or now),
        idempotency_key=known.idempotency_key if known else None,
        partner=known.partner if known else None,
        policy=policy,
    )
    records = fold([*records, current])
    real = [r for r in records if r.status != NOT_CREATED]
    next_n = max(r.attempt for r in real) + 1
    next_key = attempt_key(reference, next_n) if reference else None
    kind = current.decline
    first_at = min(r.at for r in real)
    points = [first_at + delay for delay in policy.schedule]
    round_start = max([first_at, *(p for p in points if p <= current.at)])
    tried = tuple(
        dict.fromkeys(p for r in real if r.at >= round_start for p in (*r.partners, r.partner) if p)
    )

    def answer(
        action: RetryAction,
        reason: str,
        *,
        at: datetime | None = None,
        partner: str | None = None,
        exclude: tuple[str, ...] = tried,
    ) -> RetryDecision:
        return RetryDecision(
            action=action,
            reason=reason,
            attempt=next_n,
            at=at,
            exclude_partners=exclude,
            partner=partner,
            idempotency_key=None if action is RetryAction.DONT_RETRY else next_key,
            decline=kind,
        )

    dont = RetryAction.DONT_RETRY
    status = payment.authorization.status if payment.authorization is not None else None
    if status is None:
        return answer(dont, "the payment has no authorization status yet")
    if status == AuthorizationStatus.PENDING:
        return answer(
            dont,
            "the authorization is PENDING, not final: wait for it "
            "(payments.wait_for_authorization) and decide again",
        )
    if status in (AuthorizationStatus.AUTHORIZED, AuthorizationStatus.ABORTED):
        return answer(dont, f"the authorization is {status}: never retried")
    holding = _holds_money(payment)
    if holding is not None:
        return answer(dont, f"part of the payment is authorized or pending ({holding})")
    if status not in RETRYABLE_AUTHORIZATION_STATUSES:
        return answer(dont, f"unknown authorization status {str(status)!r}: never retried")
    for other in real:
        if other is current:
            continue
        if other.in_flight or (other.status is None):
            return answer(
                dont,
                f"attempt {other.attempt} of this order (key {other.idempotency_key}) has no "
                "recorded outcome: find out what it did before any new attempt",
            )
        if other.status not in FAILED_AUTHORIZATION_STATUSES:
            return answer(
                dont,
                f"attempt {other.attempt} of this order is {other.status} "
                f"(payment {other.payment_id}): one order, one authorization",
            )
    hard = next((r for r in real if r.decline == DeclineKind.HARD), None)
    if hard is not None:
        what = _why(payment, policy, kind) if hard is current else f"attempt {hard.attempt}"
        return answer(dont, f"hard decline ({what}): never retried")
    if next_n > policy.max_attempts:
        return answer(dont, f"{next_n - 1} attempts made for this order (max_attempts)")
    network = _network(current.network) or next(
        (_network(r.network) for r in reversed(real) if r.network), None
    )
    caps = policy.scheme_caps.get(network or "", ())
    free_at, cap = _cap_free_at(real, caps, now)
    why = _why(payment, policy, kind)

    if initiator == "CIT":
        if cap is not None:
            return answer(dont, f"{network} allows {cap} on a card: next allowed at {free_at}")
        reasons = {
            DeclineKind.SOFT: f"soft decline ({why})",
            DeclineKind.TECHNICAL: f"technical failure ({why}): nobody decided",
        }
        text = reasons.get(kind or DeclineKind.UNKNOWN, f"unclassified decline ({why})")
        return answer(
            RetryAction.ASK_SHOPPER,
            f"{text}; a new attempt needs the shopper (another card, or the same one later)",
        )

    if kind not in (DeclineKind.SOFT, DeclineKind.TECHNICAL):
        return answer(
            dont,
            f"unclassified decline ({why}): not retried without the shopper; classify it with "
            "AuthorizationRetry(declines=...)",
        )
    untried = next((p for p in eligible_partners or () if p not in tried), None)
    technical = [r for r in real if r.at >= round_start and r.decline == DeclineKind.TECHNICAL]
    action, at, partner, exclude = RetryAction.RETRY_NOW, now, untried, tried
    if kind == DeclineKind.TECHNICAL and len(technical) == 1:
        reason = f"technical failure ({why}): retried at once, once"
    elif kind == DeclineKind.SOFT and policy.next_partner_at_once and untried is not None:
        reason = f"soft decline ({why}): retried at once on {untried}, not tried yet"
    else:
        point = next((p for p in points if p > current.at), None)
        if point is None:
            return answer(
                dont,
                f"{'soft decline' if kind == DeclineKind.SOFT else 'technical failures'} ({why}) "
                f"and the retry schedule is over ({len(points)} scheduled retries)",
            )
        # A scheduled retry starts a new round: every partner may be tried again.
        partner, exclude = None, ()
        if point <= now:
            reason = f"{kind.value.lower()} decline ({why}): the scheduled retry is due"
        else:
            action, at = RetryAction.RETRY_AT, point
            reason = f"{kind.value.lower()} decline ({why}): retry at the next scheduled time"
    if cap is not None and free_at > at:
        action, at = RetryAction.RETRY_AT, free_at
        reason += f"; {network} allows {cap} on a card, so not before then"
    return answer(
        action,
        reason,
        at=at if action is RetryAction.RETRY_AT else None,
        partner=partner if action is RetryAction.RETRY_NOW else None,
        exclude=exclude,
    )
