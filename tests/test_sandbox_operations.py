"""Sandbox captures, refunds and voids: distribution over partner transactions (default orders,
priorities with wildcards), amounts/overview/version bookkeeping, every amount rule, and
idempotency replays that change nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from purse_async.testing import MagicCards, Sandbox
from tests.test_sandbox_support import ISO_Z, UUID, Api, Reply


@pytest.fixture
async def api(purse_sandbox: Sandbox) -> AsyncIterator[Api]:
    async with Api(purse_sandbox) as client:
        yield client


async def op(
    api: Api, payment: dict[str, Any], kind: str, key: str | None = None, **body: Any
) -> Reply:
    headers = {"x-idempotency-key": key} if key else None
    return await api.call("POST", f"/payments/{payment['id']}/{kind}", body, headers=headers)


def shares(reply: Reply) -> list[tuple[str, int]]:
    return [(pt["method"], pt["amount"]) for pt in reply.body["partner_transactions"]]


async def split_payment(api: Api) -> dict[str, Any]:
    """12000 = gift card 3000 + card 9000."""
    return await api.paid(gift_card=MagicCards.GIFT_CARD, gift_card_amount=3000)


async def test_capture_refund_void_move_amounts_overview_and_version(api: Api) -> None:
    payment = await api.paid()
    (card_tx,) = payment["authorization"]["partner_transactions"]
    capture = await op(api, payment, "captures", amount=5000)
    assert capture.status == 201
    c = capture.body
    assert list(c) == ["id", "status", "amount", "created_at", "partner_transactions"]
    assert UUID.match(c["id"]) and ISO_Z.match(c["created_at"])
    assert (c["status"], c["amount"]) == ("SUCCESS", 5000)
    assert c["partner_transactions"] == [
        {
            "id": card_tx["id"],
            "partner": "ingenico",
            "method": "creditcard",
            "amount": 5000,
            "status": "SUCCESS",
        }
    ]
    after_capture = await api.payment(payment["id"])
    assert after_capture["version"] == 2 and after_capture["captures"] == [c]
    assert after_capture["authorization"]["partner_transactions"][0]["remaining_amount"] == 7000
    assert after_capture["overview"] == {
        "consumed": "PARTIALLY",
        "captured": "PARTIALLY",
        "voided": "NOT",
        "refunded": "NOT",
    }
    refund = await op(api, payment, "refunds", amount=2000)
    void = await op(api, payment, "voids")  # no amount: everything still open
    assert (refund.status, void.status) == (201, 201) and void.body["amount"] == 7000
    final = await api.payment(payment["id"])
    assert final["version"] == 4
    assert final["amounts"] == {
        "authorize_pending": 0,
        "total_authorized": 12000,
        "total_captured": 5000,
        "available_to_capture": 0,
        "total_refunded": 2000,
        "available_to_refund": 3000,
        "total_voided": 7000,
        "available_to_void": 0,
    }
    assert final["overview"] == {
        "consumed": "TOTALLY",
        "captured": "PARTIALLY",
        "voided": "PARTIALLY",
        "refunded": "PARTIALLY",
    }
    assert final["refunds"] == [refund.body] and final["voids"] == [void.body]
    assert final["authorization"]["partner_transactions"][0]["remaining_amount"] == 0
    assert [(e.kind, e.amount) for e in api.sb.ledger(payment["id"])] == [
        ("captures", 5000),
        ("refunds", 2000),
        ("voids", 7000),
    ]


async def test_capture_everything_then_refund_everything(api: Api) -> None:
    payment = await api.paid()
    assert (await op(api, payment, "captures")).body["amount"] == 12000
    assert (await op(api, payment, "refunds")).body["amount"] == 12000
    final = await api.payment(payment["id"])
    assert final["overview"]["captured"] == final["overview"]["refunded"] == "TOTALLY"
    assert final["amounts"]["available_to_refund"] == 0


async def test_default_orders_on_a_split_payment(api: Api) -> None:
    payment = await split_payment(api)
    # Captures take gift cards first.
    capture = await op(api, payment, "captures", amount=4000)
    assert shares(capture) == [("giftcard", 3000), ("creditcard", 1000)]
    # Refunds take cards first.
    refund = await op(api, payment, "refunds", amount=1500)
    assert shares(refund) == [("creditcard", 1000), ("giftcard", 500)]
    # Voids release the card first; only the card has anything open.
    void = await op(api, payment, "voids", amount=2000)
    assert shares(void) == [("creditcard", 2000)]
    final = await api.payment(payment["id"])
    gift, card = final["authorization"]["partner_transactions"]
    assert (gift["remaining_amount"], card["remaining_amount"]) == (0, 6000)


async def test_void_on_a_split_payment_defaults_to_the_card_first(api: Api) -> None:
    payment = await split_payment(api)
    void = await op(api, payment, "voids", amount=10000)
    assert shares(void) == [("creditcard", 9000), ("giftcard", 1000)]


@pytest.mark.parametrize(
    ("priorities", "expected"),
    [
        ([{"partner": "ingenico", "method": "creditcard"}], [("creditcard", 5000)]),
        ([{"partner": "*", "method": "creditcard"}], [("creditcard", 5000)]),
        (
            [{"partner": "ingenico", "method": "*"}, {"partner": "*", "method": "*"}],
            [("creditcard", 5000)],
        ),
        (
            [{"partner": "*", "method": "*"}, {"partner": "illicado", "method": "giftcard"}],
            [("creditcard", 5000)],
        ),
        (
            [{"method": "giftcard"}, {"partner": "*", "method": "*"}],
            [("giftcard", 3000), ("creditcard", 2000)],
        ),
        ([{"partner": "*", "method": "*"}], [("giftcard", 3000), ("creditcard", 2000)]),
    ],
)
async def test_capture_priorities_with_wildcards(
    api: Api, priorities: list[dict[str, str]], expected: list[tuple[str, int]]
) -> None:
    payment = await split_payment(api)
    reply = await op(api, payment, "captures", amount=5000, priorities=priorities)
    assert reply.status == 201, reply.body
    assert shares(reply) == expected


async def test_catch_all_stands_for_the_rest_at_its_position(api: Api) -> None:
    payment = await split_payment(api)
    await op(api, payment, "captures", amount=12000)
    # {*,*} first = the card (everything but illicado), then illicado.
    refund = await op(
        api,
        payment,
        "refunds",
        amount=10000,
        priorities=[{"partner": "*", "method": "*"}, {"partner": "illicado", "method": "*"}],
    )
    assert shares(refund) == [("creditcard", 9000), ("giftcard", 1000)]
    refund = await op(
        api,
        payment,
        "refunds",
        amount=1000,
        priorities=[{"partner": "illicado", "method": "*"}, {"partner": "*", "method": "*"}],
    )
    assert shares(refund) == [("giftcard", 1000)]


async def test_priorities_that_leave_an_amount_undistributed(api: Api) -> None:
    payment = await split_payment(api)
    reply = await op(
        api, payment, "captures", amount=5000, priorities=[{"partner": "illicado", "method": "*"}]
    )
    assert reply.status == 409 and reply.body["type"] == "urn:eu.purse:undistributable"
    assert (await api.payment(payment["id"]))["version"] == 1  # nothing changed


@pytest.mark.parametrize(
    "priorities", ["giftcard", [["illicado"]], [{"partner": 3}], [{"method": ""}]]
)
async def test_malformed_priorities(api: Api, priorities: Any) -> None:
    payment = await api.paid()
    reply = await op(api, payment, "captures", amount=100, priorities=priorities)
    assert reply.status == 400 and reply.body["errors"][0]["pointer"].startswith("/priorities")


@pytest.mark.parametrize("amount", [0, -1, 10.5, True, "100"])
@pytest.mark.parametrize("kind", ["captures", "refunds", "voids"])
async def test_amounts_must_be_positive_integers(api: Api, kind: str, amount: Any) -> None:
    payment = await api.paid()
    reply = await op(api, payment, kind, amount=amount)
    assert reply.status == 400 and reply.body["errors"][0]["pointer"] == "/amount"
    assert reply.body["type"] == "urn:eu.purse:invalid-amount"


async def test_amount_rules(api: Api) -> None:
    payment = await api.paid()
    too_much = await op(api, payment, "captures", amount=12001)
    assert too_much.status == 400 and too_much.body["errors"][0]["pointer"] == "/amount"
    assert too_much.body["type"] == "urn:eu.purse:amount-exceeds-available"
    assert too_much.body["available_to_capture"] == 12000
    assert "available_to_capture" in too_much.body["title"]
    nothing_captured = await op(api, payment, "refunds", amount=1)
    assert (
        nothing_captured.status == 400 and "available_to_refund" in nothing_captured.body["title"]
    )
    assert (await op(api, payment, "captures", amount=8000)).status == 201
    void_too_much = await op(api, payment, "voids", amount=4001)
    assert void_too_much.status == 400 and void_too_much.body["available_to_void"] == 4000
    refund_too_much = await op(api, payment, "refunds", amount=8001)
    assert refund_too_much.status == 400 and refund_too_much.body["available_to_refund"] == 8000
    assert (await op(api, payment, "voids")).status == 201
    for kind in ("captures", "voids"):
        nothing_left = await op(api, payment, kind)
        assert (
            nothing_left.status == 409
            and nothing_left.body["type"] == "urn:eu.purse:nothing-available"
        )
    assert [e.kind for e in api.sb.ledger(payment["id"])] == ["captures", "voids"]


@pytest.mark.parametrize("card", [MagicCards.REFUSED, MagicCards.ERROR, MagicCards.PENDING])
@pytest.mark.parametrize("kind", ["captures", "refunds", "voids"])
async def test_operations_need_an_authorized_payment(api: Api, card: str, kind: str) -> None:
    payment = await api.paid(card=card)
    reply = await op(api, payment, kind, amount=100)
    assert reply.status == 409 and reply.body["type"] == "urn:eu.purse:payment-not-authorized"
    assert "AUTHORIZED" in reply.body["detail"]


async def test_operation_on_an_unknown_payment(api: Api) -> None:
    reply = await api.call("POST", "/payments/nope/captures", {"amount": 1})
    assert reply.status == 404


async def test_idempotency_replay_is_a_409_that_changes_nothing(api: Api) -> None:
    payment = await api.paid()
    first = await op(api, payment, "captures", key="cap-1", amount=100)
    assert first.status == 201
    before = await api.payment(payment["id"])
    for body in ({"amount": 100}, {"amount": 999}, {}):
        replay = await api.call(
            "POST",
            f"/v2/payments/{payment['id']}/captures",
            body,
            headers={"x-idempotency-key": "cap-1"},
            prefix="",
        )
        assert replay.status == 409 and replay.content_type == "application/problem+json"
        assert replay.body == {
            "type": "urn:eu.purse:write-conflict",
            "title": "Idempotency violation",
            "status": 409,
            "instance": f"/v2/payments/{payment['id']}/captures",
            "resource_id": first.body["id"],
        }
    assert await api.payment(payment["id"]) == before
    (entry,) = api.sb.ledger(payment["id"])
    assert (entry.id, entry.amount, entry.idempotency_key) == (first.body["id"], 100, "cap-1")
    # The key is per payment; and another key on the same payment is a new operation.
    other = await api.paid()
    assert (await op(api, other, "captures", key="cap-1", amount=100)).status == 201
    assert (await op(api, payment, "captures", key="cap-2", amount=100)).status == 201


async def test_a_refused_operation_does_not_burn_its_key(api: Api) -> None:
    payment = await api.paid()
    assert (await op(api, payment, "refunds", key="r-1", amount=100)).status == 400
    await op(api, payment, "captures", amount=100)
    assert (await op(api, payment, "refunds", key="r-1", amount=100)).status == 201
