"""The I/O side of authorization retries: `payments.retry_decision` (re-read, then decide) and
`payments.authorize_with_retry` (MIT on a saved card: perform what the policy allows at once).

The rules are pure (`purse_async._authorization_retry.decide`); this module reads the payment and
the eligible solutions, creates the attempts and keeps the attempt ledger. Crash safety:
- attempt n of an order always carries the key `"{order_reference}/authorization/{n}"`;
- it is recorded in the `AttemptStore` before it is sent (in flight) and again with its outcome;
- a call finding the last attempt in flight never guesses: it re-sends that same attempt (same
  key, so Purse's write-conflict replay hands back the payment it made) only when the client
  has `idempotent_creates=True`; otherwise it raises `OutcomeUnknownError` with the key;
- attempt n+1 is only ever created after attempt n's payment was read back as a final failure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from .. import models as _models
from .._attempts import (
    NOT_CREATED,
    AttemptRecord,
    AttemptStore,
    AuthorizationOutcome,
    RetryAction,
    RetryDecision,
    fold,
)
from .._authorization_retry import INITIATORS, AuthorizationRetry, Initiator, attempt_key, decide
from .._errors import IdempotencyConflictError, PurseError, ValidationError
from .._logging import logger
from .._requester import keyed
from ..models._enums import RETRYABLE_AUTHORIZATION_STATUSES
from ._base import Budget as _Budget
from ._base import (
    check_amount,
    check_id,
    check_idempotency_key,
    check_list,
    check_object,
)
from ._eligible_solutions import AsyncEligibleSolutions
from ._outcomes import outcome_unknown
from ._saved_cards import check_charge_order

if TYPE_CHECKING:
    from ..models.payment import Payment
    from ._payments import AsyncPayments

__all__ = ["authorize_with_retry", "retry_decision"]

CARD_METHOD = "creditcard"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _policy(value: object) -> AuthorizationRetry:
    if value is None:
        return AuthorizationRetry()
    if not isinstance(value, AuthorizationRetry):
        raise ValidationError(
            f"the retry policy must be an AuthorizationRetry, got {type(value).__name__}",
            field="retry",
            value=value,
        )
    return value


def _initiator(value: object) -> Initiator:
    if value == "CIT":
        return "CIT"
    if value == "MIT":
        return "MIT"
    raise ValidationError(
        f"initiator must be one of {', '.join(INITIATORS)}, got {value!r}",
        field="initiator",
        value=value,
    )


async def _eligible_partners(
    payments: AsyncPayments,
    *,
    amount: int | None,
    currency: str | None,
    order: Mapping[str, Any] | None,
    customer: Any,
    method: str,
    budget: _Budget,
    timeout: float | None,
    max_retries: int | None,
    extra_headers: Mapping[str, str] | None,
) -> list[str] | None:
    """The partners eligible for `method`, in Purse's order (None if the payment does not say
    enough to ask: no amount, currency or order)."""
    if amount is None or currency is None or not order:
        return None
    solutions = await AsyncEligibleSolutions(payments._requester, payments._settings).list(
        amount=amount,
        currency=currency,
        order=order,
        customer=customer,
        timeout=timeout,
        deadline=budget.left(),
        max_retries=max_retries,
        extra_headers=extra_headers,
    )
    found = [s.partner for s in solutions.eligible_solutions if s.partner and s.method == method]
    return list(dict.fromkeys(found))


def _method_of(payment: Payment, default: str = CARD_METHOD) -> str:
    auth = payment.authorization
    for tx in auth.partner_transactions if auth is not None else ():
        if tx.is_failed and tx.method:
            return tx.method
    return default


async def retry_decision(
    payments: AsyncPayments,
    payment: Payment | str,
    *,
    initiator: Initiator,
    history: Sequence[AttemptRecord],
    policy: AuthorizationRetry | None,
    timeout: float | None,
    deadline: float | None,
    max_retries: int | None,
    extra_headers: Mapping[str, str] | None,
) -> RetryDecision:
    who = _initiator(initiator)
    rules = _policy(policy)
    payment_id = payment.id if isinstance(payment, _models.Payment) else payment
    check_id("payment_id", payment_id)
    records = list(history)
    if not all(isinstance(r, AttemptRecord) for r in records):
        raise ValidationError("history must hold AttemptRecord objects", field="history")
    budget = _Budget(deadline)
    # The authoritative state: a webhook's or a caller's copy may be stale.
    fresh = await payments.retrieve(
        payment_id,
        timeout=timeout,
        deadline=budget.left(),
        max_retries=max_retries,
        extra_headers=extra_headers,
    )
    eligible = None
    status = fresh.authorization.status if fresh.authorization is not None else None
    if who == "MIT" and status in RETRYABLE_AUTHORIZATION_STATUSES:
        eligible = await _eligible_partners(
            payments,
            amount=fresh.amount,
            currency=fresh.currency,
            order=_order_of(fresh),
            customer=fresh.customer,
            method=_method_of(fresh),
            budget=budget,
            timeout=timeout,
            max_retries=max_retries,
            extra_headers=extra_headers,
        )
    return decide(
        fresh, initiator=who, history=records, policy=rules, now=_now(), eligible_partners=eligible
    )


def _order_of(payment: Payment) -> dict[str, Any] | None:
    if payment.order is not None:
        order: dict[str, Any] = check_object("order", payment.order, model=_models.Order)
        return order
    return {"reference": payment.order_reference} if payment.order_reference else None


def _unknown(record: AttemptRecord, amount: int, currency: str, reference: str) -> PurseError:
    return outcome_unknown(
        f"attempt {record.attempt} of order {reference!r} was sent and its outcome never recorded",
        resource="payment",
        amount=amount,
        currency=currency,
        order_reference=reference,
        idempotency_key=record.idempotency_key,
        find_out="Find out whether it exists, then append its AttemptRecord (with payment_id, "
        "or status NOT_CREATED) to the attempt store",
    )


def _mit_item(split: object) -> dict[str, Any]:
    items = check_list("split", split, model=_models.SplitItem)
    if len(items) != 1:
        raise ValidationError(
            "retries are for merchant-initiated payments on a saved card: split must be one "
            "item with a wallet_token",
            field="split",
            value=split,
        )
    item: dict[str, Any] = items[0]
    token = item.get("wallet_token")
    if not isinstance(token, str) or not token or item.get("vault_form_token"):
        raise ValidationError(
            "retries are for merchant-initiated payments on a saved card: the split item needs "
            "a wallet_token (and no vault_form_token, which needs the shopper)",
            field="split",
            value=split,
        )
    return item


async def authorize_with_retry(
    payments: AsyncPayments,
    *,
    amount: int,
    currency: str,
    split: Sequence[Any],
    order: Any,
    customer: Any,
    create: Mapping[str, Any],
    retry: AuthorizationRetry | None,
    attempt_store: AttemptStore | None,
    timeout: float | None,
    deadline: float | None,
    max_retries: int | None,
    extra_headers: Mapping[str, str] | None,
) -> AuthorizationOutcome:
    """The MIT loop (see the module docstring); `create` holds the other `payments.create`
    arguments, sent unchanged with every attempt."""
    policy = _policy(retry)
    check_amount("amount", amount, allow_zero=False)
    item = _mit_item(split)
    # Required, with a reference: each attempt's key is derived from it.
    order_body = check_charge_order(order)
    reference: str = order_body["reference"]
    check_idempotency_key(attempt_key(reference, policy.max_attempts))
    # The whole body, checked once: nothing wrong in it may reach the attempt store (an
    # attempt recorded in flight, then NOT_CREATED, for an argument that could never work).
    body = payments._create_body(
        amount=amount,
        currency=currency,
        split=[item],
        order=order_body,
        customer=customer,
        **create,
    )
    store = attempt_store if attempt_store is not None else payments._default_attempt_store()
    budget = _Budget(deadline)
    options: dict[str, Any] = {
        "timeout": timeout,
        "max_retries": max_retries,
        "extra_headers": extra_headers,
    }
    eligible: list[str] | None = None
    async with payments._order_lock(reference):
        records = fold(await store.get(reference))
        fresh: Payment | None = None  # the last attempt's payment, when just created
        while True:
            last = records[-1] if records else None
            if last is None:
                number, partner, sent_at = 1, None, None
            elif last.status == NOT_CREATED:
                number, partner, sent_at = last.attempt, last.partner, None
            elif last.in_flight:
                if not payments._settings.idempotent_creates:
                    raise _unknown(last, amount, currency, reference)
                # Purse deduplicates creations: the same key replays what it made, if anything.
                number, partner, sent_at = last.attempt, last.partner, last.at
            else:
                payment = fresh
                if payment is None:
                    assert last.payment_id is not None
                    payment = await payments.retrieve(
                        last.payment_id, deadline=budget.left(), **options
                    )
                record = AttemptRecord.from_payment(
                    payment,
                    attempt=last.attempt,
                    at=last.at,
                    idempotency_key=last.idempotency_key,
                    partner=last.partner,
                    policy=policy,
                )
                if record != last:  # e.g. a PENDING attempt that has settled since
                    await store.append(reference, record)
                    records = fold([*records, record])
                status = payment.authorization.status if payment.authorization else None
                if eligible is None and status in RETRYABLE_AUTHORIZATION_STATUSES:
                    eligible = await _eligible_partners(
                        payments,
                        amount=amount,
                        currency=currency,
                        order=order_body,
                        customer=body.get("customer"),
                        method=str(item.get("method") or _method_of(payment)),
                        budget=budget,
                        **options,
                    )
                decision = decide(
                    payment,
                    initiator="MIT",
                    history=records,
                    policy=policy,
                    now=_now(),
                    eligible_partners=eligible,
                )
                if (
                    decision.action is not RetryAction.RETRY_NOW
                    or decision.attempt <= last.attempt
                    or budget.spent
                ):
                    return AuthorizationOutcome(
                        payment=payment, attempts=tuple(records), decision=decision
                    )
                number, partner, sent_at = decision.attempt, decision.partner, None
            fresh = None
            key = attempt_key(reference, number)
            with keyed(key):  # a spent budget is this attempt's error, not yet sent
                left = budget.left()  # raises before anything is recorded or sent
            sent = AttemptRecord(
                attempt=number, idempotency_key=key, at=sent_at or _now(), partner=partner
            )
            logger.info("authorization attempt %d of order %s (key %s)", number, reference, key)
            await store.append(reference, sent)  # in flight, before anything is sent
            records = fold([*records, sent])
            try:
                # Only the partner differs between attempts (the rest was checked above).
                fresh = await payments._send_create(
                    {**body, "split": [{**item, "partner": partner} if partner else item]},
                    key=key,
                    deadline=left,
                    **options,
                )
            except PurseError as exc:
                if exc.may_have_been_applied is not True and not isinstance(
                    exc, IdempotencyConflictError
                ):
                    # Certainly not created (refused before sending, or by Purse): the same
                    # attempt, with the same key, may be sent again. (A write-conflict means
                    # the key did make something: it stays in flight.)
                    refused = AttemptRecord(
                        attempt=number,
                        idempotency_key=key,
                        at=sent.at,
                        partner=partner,
                        status=NOT_CREATED,
                    )
                    await store.append(reference, refused)
                # Ambiguous: the record stays in flight, and the next call will not guess.
                raise
            done = AttemptRecord.from_payment(
                fresh,
                attempt=number,
                at=sent.at,
                idempotency_key=key,
                partner=partner,
                policy=policy,
            )
            await store.append(reference, done)
            records = fold([*records, done])
