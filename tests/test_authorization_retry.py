"""Authorization retries, decided purely: the decline table and its overrides, every rule of
`decide` (CIT and MIT), the schedule and its rounds, card-scheme caps, attempt keys, the
append-only attempt ledger. No I/O (the sandbox tests are in test_e2e_authorization_retry.py)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

import purse_async as pa
from purse_async import (
    AttemptRecord,
    AuthorizationRetry,
    DeclineKind,
    MemoryAttemptStore,
    RetryAction,
)
from purse_async._attempts import NOT_CREATED, fold
from purse_async._authorization_retry import attempt_key, decide
from purse_async._declines import DEFAULT_DECLINES, worst
from purse_async.models import (
    Amounts,
    Authorization,
    Card,
    PartnerAdditionalData,
    PartnerTransaction,
    Payment,
)

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=timezone.utc)
PARTNERS = ("ingenico", "adyen")
DAY = timedelta(days=1)


def tx(
    code: str | None,
    *,
    partner: str = "ingenico",
    status: str = "REFUSED",
    network: str | None = "VISA",
    method: str = "creditcard",
    **extra: Any,
) -> PartnerTransaction:
    return PartnerTransaction(
        id=f"tx-{partner}-{code}-{status}",
        partner=partner,
        method=method,
        amount=1000,
        status=pa.AuthorizationStatus(status),
        partner_status=code,
        partner_status_description=f"description of {code}",
        card=None if network is None else Card(selected_network=network, last_four_digits="0051"),
        **extra,
    )


def payment(
    *txs: PartnerTransaction,
    status: str | None = None,
    pid: str = "pay-1",
    at: datetime = NOW,
    reference: str | None = "ORDER-7",
    amounts: Amounts | None = None,
) -> Payment:
    if status is None:
        status = str(txs[-1].status) if txs else "REFUSED"
    return Payment(
        id=pid,
        order_reference=reference,
        created_at=at,
        amount=1000,
        currency="EUR",
        amounts=amounts,
        authorization=Authorization(
            status=pa.AuthorizationStatus(status), partner_transactions=txs
        ),
    )


def soft(partner: str = "ingenico", **kw: Any) -> Payment:
    code = "51" if partner != "adyen" else "Not enough balance"
    return payment(tx(code, partner=partner), **kw)


def record(
    n: int,
    at: datetime,
    *,
    status: str | None = "REFUSED",
    decline: DeclineKind | None = DeclineKind.SOFT,
    partners: tuple[str, ...] = ("ingenico",),
    network: str | None = "VISA",
    pid: str | None = None,
) -> AttemptRecord:
    return AttemptRecord(
        attempt=n,
        idempotency_key=attempt_key("ORDER-7", n),
        at=at,
        payment_id=pid if pid is not None else f"pay-{n}",
        status=status,
        partners=partners,
        decline=decline,
        network=network,
    )


def mit(p: Payment, history: list[AttemptRecord] | None = None, **kw: Any) -> pa.RetryDecision:
    kw.setdefault("eligible_partners", PARTNERS)
    kw.setdefault("now", NOW)
    return decide(p, initiator="MIT", history=history or [], **kw)


def cit(p: Payment, history: list[AttemptRecord] | None = None, **kw: Any) -> pa.RetryDecision:
    kw.setdefault("now", NOW)
    return decide(p, initiator="CIT", history=history or [], **kw)


# -- the decline table -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("partner", "code", "status", "kind"),
    [
        ("ingenico", "05", "REFUSED", DeclineKind.HARD),
        ("ingenico", "51", "REFUSED", DeclineKind.SOFT),
        ("ingenico", "54", "REFUSED", DeclineKind.HARD),
        ("ingenico", "96", "ERROR", DeclineKind.TECHNICAL),
        ("ingenico", "91", "REFUSED", DeclineKind.TECHNICAL),
        ("ingenico", "61", "REFUSED", DeclineKind.SOFT),
        ("ingenico", "65", "REFUSED", DeclineKind.SOFT),
        ("ingenico", "41", "REFUSED", DeclineKind.HARD),
        ("ingenico", "43", "REFUSED", DeclineKind.HARD),
        ("ingenico", "59", "REFUSED", DeclineKind.HARD),
        ("ingenico", "62", "REFUSED", DeclineKind.HARD),
        ("some-psp", "51", "REFUSED", DeclineKind.SOFT),  # the "*" rows apply to any partner
        ("adyen", "Not enough balance", "REFUSED", DeclineKind.SOFT),
        ("adyen", "Refused", "REFUSED", DeclineKind.HARD),
        ("adyen", "Expired Card", "REFUSED", DeclineKind.HARD),
        ("adyen", "expired card ", "REFUSED", DeclineKind.HARD),  # case and spaces ignored
        ("ADYEN", "Acquirer Error", "ERROR", DeclineKind.TECHNICAL),
        ("adyen", "Blocked Card", "REFUSED", DeclineKind.HARD),
        ("adyen", "Stolen Card", "REFUSED", DeclineKind.HARD),
        ("adyen", "FRAUD", "REFUSED", DeclineKind.HARD),
        ("adyen", "05", "REFUSED", DeclineKind.HARD),  # ISO codes also apply to adyen
        ("ingenico", "Not enough balance", "REFUSED", DeclineKind.UNKNOWN),  # adyen's only
        ("ingenico", "X9", "REFUSED", DeclineKind.UNKNOWN),
        ("ingenico", "X9", "ERROR", DeclineKind.TECHNICAL),  # nobody decided
        ("ingenico", None, "REFUSED", DeclineKind.UNKNOWN),
    ],
)
def test_default_classification(
    partner: str, code: str | None, status: str, kind: DeclineKind
) -> None:
    assert AuthorizationRetry().classify(tx(code, partner=partner, status=status)) is kind


def test_overrides_extend_and_replace_the_defaults() -> None:
    policy = AuthorizationRetry(
        declines={
            ("*", "05"): DeclineKind.SOFT,  # Visa category 4 latitude
            ("ingenico", "51"): "HARD",  # partner-specific beats the wildcard; strings accepted
            ("Mypsp", " Try Later "): DeclineKind.SOFT,
        }
    )
    assert policy.classify(tx("05", partner="adyen")) is DeclineKind.SOFT
    assert policy.classify(tx("51")) is DeclineKind.HARD
    assert policy.classify(tx("51", partner="adyen")) is DeclineKind.SOFT
    assert policy.classify(tx("try later", partner="mypsp")) is DeclineKind.SOFT
    assert policy.decline_table[("*", "05")] is DeclineKind.SOFT
    assert AuthorizationRetry().decline_table == DEFAULT_DECLINES
    with pytest.raises(TypeError):
        policy.decline_table[("*", "05")] = DeclineKind.HARD  # type: ignore[index]


@pytest.mark.parametrize(
    "declines",
    [
        {("*",): DeclineKind.SOFT},
        {"05": DeclineKind.SOFT},
        {("*", ""): DeclineKind.SOFT},
        {("*", "05"): "MAYBE"},
    ],
)
def test_bad_table_entries_are_refused(declines: Any) -> None:
    with pytest.raises(pa.ConfigurationError):
        AuthorizationRetry(declines=declines)


def test_do_not_retry_advice_codes_make_any_decline_hard() -> None:
    policy = AuthorizationRetry()
    advised = tx("51", extra={"merchant_advice_code": "03"})
    assert policy.classify(advised) is DeclineKind.HARD
    nested = tx(
        "51",
        partner_additional_data=PartnerAdditionalData(
            extra={"merchant_advice_code": "21: Payment cancellation"}
        ),
    )
    assert policy.classify(nested) is DeclineKind.HARD
    assert policy.classify(tx("51", extra={"merchant_advice_code": "02"})) is DeclineKind.SOFT
    assert policy.classify(tx("51", extra={"merchant_advice_code": 3})) is DeclineKind.HARD
    lenient = AuthorizationRetry(do_not_retry_advice_codes=frozenset())
    assert lenient.classify(advised) is DeclineKind.SOFT


def test_the_worst_kind_decides_among_several() -> None:
    assert worst([DeclineKind.TECHNICAL, DeclineKind.SOFT]) is DeclineKind.SOFT
    assert worst([DeclineKind.SOFT, DeclineKind.UNKNOWN]) is DeclineKind.UNKNOWN
    assert worst([DeclineKind.SOFT, DeclineKind.HARD, DeclineKind.TECHNICAL]) is DeclineKind.HARD
    assert worst([]) is None
    # An ERROR at one partner and a soft decline at the next, in one payment: soft.
    p = payment(tx("96", status="ERROR"), tx("Not enough balance", partner="adyen"))
    assert mit(p).decline is DeclineKind.SOFT


# -- keys and the ledger -----------------------------------------------------------------------


def test_attempt_keys_are_derived_from_the_order_reference_and_number() -> None:
    assert attempt_key("ORDER-7", 1) == "ORDER-7/authorization/1"
    assert AuthorizationRetry.attempt_key("ORDER-7", 12) == "ORDER-7/authorization/12"
    assert attempt_key("ORDER-7", 2) == attempt_key("ORDER-7", 2)
    for bad_ref, bad_n in [("", 1), ("  ", 1), (None, 1), ("O", 0), ("O", True), ("O", "1")]:
        with pytest.raises(pa.ValidationError):
            attempt_key(bad_ref, bad_n)  # type: ignore[arg-type]


async def test_memory_store_is_append_only_and_fold_keeps_the_latest() -> None:
    store = MemoryAttemptStore()
    sent = AttemptRecord(attempt=1, idempotency_key="k/1", at=NOW)
    assert sent.in_flight
    done = AttemptRecord(attempt=1, idempotency_key="k/1", at=NOW, payment_id="p", status="REFUSED")
    assert not done.in_flight
    assert not AttemptRecord(attempt=2, at=NOW, status=NOT_CREATED).in_flight
    await store.append("O", sent)
    await store.append("O", done)
    got = await store.get("O")
    assert got == [sent, done]
    got.clear()  # a copy: the store is unchanged
    assert len(await store.get("O")) == 2
    assert await store.get("other") == []
    later = AttemptRecord(attempt=2, at=NOW + DAY)
    assert fold([later, sent, done]) == [done, later]


def test_a_record_from_a_payment() -> None:
    p = payment(tx("96", status="ERROR"), tx("Not enough balance", partner="adyen"))
    r = AttemptRecord.from_payment(p, attempt=3, at=NOW, policy=AuthorizationRetry())
    assert (r.attempt, r.payment_id, r.status, r.network) == (3, "pay-1", "REFUSED", "VISA")
    assert r.partners == ("ingenico", "adyen")
    assert r.decline is DeclineKind.SOFT
    naive = AttemptRecord.from_payment(
        p, attempt=1, at=datetime(2025, 1, 1), policy=AuthorizationRetry()
    )
    assert naive.at.tzinfo is timezone.utc


def test_aborted_is_a_failure_but_not_one_a_new_attempt_follows() -> None:
    """One definition: REFUSED, DECLINED, ERROR and ABORTED failed; all but ABORTED (stopped on
    purpose) are what a retry may follow."""
    aborted = tx("CANCELLED", partner="adyen", status="ABORTED")
    assert all(t.is_failed for t in (aborted, tx("51"), tx("51", status="DECLINED")))
    assert tx("96", status="ERROR").is_failed and not tx("ok", status="AUTHORIZED").is_failed
    # A stopped transaction is neither a partner that declined nor a decline to classify.
    mixed = payment(aborted, tx("51"), status="REFUSED")
    r = AttemptRecord.from_payment(mixed, attempt=1, at=NOW, policy=AuthorizationRetry())
    assert r.partners == ("ingenico",) and r.decline is DeclineKind.SOFT
    assert "ingenico REFUSED '51'" in mit(mixed).reason
    # An earlier attempt that ended ABORTED holds nothing: it does not block a new one.
    stopped = record(1, NOW - DAY, pid="pay-0", status="ABORTED", decline=None, partners=())
    assert mit(soft(pid="pay-1"), [stopped]).action is RetryAction.RETRY_NOW


# -- what is never retried ---------------------------------------------------------------------


@pytest.mark.parametrize("initiator", ["CIT", "MIT"])
@pytest.mark.parametrize(
    ("p", "why"),
    [
        (payment(tx("PENDING_AUTHORISATION", status="PENDING")), "PENDING"),
        (payment(tx("Authorised", partner="adyen", status="AUTHORIZED")), "AUTHORIZED"),
        (payment(tx("CANCELLED", status="ABORTED")), "ABORTED"),
        (payment(status="ABORTED"), "ABORTED"),
        (Payment(id="pay-1", order_reference="ORDER-7"), "no authorization status"),
        (payment(tx("51"), status="SOMETHING_NEW"), "unknown authorization status"),
        # REFUSED overall, yet something is still held: a new attempt would charge twice.
        (payment(tx("51"), amounts=Amounts(total_authorized=500)), "total_authorized"),
        (payment(tx("51"), amounts=Amounts(authorize_pending=500)), "authorize_pending"),
        (
            payment(
                tx("AUTHORISED", partner="illicado", status="AUTHORIZED", method="giftcard"),
                tx("51"),
                status="REFUSED",
            ),
            "illicado",
        ),
        (payment(tx("05")), "hard decline"),
        (payment(tx("Stolen Card", partner="adyen")), "hard decline"),
    ],
)
def test_never_retried(initiator: str, p: Payment, why: str) -> None:
    decision = decide(p, initiator=initiator, history=[], now=NOW, eligible_partners=PARTNERS)  # type: ignore[arg-type]
    assert decision.action is RetryAction.DONT_RETRY
    assert why in decision.reason
    assert decision.idempotency_key is None


def test_nothing_is_retried_while_another_attempt_holds_or_is_unknown() -> None:
    p = soft(pid="pay-1", at=NOW)
    other = [
        record(1, NOW - DAY, pid="pay-0", status="AUTHORIZED", decline=None),
    ]
    decision = mit(p, other)
    assert decision.action is RetryAction.DONT_RETRY
    assert "attempt 1 of this order is AUTHORIZED" in decision.reason
    pending = [record(1, NOW - DAY, pid="pay-0", status="PENDING", decline=None)]
    assert mit(p, pending).action is RetryAction.DONT_RETRY
    in_flight = [
        record(1, NOW - DAY, pid="pay-1"),
        AttemptRecord(attempt=2, idempotency_key="ORDER-7/authorization/2", at=NOW),
    ]
    decision = mit(p, in_flight)
    assert decision.action is RetryAction.DONT_RETRY
    assert "ORDER-7/authorization/2" in decision.reason and "no recorded outcome" in decision.reason
    hard_before = [record(1, NOW - DAY, pid="pay-0", decline=DeclineKind.HARD)]
    decision = mit(p, hard_before)
    assert (
        decision.action is RetryAction.DONT_RETRY and "hard decline (attempt 1)" in decision.reason
    )


# -- CIT: ask the shopper --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("p", "kind"),
    [
        (soft(), DeclineKind.SOFT),
        (payment(tx("96", status="ERROR")), DeclineKind.TECHNICAL),
        (payment(tx("X9")), DeclineKind.UNKNOWN),
    ],
)
def test_cit_asks_the_shopper_with_the_partners_tried(p: Payment, kind: DeclineKind) -> None:
    decision = cit(p)
    assert decision.action is RetryAction.ASK_SHOPPER
    assert decision.decline is kind
    assert decision.exclude_partners == ("ingenico",)
    assert decision.attempt == 2
    assert decision.idempotency_key == "ORDER-7/authorization/2"
    assert "shopper" in decision.reason


def test_cit_after_a_cascade_names_every_failed_partner() -> None:
    p = payment(tx("51"), tx("Not enough balance", partner="adyen"))
    assert cit(p).exclude_partners == ("ingenico", "adyen")


def test_cit_within_max_attempts_and_caps() -> None:
    history = [record(n, NOW - timedelta(hours=n), pid=f"p{n}") for n in range(1, 4)]
    decision = cit(soft(pid="pay-9"), history)
    assert decision.action is RetryAction.DONT_RETRY and "max_attempts" in decision.reason
    many = [record(n, NOW - timedelta(hours=n), pid=f"p{n}") for n in range(1, 15)]
    decision = cit(soft(pid="pay-9"), many, policy=AuthorizationRetry(max_attempts=100))
    assert decision.action is RetryAction.DONT_RETRY
    assert "at most 15 attempts in 30 days" in decision.reason


# -- MIT -----------------------------------------------------------------------------------------


def test_mit_soft_decline_goes_at_once_to_the_next_eligible_partner() -> None:
    decision = mit(soft())
    assert decision.action is RetryAction.RETRY_NOW
    assert decision.partner == "adyen"
    assert decision.exclude_partners == ("ingenico",)
    assert (decision.attempt, decision.idempotency_key) == (2, "ORDER-7/authorization/2")
    assert decision.at is None and decision.decline is DeclineKind.SOFT


def test_mit_soft_decline_waits_for_the_schedule_when_no_partner_is_left() -> None:
    first = record(1, NOW - timedelta(minutes=1), pid="pay-0")
    decision = mit(soft("adyen"), [first])
    assert decision.action is RetryAction.RETRY_AT
    assert decision.at == first.at + DAY  # schedule offsets count from the first attempt
    assert decision.exclude_partners == ()  # a scheduled retry starts a new round
    assert decision.partner is None
    assert decision.idempotency_key == "ORDER-7/authorization/3"
    # Unknown eligibility, or a policy that does not switch partners: the schedule too.
    assert mit(soft(), eligible_partners=None).action is RetryAction.RETRY_AT
    policy = AuthorizationRetry(next_partner_at_once=False)
    decision = mit(soft(), policy=policy)
    assert (decision.action, decision.at) == (RetryAction.RETRY_AT, NOW + DAY)


def test_a_due_scheduled_retry_is_retry_now_in_a_new_round() -> None:
    first_at = NOW - timedelta(days=1, hours=2)
    history = [
        record(1, first_at, pid="pay-1"),
        record(2, first_at + timedelta(seconds=5), pid="pay-2", partners=("adyen",)),
    ]
    decision = mit(soft("adyen", pid="pay-2", at=first_at), history)
    assert decision.action is RetryAction.RETRY_NOW
    assert decision.partner is None and decision.exclude_partners == ()
    assert "scheduled retry is due" in decision.reason
    # In that new round (attempt 3 at first+1d failed at ingenico): adyen at once again.
    history.append(record(3, first_at + DAY + timedelta(minutes=1), pid="pay-3"))
    decision = mit(soft(pid="pay-3"), history)
    assert (decision.action, decision.partner) == (RetryAction.RETRY_NOW, "adyen")
    assert decision.exclude_partners == ("ingenico",)
    assert decision.attempt == 4


def test_the_schedule_ends() -> None:
    first_at = NOW - timedelta(days=8)
    policy = AuthorizationRetry(max_attempts=10, next_partner_at_once=False)
    history = [
        record(n, first_at + offset, pid=f"p{n}")
        for n, offset in enumerate([timedelta(0), DAY, 3 * DAY, 7 * DAY], start=1)
    ]
    decision = mit(soft(pid="p4"), history, policy=policy)
    assert decision.action is RetryAction.DONT_RETRY
    assert "schedule is over (3 scheduled retries)" in decision.reason


def test_mit_technical_failure_is_retried_at_once_once() -> None:
    error = payment(tx("96", status="ERROR"), pid="pay-1")
    decision = mit(error)
    assert (decision.action, decision.partner) == (RetryAction.RETRY_NOW, "adyen")
    assert "once" in decision.reason and decision.decline is DeclineKind.TECHNICAL
    # Without a partner left (or known), the same routing once more.
    assert mit(error, eligible_partners=["ingenico"]).partner is None
    assert mit(error, eligible_partners=None).action is RetryAction.RETRY_NOW
    # A second technical failure in the round waits for the schedule.
    first = record(1, NOW - timedelta(seconds=3), pid="pay-1", decline=DeclineKind.TECHNICAL)
    second = payment(tx("Acquirer Error", partner="adyen", status="ERROR"), pid="pay-2")
    decision = mit(second, [first])
    assert (decision.action, decision.at) == (RetryAction.RETRY_AT, first.at + DAY)
    assert decision.attempt == 3


def test_mit_unclassified_declines_are_not_retried() -> None:
    decision = mit(payment(tx("X9")))
    assert decision.action is RetryAction.DONT_RETRY
    assert "declines=" in decision.reason and decision.decline is DeclineKind.UNKNOWN


def test_max_attempts_counts_every_attempt_of_the_order() -> None:
    policy = AuthorizationRetry(max_attempts=2)
    decision = mit(soft("adyen", pid="pay-2"), [record(1, NOW, pid="pay-1")], policy=policy)
    assert decision.action is RetryAction.DONT_RETRY
    assert "2 attempts made for this order" in decision.reason
    single = mit(soft(), policy=AuthorizationRetry(max_attempts=1))
    assert single.action is RetryAction.DONT_RETRY and single.attempt == 2


def test_visa_caps_push_a_retry_out_of_the_30_day_window() -> None:
    policy = AuthorizationRetry(max_attempts=100)
    history = [
        record(n, NOW - timedelta(days=20) + timedelta(hours=n), pid=f"p{n}") for n in range(1, 15)
    ]
    p = soft(pid="p15", at=NOW)
    history.append(record(15, NOW, pid="p15"))
    decision = mit(p, history, policy=policy, eligible_partners=[*PARTNERS, "third"])
    assert decision.action is RetryAction.RETRY_AT
    assert decision.at == history[0].at + timedelta(days=30)
    assert "VISA allows at most 15 attempts in 30 days" in decision.reason


def test_mastercard_caps_24_hours_then_30_days() -> None:
    policy = AuthorizationRetry(max_attempts=100)
    history = [
        record(
            n, NOW - timedelta(hours=20) + timedelta(minutes=n), pid=f"p{n}", network="MASTERCARD"
        )
        for n in range(1, 11)
    ]
    p = payment(tx("51", network="MasterCard"), pid="p10", at=history[-1].at)
    decision = mit(p, history, policy=policy, eligible_partners=[*PARTNERS, "third"])
    assert decision.action is RetryAction.RETRY_AT
    assert decision.at == history[0].at + timedelta(hours=24)
    assert "MASTERCARD allows at most 10 attempts in 24 hours" in decision.reason
    # 35 in 30 days: spread so that the 24 h cap is not the one that holds.
    spread = [
        record(
            n, NOW - timedelta(days=25) + timedelta(hours=16 * n), pid=f"q{n}", network="MASTERCARD"
        )
        for n in range(1, 36)
    ]
    last = spread[-1]
    p = payment(tx("51", network="MASTERCARD"), pid=last.payment_id or "", at=last.at)
    decision = mit(p, spread, policy=policy, eligible_partners=[*PARTNERS, "third"], now=last.at)
    assert decision.action is RetryAction.RETRY_AT
    assert decision.at == spread[0].at + timedelta(days=30)
    assert "35 attempts in 30 days" in decision.reason


def test_caps_follow_the_network_and_can_be_replaced() -> None:
    policy = AuthorizationRetry(max_attempts=100)
    history = [record(n, NOW - timedelta(hours=n), pid=f"p{n}", network=None) for n in range(1, 20)]
    p = payment(tx("51", network="CARTE_BANCAIRE"), pid="p1", at=history[0].at)
    assert (
        mit(p, history, policy=policy, eligible_partners=[*PARTNERS, "third"]).action
        is RetryAction.RETRY_NOW
    )
    strict = AuthorizationRetry(max_attempts=100, scheme_caps={"carte bancaire": [(2, DAY)]})
    decision = mit(p, history, policy=strict, eligible_partners=[*PARTNERS, "third"])
    assert decision.action is RetryAction.RETRY_AT
    assert "CARTE_BANCAIRE allows at most 2 attempts in 24 hours" in decision.reason


def test_a_not_created_attempt_is_sent_again_under_its_key() -> None:
    history = [
        record(1, NOW - timedelta(seconds=2), pid="pay-1"),
        AttemptRecord(
            attempt=2, idempotency_key="ORDER-7/authorization/2", at=NOW, status=NOT_CREATED
        ),
    ]
    decision = mit(soft(pid="pay-1", at=NOW - timedelta(seconds=2)), history)
    assert decision.action is RetryAction.RETRY_NOW
    assert (decision.attempt, decision.idempotency_key) == (2, "ORDER-7/authorization/2")


def test_the_payment_read_wins_over_its_record() -> None:
    # The ledger says PENDING (recorded earlier); the payment has since been refused.
    history = [record(1, NOW - timedelta(hours=1), pid="pay-1", status="PENDING", decline=None)]
    decision = mit(soft(pid="pay-1"), history)
    assert decision.action is RetryAction.RETRY_NOW and decision.attempt == 2


def test_without_an_order_reference_there_is_no_key() -> None:
    decision = mit(soft(reference=None))
    assert decision.action is RetryAction.RETRY_NOW and decision.idempotency_key is None


def test_inputs_are_checked() -> None:
    with pytest.raises(pa.ValidationError):
        decide(soft(), initiator="shopper", now=NOW)  # type: ignore[arg-type]
    naive = decide(soft(), initiator="MIT", now=datetime(2025, 3, 10, 12), eligible_partners=None)
    assert naive.at == NOW + DAY
    assert AuthorizationRetry().decide(
        soft(), initiator="MIT", now=NOW, eligible_partners=PARTNERS
    ) == mit(soft())


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_attempts": 0},
        {"max_attempts": True},
        {"schedule": (DAY, DAY)},
        {"schedule": (timedelta(0),)},
        {"schedule": (1,)},
        {"scheme_caps": {"VISA": [(0, DAY)]}},
        {"scheme_caps": {"VISA": [(3, 3)]}},
        {"scheme_caps": {"": [(3, DAY)]}},
    ],
)
def test_policy_settings_are_checked(kwargs: dict[str, Any]) -> None:
    with pytest.raises(pa.ConfigurationError):
        AuthorizationRetry(**kwargs)


def test_policies_compare_and_hash() -> None:
    assert AuthorizationRetry() == AuthorizationRetry()
    assert hash(AuthorizationRetry()) == hash(AuthorizationRetry())
    assert AuthorizationRetry(max_attempts=3) != AuthorizationRetry()
    assert AuthorizationRetry(schedule=[DAY]).schedule == (DAY,)  # type: ignore[arg-type]
