"""Decoding the first-payment guide's GetPayment example: every field typed, nothing lost.

Also forward compatibility (unknown members and enum values) and the partner-transaction helpers.
"""

from __future__ import annotations

import copy
import json
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import attrs
import pytest

import purse_async as pa
from purse_async._converter import structure, unstructure
from purse_async.models import (
    AuthorizationStatus,
    Card,
    GiftCard,
    OverviewStatus,
    Payment,
)

SEED = json.loads((Path(__file__).parent / "data" / "seed_get_payment.json").read_text())


def walk(model: Any, data: Any, path: str = "$") -> None:
    """Every JSON value is reachable on the model under the same name, and equal."""
    if isinstance(data, dict):
        assert attrs.has(type(model)) or isinstance(model, dict), path
        for key, value in data.items():
            if isinstance(model, dict):
                walk(model[key], value, f"{path}.{key}")
                continue
            assert key in attrs.fields_dict(type(model)), f"{path}.{key} not typed"
            walk(getattr(model, key), value, f"{path}.{key}")
    elif isinstance(data, list):
        assert len(model) == len(data), path
        for i, (m, d) in enumerate(zip(model, data, strict=True)):
            walk(m, d, f"{path}[{i}]")
    elif isinstance(model, datetime):
        assert model.tzinfo is not None, path
        assert unstructure(model)[:19] == data[:19], path
    elif isinstance(model, date):
        assert model.isoformat() == data, path
    else:
        assert model == data, f"{path}: {model!r} != {data!r}"


def test_every_field_of_the_seed_example_is_typed_and_kept() -> None:
    payment = structure(SEED, Payment)
    walk(payment, SEED)
    assert payment.extra == {}


def test_typed_attributes() -> None:
    p = structure(SEED, Payment)
    assert p.overview is not None and p.overview.captured is OverviewStatus.NOT
    assert p.amounts is not None and p.amounts.available_to_capture == 12000
    assert p.split[0].partner == "ingenico"
    tx = p.authorization.partner_transactions[0]  # type: ignore[union-attr]
    assert tx.status is AuthorizationStatus.AUTHORIZED
    assert tx.partner_status == "PENDING_CAPTURE"
    assert isinstance(tx.metadata, Card)
    assert tx.card is not None and tx.card.three_ds is not None
    assert tx.card.three_ds.flow == "CHALLENGE"
    assert tx.created_at == datetime(2025, 4, 9, 12, 52, 14, 280000, tzinfo=timezone.utc)
    assert p.customer is not None and p.customer.birth_date == date(1995, 8, 25)


def test_unknown_members_are_kept_and_round_trip() -> None:
    data = copy.deepcopy(SEED)
    data["risk_score"] = 12
    data["authorization"]["partner_transactions"][0]["network_token"] = {"used": True}
    data["amounts"]["total_chargeback"] = 0
    p = structure(data, Payment)
    assert p.extra == {"risk_score": 12}
    assert p.authorization.partner_transactions[0].extra == {"network_token": {"used": True}}  # type: ignore[union-attr]
    out = unstructure(p)
    assert out["risk_score"] == 12
    assert out["amounts"]["total_chargeback"] == 0


def test_unknown_enum_values_keep_the_raw_string() -> None:
    data = copy.deepcopy(SEED)
    data["authorization"]["status"] = "PARTIALLY_AUTHORIZED"
    data["overview"]["captured"] = "MOSTLY"
    p = structure(data, Payment)
    assert p.authorization is not None
    status = p.authorization.status
    assert status == "PARTIALLY_AUTHORIZED" and status is not None and not status.is_known
    assert p.overview is not None and str(p.overview.captured) == "MOSTLY"
    assert unstructure(p)["authorization"]["status"] == "PARTIALLY_AUTHORIZED"


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda d: d.__setitem__("amount", 120.0), "$.amount"),
        (lambda d: d.__setitem__("amount", "12000"), "$.amount"),
        (lambda d: d["amounts"].__setitem__("total_captured", True), "$.amounts.total_captured"),
        (
            lambda d: d["authorization"]["partner_transactions"][0].__setitem__("amount", 1.5),
            "$.authorization.partner_transactions[0].amount",
        ),
        (lambda d: d.__setitem__("overview", ["NOT"]), "$.overview"),
        (lambda d: d.pop("id"), "$.id"),
        (lambda d: d.__setitem__("created_at", "yesterday"), "$.created_at"),
    ],
)
def test_wrong_types_raise_decode_error_naming_the_path(mutate: Any, path: str) -> None:
    data = copy.deepcopy(SEED)
    mutate(data)
    with pytest.raises(pa.DecodeError) as info:
        structure(data, Payment)
    assert info.value.path == path
    assert path in str(info.value)


def test_cascade_helpers() -> None:
    data = copy.deepcopy(SEED)
    first = copy.deepcopy(data["authorization"]["partner_transactions"][0])
    first.update(
        id="t-0",
        partner="adyen",
        status="REFUSED",
        partner_status="05",
        partner_status_description="Do not honour",
        remaining_amount=0,
    )
    data["authorization"]["partner_transactions"].insert(0, first)
    auth = structure(data, Payment).authorization
    assert auth is not None
    assert [tx.id for tx in auth.failed_attempts] == ["t-0"]
    assert auth.authorized_transaction is not None
    assert auth.authorized_transaction.partner == "ingenico"
    assert [tx.partner for tx in auth.authorized_transactions] == ["ingenico"]


def test_method_metadata_for_gift_cards_and_unknown_methods() -> None:
    data = copy.deepcopy(SEED)
    tx = data["authorization"]["partner_transactions"][0]
    del tx["card"]
    gift = dict(
        tx, id="g", method="giftcard", gift_card={"brand": "illicado", "last_four_digits": "0001"}
    )
    other = dict(tx, id="o", method="paylater", paylater={"plan": "3x"})
    data["authorization"]["partner_transactions"] = [gift, other]
    auth = structure(data, Payment).authorization
    assert auth is not None
    g, o = auth.partner_transactions
    assert isinstance(g.metadata, GiftCard) and g.metadata.brand == "illicado"
    assert o.metadata == {"plan": "3x"}


def test_nested_models_built_on_first_read_equal_the_converters() -> None:
    """The fast path defers nested models: what the user reads is what cattrs would build."""
    from purse_async._converter import _converter

    fast = structure(SEED, Payment)
    slow = _converter.structure(copy.deepcopy(SEED), Payment)
    assert fast.authorization is fast.authorization  # built once, then kept
    assert fast == slow
    assert repr(fast) == repr(slow)
    assert hash(fast.amounts) == hash(slow.amounts)


def test_lazily_built_payments_copy_pickle_and_evolve() -> None:
    import pickle

    payment = structure(SEED, Payment)
    assert pickle.loads(pickle.dumps(payment)) == structure(SEED, Payment)
    assert copy.deepcopy(structure(SEED, Payment)) == payment
    moved = attrs.evolve(structure(SEED, Payment), amount=1)
    assert moved.authorization == payment.authorization and moved.amount == 1
    assert unstructure(structure(SEED, Payment)) == unstructure(payment)


def test_a_malformed_nested_member_fails_the_decode_not_a_later_read() -> None:
    data = copy.deepcopy(SEED)
    data["authorization"]["partner_transactions"][0]["card"]["three_ds"]["eci"] = 5
    with pytest.raises(pa.DecodeError) as info:
        structure(data, Payment)
    assert info.value.path == "$.authorization.partner_transactions[0].card.three_ds.eci"


def test_models_built_by_hand_are_unaffected() -> None:
    from purse_async.models import Amounts, Authorization

    auth = Authorization(status=AuthorizationStatus.AUTHORIZED)
    payment = Payment(id="p", authorization=auth, amounts=Amounts(total_captured=5))
    assert payment.authorization is auth
    assert payment.amounts is not None and payment.amounts.total_captured == 5
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        payment.authorization = None  # type: ignore[misc]
