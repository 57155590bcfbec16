"""Sandbox saved cards and merchant-initiated payments: wallet tokens from authorizations and
`save_card`, MIT on a token at each partner, every partner's raw codes, eligible solutions by
currency, amount and method, the 422s for unknown tokens and ineligible partners, the Wallet API
route listing a customer's tokens, and the token endpoint's scope echo."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest

import purse_async as pa
from purse_async.testing import MagicCards, Sandbox
from tests.test_sandbox_support import RETURN, Api

WALLET_TOKEN = re.compile(r"^wt_[0-9a-f]{32}$")
BROWSER = {"user_agent": "pytest", "accept_header": "text/html", "javascript_enabled": True}


@pytest.fixture
async def api(purse_sandbox: Sandbox) -> AsyncIterator[Api]:
    async with Api(purse_sandbox) as client:
        yield client


def txs(payment: dict[str, Any]) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = payment["authorization"]["partner_transactions"]
    return result


def body(
    api: Api, split: list[dict[str, Any]], amount: int = 4999, **fields: Any
) -> dict[str, Any]:
    return {
        "entity_id": api.sb.credentials.entity_id,
        "amount": amount,
        "currency": "EUR",
        "order": {"reference": "MIT-1", "net_amount": amount},
        "split": split,
        **fields,
    }


def cit(api: Api, card: str, amount: int = 4999, **item: Any) -> dict[str, Any]:
    split = [{"vault_form_token": "tok_" + card, "amount": amount, **item}]
    return body(api, split, amount, browser=BROWSER, shopper_redirection_url=RETURN)


def mit(api: Api, token: str, amount: int = 4999, **item: Any) -> dict[str, Any]:
    return body(api, [{"wallet_token": token, "amount": amount, **item}], amount)


async def create(api: Api, payload: dict[str, Any], status: int = 201) -> Any:
    reply = await api.call("POST", "/payments", payload)
    assert reply.status == status, reply.body
    return reply.body


# -- saving cards -----------------------------------------------------------------------------


async def test_a_session_with_future_usage_saves_the_authorized_card(api: Api) -> None:
    payment = await api.paid(session={"allow_future_usage": True})
    (tx,) = txs(payment)
    assert WALLET_TOKEN.match(tx["wallet_token"])
    assert api.sb.state.wallet.get(tx["wallet_token"]) is not None
    plain = await api.paid()
    assert "wallet_token" not in txs(plain)[0]


async def test_a_zero_amount_session_saves_the_card_for_later(api: Api) -> None:
    session = await api.session(0, allow_future_usage=True, customer={"reference": "C-9"})
    await api.sb.checkout(session["id"])
    payment = api.sb.payment(api.sb.session(session["id"])["payment_id"])
    assert payment["authorization"]["status"] == "AUTHORIZED"
    token = txs(payment)[0]["wallet_token"]
    saved = api.sb.state.wallet.get(token)
    assert saved is not None and saved.customer_reference == "C-9"


async def test_only_the_authorized_attempt_of_a_cascade_carries_the_token(api: Api) -> None:
    payment = await api.paid(MagicCards.SOFT_DECLINE_CASCADE, session={"allow_future_usage": True})
    refused, authorized = txs(payment)
    assert "wallet_token" not in refused and WALLET_TOKEN.match(authorized["wallet_token"])


@pytest.mark.parametrize(
    ("fields", "item", "saved"),
    [
        ({"allow_future_usage": True}, {}, True),
        ({}, {"save_token": True}, True),
        ({}, {"save_token": False}, False),
        ({}, {}, False),
    ],
)
async def test_advanced_flow_saves_on_request(
    api: Api, fields: dict[str, Any], item: dict[str, Any], saved: bool
) -> None:
    payment = await create(api, {**cit(api, MagicCards.AUTHORIZED, **item), **fields})
    assert ("wallet_token" in txs(payment)[0]) is saved


async def test_a_refused_card_is_not_saved(api: Api) -> None:
    payment = await create(api, cit(api, MagicCards.REFUSED, save_token=True))
    assert "wallet_token" not in txs(payment)[0]
    assert api.sb.state.wallet.cards == {}


async def test_a_pending_card_is_saved_when_it_settles_in_the_same_version(api: Api) -> None:
    payment = await api.paid(MagicCards.PENDING, session={"allow_future_usage": True})
    assert "wallet_token" not in txs(payment)[0]
    api.sb.settle_pending(payment["id"])
    settled = await api.payment(payment["id"])
    assert WALLET_TOKEN.match(txs(settled)[0]["wallet_token"])
    assert settled["version"] == payment["version"] + 1


async def test_save_card(api: Api) -> None:
    token = api.sb.save_card(MagicCards.AUTHORIZED)
    assert WALLET_TOKEN.match(token)
    assert api.sb.save_card("4242 4242 4242 4242") == token  # one token per card and customer
    other = api.sb.save_card(MagicCards.AUTHORIZED, customer_reference="C-1")
    assert other != token
    saved = api.sb.state.wallet.get(other)
    assert saved is not None and saved.customer_reference == "C-1"
    with pytest.raises(ValueError, match="12 to 19 digits"):
        api.sb.save_card("1234")


async def test_a_saved_card_is_reused_by_a_later_save(api: Api) -> None:
    token = api.sb.save_card(MagicCards.AUTHORIZED)
    payment = await create(api, mit(api, token) | {"allow_future_usage": True})
    assert txs(payment)[0]["wallet_token"] == token


# -- merchant-initiated payments ------------------------------------------------------------


async def test_mit_needs_no_browser_and_runs_no_3ds(api: Api) -> None:
    token = api.sb.save_card(MagicCards.THREE_DS_CHALLENGE)
    payment = await create(api, mit(api, token))
    assert payment["authorization"]["status"] == "AUTHORIZED"
    (tx,) = txs(payment)
    assert (tx["partner"], tx["method"]) == ("ingenico", "creditcard")
    assert tx["card"]["three_ds"] is None and tx["card"]["last_four_digits"] == "3220"
    assert "redirection" not in payment and "wallet_token" not in tx
    assert payment["amounts"]["total_authorized"] == 4999


async def test_mit_from_a_token_an_authorization_saved(api: Api) -> None:
    first = await api.paid(session={"allow_future_usage": True})
    token = txs(first)[0]["wallet_token"]
    payment = await create(api, mit(api, token, 1500, partner="adyen", method="creditcard"))
    (tx,) = txs(payment)
    assert (tx["partner"], tx["status"], tx["partner_status"]) == (
        "adyen",
        "AUTHORIZED",
        "Authorised",
    )
    assert tx["card"]["last_four_digits"] == "4242"


# What each card does at each partner (docs/sandbox.md): status, partner_status per attempt.
OUTCOMES = [
    (MagicCards.AUTHORIZED, "ingenico", [("AUTHORIZED", "PENDING_CAPTURE")]),
    (MagicCards.AUTHORIZED, "adyen", [("AUTHORIZED", "Authorised")]),
    (MagicCards.REFUSED, "ingenico", [("REFUSED", "05")]),
    (MagicCards.REFUSED, "adyen", [("REFUSED", "Refused")]),
    (MagicCards.SOFT_DECLINE_FIRST_PSP, "ingenico", [("REFUSED", "51")]),
    (MagicCards.SOFT_DECLINE_FIRST_PSP, "adyen", [("AUTHORIZED", "Authorised")]),
    (
        MagicCards.SOFT_DECLINE_CASCADE,
        "ingenico",
        [("REFUSED", "51"), ("AUTHORIZED", "Authorised")],
    ),
    (
        MagicCards.SOFT_DECLINE_CASCADE,
        "adyen",
        [("REFUSED", "Not enough balance"), ("AUTHORIZED", "PENDING_CAPTURE")],
    ),
    (MagicCards.ERROR, "ingenico", [("ERROR", "96")]),
    (MagicCards.ERROR, "adyen", [("ERROR", "Acquirer Error")]),
    (MagicCards.PENDING, "ingenico", [("PENDING", "PENDING_AUTHORISATION")]),
    (MagicCards.PENDING, "adyen", [("PENDING", "Pending")]),
]


@pytest.mark.parametrize(("card", "partner", "attempts"), OUTCOMES)
@pytest.mark.parametrize("initiator", ["MIT", "CIT"])
async def test_every_card_at_every_partner(
    api: Api, card: str, partner: str, attempts: list[tuple[str, str]], initiator: str
) -> None:
    if initiator == "MIT":
        payload = mit(api, api.sb.save_card(card), partner=partner)
    else:
        payload = cit(api, card, partner=partner)
    payment = await create(api, payload)
    assert [(tx["status"], tx["partner_status"]) for tx in txs(payment)] == attempts
    assert txs(payment)[0]["partner"] == partner
    assert all(tx["partner_status_description"] for tx in txs(payment))
    assert ("redirection" in payment) is (initiator == "CIT" and card == MagicCards.PENDING)


@pytest.mark.parametrize(
    ("partner", "code", "text"),
    [("ingenico", "54", "Expired card"), ("adyen", "Expired Card", "expired")],
)
async def test_an_expired_saved_card_is_a_hard_decline(
    api: Api, partner: str, code: str, text: str
) -> None:
    token = api.sb.save_card(MagicCards.AUTHORIZED, expiry="01/20")
    payment = await create(api, mit(api, token, partner=partner))
    (tx,) = txs(payment)
    assert (tx["status"], tx["partner_status"]) == ("REFUSED", code)
    assert text in tx["partner_status_description"]


async def test_soft_decline_then_the_next_solution_authorizes(api: Api) -> None:
    """The merchant's retry the issue describes: two payments, the second at adyen."""
    token = api.sb.save_card(MagicCards.SOFT_DECLINE_FIRST_PSP)
    first = await create(api, mit(api, token))
    assert first["authorization"]["status"] == "REFUSED"
    assert [(tx["partner"], tx["partner_status"]) for tx in txs(first)] == [("ingenico", "51")]
    second = await create(api, mit(api, token, partner="adyen"))
    assert second["authorization"]["status"] == "AUTHORIZED"
    assert len(api.sb.created("payments", order_reference="MIT-1")) == 2


async def test_a_pending_mit_settles_later_with_a_new_version() -> None:
    async with Sandbox(pending_delay=0.05) as sb, Api(sb) as api:
        payment = await create(api, mit(api, sb.save_card(MagicCards.PENDING)))
        assert payment["authorization"]["status"] == "PENDING" and "redirection" not in payment
        await asyncio.sleep(0.15)
        settled = await api.payment(payment["id"])
        assert settled["authorization"]["status"] == "AUTHORIZED"
        assert settled["version"] == payment["version"] + 1


async def test_an_unknown_wallet_token_is_a_422(api: Api) -> None:
    key = {"x-idempotency-key": "mit-1"}
    reply = await api.call("POST", "/payments", mit(api, "wt_" + "0" * 32), headers=key)
    assert reply.status == 422 and reply.content_type == "application/problem+json"
    assert reply.body["type"] == "urn:eu.purse:unknown-wallet-token"
    assert reply.body["errors"][0]["pointer"] == "/split/0/wallet_token"
    assert "split[0].wallet_token" in reply.body["detail"]
    assert api.sb.state.payments == {}
    # The refusal doesn't burn the key.
    token = api.sb.save_card(MagicCards.AUTHORIZED)
    ok = await api.call("POST", "/payments", mit(api, token), headers=key)
    assert ok.status == 201


@pytest.mark.parametrize(
    ("currency", "amount", "partner"),
    [
        ("CHF", 4999, "ingenico"),  # ingenico takes no CHF
        ("EUR", 2_000_000, "adyen"),  # adyen stops at 1,000,000
        ("EUR", 4999, "stripe"),  # not a partner of this entity
        ("EUR", 4999, "illicado"),  # a gift card partner, not a card one
    ],
)
async def test_a_partner_not_eligible_is_a_422(
    api: Api, currency: str, amount: int, partner: str
) -> None:
    token = api.sb.save_card(MagicCards.AUTHORIZED)
    for payload in (mit(api, token, amount, partner=partner), cit(api, "4242424242424242", amount)):
        payload["split"][0]["partner"] = partner
        payload["split"][0]["method"] = "creditcard"
        payload["currency"] = currency
        reply = await api.call("POST", "/payments", payload)
        assert reply.status == 422, reply.body
        assert reply.body["type"] == "urn:eu.purse:solution-not-eligible"
        assert reply.body["errors"][0]["pointer"] == "/split/0/partner"
        assert "split[0].partner" in reply.body["detail"]
    assert api.sb.state.payments == {}


async def test_without_a_partner_the_first_eligible_one_is_used(api: Api) -> None:
    token = api.sb.save_card(MagicCards.AUTHORIZED)
    payment = await create(api, mit(api, token) | {"currency": "CHF"})
    assert txs(payment)[0]["partner"] == "adyen"
    jpy = await api.call("POST", "/payments", mit(api, token) | {"currency": "JPY"})
    assert jpy.status == 422 and jpy.body["errors"][0]["pointer"] == "/split/0/partner"
    assert jpy.body["type"] == "urn:eu.purse:solution-not-eligible"  # nobody takes JPY


async def test_a_gift_card_beyond_its_limits_is_a_422(api: Api) -> None:
    split = [
        {"vault_form_token": MagicCards.GIFT_CARD, "method": "giftcard", "amount": 1000},
        {"vault_form_token": MagicCards.AUTHORIZED, "amount": 59000},
    ]
    payload = body(api, split, 60000, browser=BROWSER)
    reply = await api.call("POST", "/payments", payload)
    assert reply.status == 422 and reply.body["errors"][0]["pointer"] == "/split/0/partner"
    assert reply.body["type"] == "urn:eu.purse:solution-not-eligible"


async def test_checkout_follows_eligibility(api: Api) -> None:
    chf = await api.session(currency="CHF")
    await api.sb.checkout(chf["id"], card=MagicCards.SOFT_DECLINE_CASCADE)
    payment = api.sb.payment(api.sb.session(chf["id"])["payment_id"])
    # adyen is the only card partner for CHF: it declines, and there is nobody to cascade to.
    assert [(tx["partner"], tx["partner_status"]) for tx in txs(payment)] == [
        ("adyen", "Not enough balance")
    ]
    jpy = await api.session(currency="JPY")
    with pytest.raises(ValueError, match="cards are not accepted"):
        await api.sb.checkout(jpy["id"])
    usd = await api.session(currency="USD")
    with pytest.raises(ValueError, match="gift cards are not accepted"):
        await api.sb.checkout(usd["id"], gift_card=MagicCards.GIFT_CARD)
    assert api.sb.session(usd["id"])["status"] == "CREATED"


@pytest.mark.parametrize("initiator", ["MIT", "CIT"])
async def test_a_payment_naming_a_customer_uses_only_that_customers_cards(
    api: Api, initiator: str
) -> None:
    # docs/sandbox.md, "Whose card" (an assumption).
    def pay_with(token: str, reference: str) -> dict[str, Any]:
        if initiator == "MIT":
            payload = mit(api, token)
        else:  # a saved card and its fresh CVC: customer-initiated
            item = {"wallet_token": token, "vault_form_token": "cvc_tok", "amount": 4999}
            payload = body(api, [item], browser=BROWSER, shopper_redirection_url=RETURN)
        return payload | {"customer": {"reference": reference}}

    theirs = api.sb.save_card(MagicCards.AUTHORIZED, customer_reference="C-1")
    reply = await api.call("POST", "/payments", pay_with(theirs, "C-2"))
    assert reply.status == 422, reply.body
    assert reply.body["type"] == "urn:eu.purse:wallet-token-of-another-customer"
    assert reply.body["errors"][0]["pointer"] == "/split/0/wallet_token"
    assert reply.body["detail"] == (
        "split[0].wallet_token: the token belongs to another customer than customer.reference"
    )
    assert api.sb.state.payments == {}  # nothing created
    # A token saved without a customer has no owner to compare: any payment may use it.
    ownerless = api.sb.save_card("5555555555554444")
    payment = await create(api, pay_with(ownerless, "C-2"))
    assert payment["authorization"]["status"] == "AUTHORIZED"


async def test_mit_validation(api: Api) -> None:
    token = api.sb.save_card(MagicCards.AUTHORIZED)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"wallet_token": 12}, "/split/0/wallet_token"),
        ({"wallet_token": token, "partner": 3}, "/split/0/partner"),
        ({"wallet_token": token, "save_token": "yes"}, "/split/0/save_token"),
    ]
    for item, pointer in cases:
        reply = await api.call("POST", "/payments", body(api, [{**item, "amount": 4999}]))
        assert reply.status == 400, reply.body
        assert pointer in [e["pointer"] for e in reply.body["errors"]]
    bad_browser = await api.call("POST", "/payments", mit(api, token) | {"browser": "x"})
    assert bad_browser.status == 400 and bad_browser.body["errors"][0]["pointer"] == "/browser"


async def test_a_cit_with_a_saved_card_and_a_fresh_cvc_runs_3ds(api: Api) -> None:
    token = api.sb.save_card(MagicCards.THREE_DS_CHALLENGE)
    item = {"wallet_token": token, "vault_form_token": "cvc_tok", "amount": 4999}
    payment = await create(api, body(api, [item], browser=BROWSER))
    assert txs(payment)[0]["card"]["three_ds"]["flow"] == "CHALLENGE"


async def test_mit_through_the_sdk(purse_client: pa.AsyncPurse, purse_sandbox: Sandbox) -> None:
    token = purse_sandbox.save_card(MagicCards.SOFT_DECLINE_FIRST_PSP)
    order = {"reference": "SDK-MIT", "net_amount": 2500}
    refused = await purse_client.payments.create(
        amount=2500,
        currency="EUR",
        order=order,
        split=[{"wallet_token": token, "amount": 2500}],
        browser={"user_agent": "worker"},
    )
    assert refused.authorization is not None and refused.authorization.status == "REFUSED"
    with pytest.raises(pa.UnprocessableEntityError) as caught:
        await purse_client.payments.create(
            amount=2500,
            currency="CHF",  # ingenico takes no CHF
            order=order,
            split=[{"wallet_token": token, "amount": 2500, "partner": "ingenico"}],
            browser={"user_agent": "worker"},
        )
    assert caught.value.status == 422


# -- eligible solutions ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency", "method", "expected"),
    [
        (4999, "EUR", None, ["ingenico/creditcard", "adyen/creditcard", "illicado/giftcard"]),
        (50_000, "EUR", None, ["ingenico/creditcard", "adyen/creditcard", "illicado/giftcard"]),
        (50_001, "EUR", None, ["ingenico/creditcard", "adyen/creditcard"]),
        (1_000_001, "EUR", None, ["ingenico/creditcard"]),
        (4999, "USD", None, ["ingenico/creditcard", "adyen/creditcard"]),
        (4999, "GBP", None, ["ingenico/creditcard", "adyen/creditcard"]),
        (4999, "CHF", None, ["adyen/creditcard"]),
        (4999, "JPY", None, []),
        (4999, "EUR", "creditcard", ["ingenico/creditcard", "adyen/creditcard"]),
        (4999, "EUR", "giftcard", ["illicado/giftcard"]),
        (4999, "EUR", "paypal", []),  # an unknown method: no solution, not an error
    ],
)
async def test_eligible_solutions_depend_on_currency_amount_and_method(
    api: Api, amount: int, currency: str, method: str | None, expected: list[str]
) -> None:
    request: dict[str, Any] = {
        "entity_id": api.sb.credentials.entity_id,
        "amount": amount,
        "currency": currency,
        "order": {"reference": "E-1"},
    }
    if method is not None:
        request["method"] = method
    reply = await api.call("POST", "/eligible-solutions", request)
    assert reply.status == 200, reply.body
    assert (reply.body["amount"], reply.body["currency"]) == (amount, currency)
    found = [f"{s['partner']}/{s['method']}" for s in reply.body["eligible_solutions"]]
    assert found == expected


async def test_eligible_solutions_method_must_be_a_name(api: Api) -> None:
    request = {
        "entity_id": api.sb.credentials.entity_id,
        "amount": 100,
        "currency": "EUR",
        "order": {"reference": "E-2"},
        "method": 7,
    }
    reply = await api.call("POST", "/eligible-solutions", request)
    assert reply.status == 400 and reply.body["errors"][0]["pointer"] == "/method"


# -- the Wallet API route -------------------------------------------------------------------


def tokens_path(sb: Sandbox, customer: str, merchant: str | None = None) -> str:
    return f"/merchants/{merchant or sb.merchant_id}/customers/{customer}/tokens"


async def list_tokens(api: Api, customer: str, **options: Any) -> Any:
    return await api.call("GET", tokens_path(api.sb, customer), prefix=WALLET, **options)


WALLET = "/wallet/v3/wallet"


async def test_the_wallet_lists_the_cards_a_customer_saved(api: Api) -> None:
    session = await api.session(0, allow_future_usage=True, customer={"reference": "C-9"})
    await api.sb.checkout(session["id"], card="5555 5555 5555 4444", expiry="03/31")
    later = api.sb.save_card(MagicCards.AUTHORIZED, customer_reference="C-9")
    api.sb.save_card(MagicCards.AUTHORIZED, customer_reference="C-10")
    api.sb.save_card(MagicCards.AUTHORIZED)  # no customer: nobody's wallet lists it
    reply = await list_tokens(api, "C-9")
    assert reply.status == 200 and reply.content_type == "application/json"
    first, second = reply.body["integrated_tokens"]
    payment = api.sb.payment(api.sb.session(session["id"])["payment_id"])
    assert first["id"] == txs(payment)[0]["wallet_token"] and second["id"] == later
    assert first["owner_reference"] == "C-9" and first["merchant"] == api.sb.merchant_id
    assert first["status"] == "ACTIVE" and first["expiration_date"] == "2031-03-31T23:59:59Z"
    assert first["description"] == {
        "brand_name": "MASTERCARD",
        "display_token": "**** 4444",
        "holder_name": "Jane Doe",
        "masked_pan": "555555******4444",
    }
    assert first["value"] != first["id"] and first["created_at"].endswith("Z")
    assert (await list_tokens(api, "C-unknown")).body == {"integrated_tokens": []}


async def test_the_wallet_route_is_guarded_like_the_payment_api(api: Api) -> None:
    assert (await list_tokens(api, "C-9", auth=False)).status == 401
    reply = await list_tokens(api, "C-9", headers={"x-api-key": "wrong"})
    assert reply.status == 403
    other = await api.call(
        "GET", tokens_path(api.sb, "C-9", merchant="someone-else"), prefix=WALLET
    )
    assert other.status == 403 and other.content_type == "application/problem+json"
    assert "merchant_id" in other.body["detail"]


async def test_a_token_the_wallet_lists_pays_an_mit(api: Api) -> None:
    api.sb.save_card(MagicCards.AUTHORIZED, customer_reference="C-1")
    (token,) = (await list_tokens(api, "C-1")).body["integrated_tokens"]
    payment = await create(api, mit(api, token["id"]))
    assert payment["authorization"]["status"] == "AUTHORIZED"


async def test_the_token_endpoint_echoes_the_scope_it_grants(api: Api) -> None:
    grant = {"grant_type": "client_credentials", "scope": "express-checkout payments"}
    reply = await api.token_request(grant)
    assert reply.status == 200 and reply.body["scope"] == "express-checkout payments"
    plain = await api.token_request()
    assert "scope" not in plain.body
