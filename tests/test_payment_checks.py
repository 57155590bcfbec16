"""`Payment.check(...)`: what Purse authorized against what the merchant's order expects, every
mismatch named at once; `Authorization.explain()` / `Payment.explain()`: the partner
transactions told to a person, on the seed payment and on sandbox payments."""

from __future__ import annotations

import copy
import json
import pickle
from pathlib import Path
from typing import Any

import pytest

import purse_async as pa
import purse_sync
from purse_async._converter import structure
from purse_async.models import Authorization, Payment
from purse_async.models.payment import format_amount
from purse_async.testing import MagicCards, Sandbox

SEED: dict[str, Any] = json.loads(
    (Path(__file__).parent / "data" / "seed_get_payment.json").read_text()
)
PAYMENT_ID = SEED["id"]
RETURN_URL = "https://shop.example/payment/return"


def payment(**changes: Any) -> Payment:
    """The seed payment with top-level members replaced (None removes one)."""
    data = copy.deepcopy(SEED)
    for name, value in changes.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    return structure(data, Payment)


def authorization(status: str | None = "AUTHORIZED", **tx_changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(SEED["authorization"])
    if status is None:
        data.pop("status")
    else:
        data["status"] = status
    data["partner_transactions"][0].update(tx_changes)
    return data


def amounts(**changes: Any) -> dict[str, Any]:
    return {**SEED["amounts"], **changes}


def mismatches(p: Payment, **expected: Any) -> tuple[str, ...]:
    with pytest.raises(pa.PaymentMismatchError) as info:
        p.check(**expected)
    assert info.value.payment_id == p.id
    assert str(info.value) == (
        f"payment {p.id} does not match the order: " + "; ".join(info.value.mismatches)
    )
    return info.value.mismatches


# --- check(): every rule -----------------------------------------------------------------------


def test_the_seed_payment_matches_its_order_and_is_returned_for_chaining() -> None:
    p = payment()
    assert p.check(amount=12000, currency="EUR", order_reference="JLA123457") is p
    assert p.check(total_authorized=12000) is p
    assert p.check(amount=12000, total_authorized=12000) is p
    assert p.check(currency="EUR") is p
    assert p.check(order_reference="JLA123457") is p


def test_amount() -> None:
    # The amount itself, and (by default) what was authorized for it.
    assert mismatches(payment(), amount=15000) == (
        "amount 12000 (the order expects 15000)",
        "amounts.total_authorized 12000 (the order expects 15000)",
    )
    assert mismatches(payment(amount=None), amount=12000) == (
        "amount missing in the payment (the order expects 12000)",
    )


def test_currency_compared_case_insensitively() -> None:
    assert payment().check(currency="eur").currency == "EUR"
    assert mismatches(payment(), currency="USD") == ("currency 'EUR' (the order expects 'USD')",)
    assert mismatches(payment(currency=None), currency="EUR") == (
        "currency missing in the payment (the order expects 'EUR')",
    )


def test_order_reference_against_both_places_the_payment_holds_it() -> None:
    assert mismatches(payment(), order_reference="JLA999") == (
        "order_reference 'JLA123457' (the order expects 'JLA999')",
    )
    # Only in order.reference: compared there.
    only_order = payment(order_reference=None)
    assert only_order.check(order_reference="JLA123457") is only_order
    assert mismatches(only_order, order_reference="JLA999") == (
        "order.reference 'JLA123457' (the order expects 'JLA999')",
    )
    # Only at the top.
    only_top = payment(order={**SEED["order"], "reference": None})
    assert only_top.check(order_reference="JLA123457") is only_top
    # The two disagree: the one that differs is named.
    split = payment(order={**SEED["order"], "reference": "OTHER"})
    assert mismatches(split, order_reference="JLA123457") == (
        "order.reference 'OTHER' (the order expects 'JLA123457')",
    )
    # Neither: missing.
    neither = payment(order_reference=None, order=None)
    assert mismatches(neither, order_reference="JLA123457") == (
        "order_reference missing in the payment (the order expects 'JLA123457')",
    )


def test_total_authorized() -> None:
    assert mismatches(payment(), total_authorized=10000) == (
        "amounts.total_authorized 12000 (the order expects 10000)",
    )
    assert mismatches(payment(amounts=None), total_authorized=12000) == (
        "amounts.total_authorized missing in the payment (the order expects 12000)",
    )
    # Explicit: the status is not required (checking a refused payment authorized nothing).
    refused = payment(authorization=authorization("REFUSED"), amounts=amounts(total_authorized=0))
    assert refused.check(amount=12000, total_authorized=0) is refused


@pytest.mark.parametrize("status", ["REFUSED", "PENDING", "ERROR", "ABORTED", "SOMETHING_NEW"])
def test_by_default_an_amount_needs_an_authorized_authorization(status: str) -> None:
    p = payment(authorization=authorization(status))
    assert mismatches(p, amount=12000) == (
        f"authorization.status '{status}' (the order expects 'AUTHORIZED')",
    )
    # Not asked for without an amount.
    assert p.check(currency="EUR", order_reference="JLA123457") is p


def test_by_default_the_whole_amount_must_be_authorized() -> None:
    partial = payment(amounts=amounts(total_authorized=5000))
    assert mismatches(partial, amount=12000) == (
        "amounts.total_authorized 5000 (the order expects 12000)",
    )
    # No amounts in the payment: the status alone says it.
    assert payment(amounts=None).check(amount=12000).amounts is None
    assert mismatches(payment(amounts=amounts(total_authorized=None)), amount=12000) == (
        "amounts.total_authorized missing in the payment (the order expects 12000)",
    )


def test_a_missing_authorization_is_a_mismatch() -> None:
    for auth in (None, authorization(None)):
        assert mismatches(payment(authorization=auth), amount=12000) == (
            "authorization.status missing in the payment (the order expects 'AUTHORIZED')",
        )


def test_every_mismatch_is_named_at_once() -> None:
    p = payment(
        currency="USD",
        authorization=authorization("REFUSED"),
        amounts=amounts(total_authorized=0),
        order={**SEED["order"], "reference": "OTHER"},
    )
    found = mismatches(p, amount=9900, currency="EUR", order_reference="JLA123457")
    assert found == (
        "amount 12000 (the order expects 9900)",
        "currency 'USD' (the order expects 'EUR')",
        "order.reference 'OTHER' (the order expects 'JLA123457')",
        "authorization.status 'REFUSED' (the order expects 'AUTHORIZED')",
        "amounts.total_authorized 0 (the order expects 9900)",
    )


@pytest.mark.parametrize(
    "arguments",
    [
        {},
        {"amount": 120.0},
        {"amount": True},
        {"amount": "12000"},
        {"total_authorized": 1.5},
        {"currency": ""},
        {"currency": 978},
        {"order_reference": ""},
    ],
    ids=repr,
)
def test_bad_arguments_are_configuration_errors(arguments: dict[str, Any]) -> None:
    with pytest.raises(pa.ConfigurationError):
        payment().check(**arguments)


def test_the_error_is_typed_exported_on_both_faces_and_pickles() -> None:
    assert issubclass(pa.PaymentMismatchError, pa.PurseError)
    assert not issubclass(pa.PaymentMismatchError, ValueError)
    assert purse_sync.PaymentMismatchError is pa.PaymentMismatchError
    with pytest.raises(pa.PaymentMismatchError) as info:
        payment().check(amount=1, currency="USD")
    err = info.value
    assert err.idempotency_key is None and err.may_have_been_applied is None
    copied = pickle.loads(pickle.dumps(err))
    assert type(copied) is pa.PaymentMismatchError
    assert (copied.payment_id, copied.mismatches, str(copied)) == (
        PAYMENT_ID,
        err.mismatches,
        str(err),
    )
    assert len(err.mismatches) == 3


# --- explain() -----------------------------------------------------------------------------


def test_explain_the_seed_payment() -> None:
    p = payment()
    assert p.explain().splitlines() == [
        "1. ingenico creditcard 120.00 EUR: AUTHORIZED, partner status PENDING_CAPTURE (Your "
        "authorisation request was successful, but you still need to capture it to receive "
        "the funds); VISA ending 4242; 3-D Secure CHALLENGE",
        "Overall: AUTHORIZED by ingenico",
    ]
    assert p.authorization is not None
    # Without the payment's currency, amounts stay in minor units.
    assert p.authorization.explain().startswith("1. ingenico creditcard 12000 (minor units): ")


def test_explain_with_missing_and_unmodelled_members() -> None:
    txs = [
        {"id": "t1"},  # nothing known but its id
        {
            "id": "t2",
            "partner": "paypal",
            "method": "wallet",
            "amount": 500,
            "status": "REFUSED",
            "partner_status_description": "Buyer\ncancelled",
            "wallet": {"type": "PAYPAL", "card": {"last_four_digits": "1111"}},
        },
        {
            "id": "t3",
            "partner": "illicado",
            "method": "giftcard",
            "amount": 2500,
            "status": "AUTHORIZED",
            "partner_status": "AUTHORISED",
            "gift_card": {"masked_number": "6280XXXXXXXX0001"},
        },
        {
            "id": "t4",
            "partner": "newpsp",
            "method": "sepa",
            "amount": 9500,
            "status": "NEW_STATUS",
            "partner_status": "X1",
            "sepa": {"iban": "FR7630006000011234567890189"},
            "card": {"selected_network": "CB", "three_ds": {}},
        },
    ]
    auth = structure({"status": "PENDING", "partner_transactions": txs}, Authorization)
    lines = auth.explain(currency="JPY").splitlines()
    assert lines == [
        "1. unknown partner unknown method amount unknown: status unknown, no partner status",
        "2. paypal wallet 500 JPY (minor units): REFUSED, partner says (Buyer cancelled); "
        "wallet PAYPAL; card ending 1111",
        "3. illicado giftcard 2500 JPY (minor units): AUTHORIZED, partner status AUTHORISED; "
        "gift card 6280XXXXXXXX0001",
        "4. newpsp sepa 9500 JPY (minor units): NEW_STATUS, partner status X1; CB card; "
        "3-D Secure (flow unknown)",
        "Overall: PENDING by illicado after 1 failed attempt (paypal)",
    ]
    assert "FR76" not in auth.explain()  # raw details of unmodelled methods are not printed


def test_explain_a_split_payment_authorized_or_pending() -> None:
    gift = {"id": "g", "partner": "illicado", "method": "giftcard", "status": "AUTHORIZED"}
    card = {"id": "c", "partner": "ingenico", "method": "creditcard", "status": "AUTHORIZED"}
    both = structure({"status": "AUTHORIZED", "partner_transactions": [gift, card]}, Authorization)
    assert both.explain().splitlines()[-1] == "Overall: AUTHORIZED by illicado, ingenico"
    waiting = {**card, "status": "PENDING", "partner_status": "PENDING_AUTHORISATION"}
    pending = structure(
        {"status": "PENDING", "partner_transactions": [gift, waiting]}, Authorization
    )
    assert pending.explain().splitlines() == [
        "1. illicado giftcard amount unknown: AUTHORIZED, no partner status",
        "2. ingenico creditcard amount unknown: PENDING, partner status PENDING_AUTHORISATION",
        "Overall: PENDING by illicado; pending at ingenico",
    ]


def test_explain_caps_text_from_the_api_on_one_line() -> None:
    tx = {
        "id": "t",
        "partner": "p\r\nx",
        "partner_status": "05",
        "partner_status_description": "y" * 500,
    }
    text = structure({"status": "REFUSED", "partner_transactions": [tx]}, Authorization).explain()
    first, overall = text.splitlines()
    assert first.startswith("1. p x unknown method amount unknown: status unknown, ")
    assert first.endswith("y" * 157 + "...)")
    assert overall == "Overall: REFUSED"


def test_explain_without_partner_transactions_or_authorization() -> None:
    assert Authorization().explain().splitlines() == [
        "(no partner transaction)",
        "Overall: unknown",
    ]
    assert payment(authorization=None).explain() == "Overall: no authorization yet"


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        (12000, "EUR", "120.00 EUR"),
        (5, "usd", "0.05 USD"),
        (-150, "GBP", "-1.50 GBP"),
        (123456789, "CHF", "1234567.89 CHF"),
        (12000, "JPY", "12000 JPY (minor units)"),
        (12000, None, "12000 (minor units)"),
        (None, "EUR", "amount unknown"),
    ],
)
def test_amounts_are_formatted_only_where_the_minor_unit_is_known(
    amount: int | None, currency: str | None, text: str
) -> None:
    assert format_amount(amount, currency) == text


# --- on sandbox payments -------------------------------------------------------------------


async def paid(purse: pa.AsyncPurse, sandbox: Sandbox, card: str, **checkout: Any) -> Payment:
    session = await purse.client_sessions.create(
        amount=12000,
        currency="EUR",
        shopper_redirection_url=RETURN_URL,
        order={"reference": "CHECK-1", "net_amount": 12000},
    )
    url = await sandbox.checkout(session.id, card=card, **checkout)
    redirect = await purse.redirections.verify(url, expected_client_session_id=session.id)
    assert redirect.payment_id is not None
    return await purse.payments.retrieve(redirect.payment_id)


async def test_explain_and_check_a_cascade(
    purse_sandbox: Sandbox, purse_client: pa.AsyncPurse
) -> None:
    p = await paid(purse_client, purse_sandbox, MagicCards.SOFT_DECLINE_CASCADE)
    assert p.authorization is not None
    refused, authorized = p.authorization.partner_transactions
    lines = p.explain().splitlines()
    assert lines == [
        f"1. {refused.partner} creditcard 120.00 EUR: REFUSED, partner status "
        f"{refused.partner_status} ({refused.partner_status_description}); VISA ending 9995; "
        "3-D Secure FRICTIONLESS",
        f"2. {authorized.partner} creditcard 120.00 EUR: AUTHORIZED, partner status "
        f"{authorized.partner_status} ({authorized.partner_status_description}); "
        "VISA ending 9995; 3-D Secure FRICTIONLESS",
        f"Overall: AUTHORIZED by {authorized.partner} after 1 failed attempt "
        f"({refused.partner}): Purse cascaded to the next partner",
    ]
    assert refused.partner != authorized.partner
    assert p.check(amount=12000, currency="EUR", order_reference="CHECK-1") is p
    assert mismatches(p, amount=13000, order_reference="CHECK-2") == (
        "amount 12000 (the order expects 13000)",
        "order_reference 'CHECK-1' (the order expects 'CHECK-2')",
        "amounts.total_authorized 12000 (the order expects 13000)",
    )


async def test_explain_and_check_a_refused_split_payment(
    purse_sandbox: Sandbox, purse_client: pa.AsyncPurse
) -> None:
    p = await paid(purse_client, purse_sandbox, MagicCards.REFUSED, gift_card=MagicCards.GIFT_CARD)
    lines = p.explain().splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("1. illicado giftcard 50.00 EUR: ABORTED, partner status ")
    assert lines[0].endswith("; gift card illicado ending 0001")
    assert lines[1].startswith("2. ingenico creditcard 70.00 EUR: REFUSED, partner status ")
    assert lines[1].endswith("; VISA ending 0002; 3-D Secure FRICTIONLESS")
    assert lines[2] == "Overall: REFUSED, nothing authorized (2 failed attempts)"
    assert mismatches(p, amount=12000, currency="EUR", order_reference="CHECK-1") == (
        "authorization.status 'REFUSED' (the order expects 'AUTHORIZED')",
        "amounts.total_authorized 0 (the order expects 12000)",
    )
