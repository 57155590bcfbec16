"""Sandbox payments: the seed GetPayment shape, every magic card, the cascade, gift card splits,
PENDING settlement, automatic capture, and the advanced flow (eligible solutions, create
payment with idempotency, 3-D Secure redirection)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from purse_async.testing import MagicCards, Sandbox
from tests.test_sandbox_support import ISO_Z, RETURN, UUID, Api

PAYMENT_KEYS = [
    "id", "version", "entity_id", "client_session_id", "created_at", "order_reference", "order",
    "customer", "overview", "amount", "currency", "allow_future_usage", "capture_mode",
    "authorization", "captures", "voids", "refunds", "split", "amounts",
]  # fmt: skip
TX_KEYS = {
    "partner", "method", "id", "amount", "remaining_amount", "created_at", "updated_at",
    "partner_reference", "partner_status", "partner_status_description", "status",
}  # fmt: skip
CARD_KEYS = [
    "bin", "last_four_digits", "holder_name", "expiry_month", "expiry_year", "selected_network",
    "three_ds", "type",
]  # fmt: skip
AMOUNT_KEYS = [
    "authorize_pending", "total_authorized", "total_captured", "available_to_capture",
    "total_refunded", "available_to_refund", "total_voided", "available_to_void",
]  # fmt: skip
BROWSER = {"user_agent": "pytest", "accept_header": "text/html", "javascript_enabled": True}


@pytest.fixture
async def api(purse_sandbox: Sandbox) -> AsyncIterator[Api]:
    async with Api(purse_sandbox) as client:
        yield client


def txs(payment: dict[str, Any]) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = payment["authorization"]["partner_transactions"]
    return result


async def test_the_payment_has_the_seed_shape(api: Api) -> None:
    payment = await api.paid(holder="Jane Doe", expiry="01/29")
    assert list(payment) == PAYMENT_KEYS
    assert UUID.match(payment["id"]) and payment["version"] == 1
    assert payment["entity_id"] == api.sb.credentials.entity_id
    assert ISO_Z.match(payment["created_at"])
    assert payment["order_reference"] == "ORDER-1" and payment["customer"] is None
    assert (payment["amount"], payment["currency"], payment["capture_mode"]) == (
        12000,
        "EUR",
        "MANUAL",
    )
    assert payment["allow_future_usage"] is False
    assert payment["overview"] == dict.fromkeys(
        ["consumed", "captured", "voided", "refunded"], "NOT"
    )
    assert (payment["captures"], payment["voids"], payment["refunds"]) == ([], [], [])
    assert list(payment["amounts"]) == AMOUNT_KEYS
    assert payment["amounts"] == {
        "authorize_pending": 0,
        "total_authorized": 12000,
        "total_captured": 0,
        "available_to_capture": 12000,
        "total_refunded": 0,
        "available_to_refund": 0,
        "total_voided": 0,
        "available_to_void": 12000,
    }
    auth = payment["authorization"]
    assert list(auth) == ["updated_at", "status", "partner_transactions"]
    (tx,) = auth["partner_transactions"]
    assert set(tx) == TX_KEYS | {"card"}
    assert (tx["partner"], tx["method"], tx["status"]) == ("ingenico", "creditcard", "AUTHORIZED")
    assert tx["partner_status"] == "PENDING_CAPTURE"
    assert tx["amount"] == tx["remaining_amount"] == 12000
    card = tx["card"]
    assert list(card) == CARD_KEYS
    assert (card["bin"], card["last_four_digits"], card["holder_name"]) == (
        "424242",
        "4242",
        "Jane Doe",
    )
    assert (card["expiry_month"], card["expiry_year"]) == ("01", "2029")
    assert (card["selected_network"], card["type"]) == ("VISA", "VISA_CREDIT")
    assert set(card["three_ds"]) == {"eci", "flow", "ds_transaction_id", "acs_transaction_id"}
    assert payment["split"] == [{"partner": "ingenico", "method": "creditcard", "amount": 12000}]
    # The copy the sandbox hands tests is the same JSON the API answers.
    assert api.sb.payment(payment["id"]) == payment


@pytest.mark.parametrize(
    ("number", "network"),
    [
        ("4111111111111111", "VISA"),
        ("340000000000009", "AMERICAN_EXPRESS"),
        ("378282246310005", "AMERICAN_EXPRESS"),
        ("2223000048400011", "MASTERCARD"),
        ("5555555555554444", "MASTERCARD"),
        ("3530111333300000", "CARTE_BANCAIRE"),  # 35: neither 34 nor 37
        ("6011111111111117", "CARTE_BANCAIRE"),
    ],
)
async def test_the_network_comes_from_the_first_digits(api: Api, number: str, network: str) -> None:
    # docs/sandbox.md: 4 VISA, 34/37 AMERICAN_EXPRESS, 2/5 MASTERCARD, anything else CB.
    payment = await api.paid(number)
    (tx,) = txs(payment)
    assert tx["status"] == "AUTHORIZED"  # any other number is authorized without friction
    assert tx["card"]["selected_network"] == network


@pytest.mark.parametrize(
    ("card", "status", "attempts", "codes", "flow"),
    [
        (MagicCards.AUTHORIZED, "AUTHORIZED", ["AUTHORIZED"], ["PENDING_CAPTURE"], "FRICTIONLESS"),
        (MagicCards.REFUSED, "REFUSED", ["REFUSED"], ["05"], "FRICTIONLESS"),
        (
            MagicCards.SOFT_DECLINE_CASCADE,
            "AUTHORIZED",
            ["REFUSED", "AUTHORIZED"],
            ["51", "Authorised"],
            "FRICTIONLESS",
        ),
        (MagicCards.ERROR, "ERROR", ["ERROR"], ["96"], "FRICTIONLESS"),
        (MagicCards.PENDING, "PENDING", ["PENDING"], ["PENDING_AUTHORISATION"], "FRICTIONLESS"),
        (
            MagicCards.THREE_DS_CHALLENGE,
            "AUTHORIZED",
            ["AUTHORIZED"],
            ["PENDING_CAPTURE"],
            "CHALLENGE",
        ),
        ("5555555555554444", "AUTHORIZED", ["AUTHORIZED"], ["PENDING_CAPTURE"], "FRICTIONLESS"),
    ],
)
async def test_every_magic_card(
    api: Api, card: str, status: str, attempts: list[str], codes: list[str], flow: str
) -> None:
    payment = await api.paid(card=card)
    assert payment["authorization"]["status"] == status
    assert [tx["status"] for tx in txs(payment)] == attempts
    assert [tx["partner_status"] for tx in txs(payment)] == codes
    assert all(tx["partner_status_description"] for tx in txs(payment))
    assert all(tx["card"]["last_four_digits"] == card[-4:] for tx in txs(payment))
    assert txs(payment)[-1]["card"]["three_ds"]["flow"] == flow
    amounts = payment["amounts"]
    assert amounts["total_authorized"] == (12000 if status == "AUTHORIZED" else 0)
    assert amounts["authorize_pending"] == (12000 if status == "PENDING" else 0)
    assert amounts["available_to_capture"] == amounts["total_authorized"]
    closed = [tx for tx in txs(payment) if tx["status"] in ("REFUSED", "ERROR")]
    assert all(tx["remaining_amount"] == 0 for tx in closed)


async def test_the_cascade_tries_the_second_psp(api: Api) -> None:
    payment = await api.paid(card=MagicCards.SOFT_DECLINE_CASCADE)
    refused, authorized = txs(payment)
    assert (refused["partner"], authorized["partner"]) == ("ingenico", "adyen")
    assert refused["id"] != authorized["id"]
    assert authorized["amount"] == authorized["remaining_amount"] == 12000
    assert payment["split"] == [{"partner": "adyen", "method": "creditcard", "amount": 12000}]
    assert payment["amounts"]["total_authorized"] == 12000


async def test_an_expired_card_is_refused(api: Api) -> None:
    payment = await api.paid(expiry="01/20")
    assert payment["authorization"]["status"] == "REFUSED"
    assert txs(payment)[0]["partner_status"] == "54"


@pytest.mark.parametrize(
    ("amount", "gift_amount", "expected"),
    [
        (12000, None, [("giftcard", 5000), ("creditcard", 7000)]),
        (12000, 3000, [("giftcard", 3000), ("creditcard", 9000)]),
        (4000, None, [("giftcard", 4000)]),
        (4000, 9999, [("giftcard", 4000)]),
    ],
)
async def test_gift_card_split(
    api: Api, amount: int, gift_amount: int | None, expected: list[tuple[str, int]]
) -> None:
    payment = await api.paid(
        amount=amount, gift_card=MagicCards.GIFT_CARD, gift_card_amount=gift_amount
    )
    assert payment["authorization"]["status"] == "AUTHORIZED"
    assert [(tx["method"], tx["amount"]) for tx in txs(payment)] == expected
    gift = txs(payment)[0]
    assert (gift["partner"], gift["status"]) == ("illicado", "AUTHORIZED")
    assert "card" not in gift and gift["gift_card"]["last_four_digits"] == "0001"
    assert [(s["method"], s["amount"]) for s in payment["split"]] == expected
    assert payment["amounts"]["total_authorized"] == amount


async def test_a_failed_card_cancels_the_gift_card_debit(api: Api) -> None:
    payment = await api.paid(card=MagicCards.REFUSED, gift_card=MagicCards.GIFT_CARD)
    assert payment["authorization"]["status"] == "REFUSED"
    gift, card = txs(payment)
    assert (gift["status"], gift["remaining_amount"]) == ("ABORTED", 0)
    assert card["status"] == "REFUSED"
    assert payment["amounts"]["total_authorized"] == 0 and payment["split"] == []


async def test_pending_then_settled_on_demand(api: Api) -> None:
    payment = await api.paid(card=MagicCards.PENDING)
    assert payment["amounts"]["authorize_pending"] == 12000
    api.sb.settle_pending(payment["id"])
    settled = await api.payment(payment["id"])
    assert settled["authorization"]["status"] == "AUTHORIZED"
    assert txs(settled)[0]["status"] == "AUTHORIZED"
    assert settled["version"] == payment["version"] + 1
    assert settled["amounts"]["authorize_pending"] == 0
    assert settled["amounts"]["total_authorized"] == 12000
    with pytest.raises(ValueError, match="no PENDING"):
        api.sb.settle_pending(payment["id"])
    with pytest.raises(ValueError, match="no payment"):
        api.sb.settle_pending("nope")


async def test_pending_settled_as_refused(api: Api) -> None:
    payment = await api.paid(card=MagicCards.PENDING)
    api.sb.settle_pending(payment["id"], status="REFUSED")
    settled = await api.payment(payment["id"])
    assert settled["authorization"]["status"] == "REFUSED"
    assert settled["amounts"]["authorize_pending"] == settled["amounts"]["total_authorized"] == 0


async def test_pending_settles_after_the_delay() -> None:
    async with Sandbox(pending_delay=0.05) as sb, Api(sb) as api:
        payment = await api.paid(card=MagicCards.PENDING)
        assert payment["authorization"]["status"] == "PENDING"
        await asyncio.sleep(0.15)
        assert (await api.payment(payment["id"]))["authorization"]["status"] == "AUTHORIZED"


async def test_automatic_capture_mode_captures_everything(api: Api) -> None:
    payment = await api.paid(session={"capture_mode": "AUTOMATIC"})
    assert payment["capture_mode"] == "AUTOMATIC"
    (capture,) = payment["captures"]
    assert capture["amount"] == 12000 and capture["status"] == "SUCCESS"
    assert payment["amounts"]["total_captured"] == 12000
    assert payment["overview"]["captured"] == "TOTALLY"
    assert [e.kind for e in api.sb.ledger(payment["id"])] == ["captures"]


async def test_unknown_payment(api: Api) -> None:
    reply = await api.call("GET", "/payments/nope")
    assert reply.status == 404 and reply.body["type"] == "urn:eu.purse:not-found"


# -- advanced flow --------------------------------------------------------------------------


def _create(api: Api, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "entity_id": api.sb.credentials.entity_id,
        "amount": 4999,
        "currency": "EUR",
        "order": {"reference": "ADV-1", "net_amount": 4999},
        "shopper_redirection_url": RETURN,
        "split": [{"vault_form_token": "tok_" + MagicCards.AUTHORIZED}],
        "browser": BROWSER,
    }
    body.update(fields)
    return body


async def test_eligible_solutions(api: Api) -> None:
    body = {
        k: v for k, v in _create(api).items() if k in ("entity_id", "amount", "currency", "order")
    }
    reply = await api.call("POST", "/eligible-solutions", body)
    assert reply.status == 200
    assert (reply.body["amount"], reply.body["currency"]) == (4999, "EUR")
    assert reply.body["eligible_solutions"] == [
        {"partner": "ingenico", "method": "creditcard"},
        {"partner": "adyen", "method": "creditcard"},
        {"partner": "illicado", "method": "giftcard"},
    ]
    bad = await api.call("POST", "/eligible-solutions", {**body, "amount": "1"})
    assert bad.status == 400 and bad.body["errors"][0]["pointer"] == "/amount"


async def test_create_payment_and_replay_its_key(api: Api) -> None:
    key = {"x-idempotency-key": "cart-77"}
    reply = await api.call("POST", "/payments", _create(api), headers=key)
    assert reply.status == 201
    payment = reply.body
    assert list(payment) == PAYMENT_KEYS and payment["client_session_id"] is None
    assert payment["authorization"]["status"] == "AUTHORIZED"
    assert payment["amounts"]["total_authorized"] == 4999
    replay = await api.call("POST", "/payments", _create(api), headers=key)
    assert replay.status == 409 and replay.content_type == "application/problem+json"
    assert replay.body == {
        "type": "urn:eu.purse:write-conflict",
        "title": "Idempotency violation",
        "status": 409,
        "instance": "/payment/v2/payments",
        "resource_id": payment["id"],
    }
    assert len(api.sb.state.payments) == 1
    other = await api.call("POST", "/payments", _create(api), headers={"x-idempotency-key": "b"})
    assert other.status == 201 and other.body["id"] != payment["id"]


@pytest.mark.parametrize(
    ("token", "status"),
    [(MagicCards.REFUSED, "REFUSED"), ("tok_" + MagicCards.SOFT_DECLINE_CASCADE, "AUTHORIZED")],
)
async def test_create_payment_steered_by_the_vault_token(api: Api, token: str, status: str) -> None:
    body = _create(api, split=[{"vault_form_token": token, "amount": 4999}])
    reply = await api.call("POST", "/payments", body, prefix="/v2")
    assert reply.status == 201 and reply.body["authorization"]["status"] == status


async def test_create_split_payment_with_a_gift_card(api: Api) -> None:
    split = [
        {
            "vault_form_token": MagicCards.GIFT_CARD,
            "method": "giftcard",
            "partner": "illicado",
            "amount": 999,
        },
        {"vault_form_token": MagicCards.AUTHORIZED, "partner": "adyen", "amount": 4000},
    ]
    reply = await api.call("POST", "/payments", _create(api, split=split))
    assert reply.status == 201
    assert [(tx["partner"], tx["amount"]) for tx in txs(reply.body)] == [
        ("illicado", 999),
        ("adyen", 4000),
    ]


@pytest.mark.parametrize(
    ("fields", "pointer"),
    [
        ({"browser": None}, "/browser"),
        ({"browser": "chrome"}, "/browser"),
        ({"split": []}, "/split"),
        ({"split": [{"amount": 4999}]}, "/split/0/vault_form_token"),
        ({"split": [{"vault_form_token": "tok_x"}]}, "/split/0/vault_form_token"),
        ({"split": [{"vault_form_token": MagicCards.AUTHORIZED, "amount": 10}]}, "/split"),
        ({"amount": 49.99}, "/amount"),
    ],
)
async def test_create_payment_validation(api: Api, fields: dict[str, Any], pointer: str) -> None:
    body = {k: v for k, v in _create(api, **fields).items() if v is not None}
    reply = await api.call("POST", "/payments", body, headers={"x-idempotency-key": "k"})
    assert reply.status == 400, reply.body
    assert pointer in [e["pointer"] for e in reply.body["errors"]]
    # A refused request doesn't burn the key.
    ok = await api.call("POST", "/payments", _create(api), headers={"x-idempotency-key": "k"})
    assert ok.status == 201


async def test_pending_payment_redirects_to_3ds(api: Api) -> None:
    body = _create(api, split=[{"vault_form_token": MagicCards.PENDING}])
    payment = (await api.call("POST", "/payments", body)).body
    assert payment["authorization"]["status"] == "PENDING"
    redirection = payment["redirection"]
    assert redirection["method"] == "GET" and redirection["media_type"] == "text/html"
    async with api.http.get(redirection["href"]) as page:
        assert page.status == 200 and 'id="authenticate"' in await page.text()
    async with api.http.post(
        redirection["href"], data={"outcome": "AUTHORIZED"}, allow_redirects=False
    ) as resp:
        assert resp.status == 303 and resp.headers["Location"] == RETURN
    settled = await api.payment(payment["id"])
    assert settled["authorization"]["status"] == "AUTHORIZED" and "redirection" not in settled
    async with api.http.get(redirection["href"]) as page:
        assert page.status == 404
