"""Saved cards end to end, both faces: CIT set-up (session and advanced flow) -> the card in the
customer's wallet (Wallet API v3) -> MIT charge with no browser, paying with a saved card and a
fresh CVV, the merchant id setting, path safety, both answer shapes, and the OAuth2 scope."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aioresponses import aioresponses
from yarl import URL

import purse_async as pa
import purse_sync
from purse_async.testing import MagicCards, Sandbox, ThreadedSandbox

RETURN = "https://shop.example/back"
BROWSER = {"user_agent": "pytest", "accept_header": "text/html", "javascript_enabled": True}
MERCHANT_CHALLENGE = "CHALLENGE_REQUESTED_BY_MERCHANT"
WALLET = "/wallet/v3/wallet"


def wallet_requests(sandbox: Sandbox) -> int:
    return sum(n for key, n in sandbox.stats.requests_by_path.items() if WALLET in key)


def mit_args(token: str, reference: str, amount: int = 990) -> dict[str, Any]:
    return {
        "wallet_token": token,
        "amount": amount,
        "currency": "EUR",
        "order": {"reference": reference, "net_amount": amount},
    }


async def set_up_card(purse: pa.AsyncPurse, sandbox: Sandbox, customer: str) -> pa.ClientSession:
    session = await purse.client_sessions.create_for_future_usage(
        currency="EUR",
        shopper_redirection_url=RETURN,
        order={"reference": f"SETUP-{customer}", "net_amount": 0},
        customer={"reference": customer},
    )
    await sandbox.checkout(session.id)
    return session


# -- the whole story, asyncio ------------------------------------------------------------------


async def test_cit_setup_then_wallet_then_mit(
    purse_client: pa.AsyncPurse, purse_sandbox: Sandbox
) -> None:
    session = await set_up_card(purse_client, purse_sandbox, "C-42")
    # What the CIT/MIT guide asks for, set by the helper: future usage, merchant challenge.
    sent = purse_sandbox.session(session.id)
    assert (sent["amount"], sent["allow_future_usage"]) == (0, True)
    assert sent["three_ds_authentication_options"] == {"challenge_indicator": MERCHANT_CHALLENGE}
    assert session.allow_future_usage is True

    tokens = await purse_client.wallet.list_tokens("C-42")
    assert isinstance(tokens, tuple) and len(tokens) == 1
    (card,) = tokens
    assert isinstance(card, pa.WalletToken) and card.is_active
    assert card.status is pa.WalletTokenStatus.ACTIVE
    assert (card.owner_reference, card.merchant) == ("C-42", purse_sandbox.merchant_id)
    assert card.description is not None
    assert (card.description.brand_name, card.description.display_token) == ("VISA", "**** 4242")
    assert card.expiration_date is not None and card.expiration_date.year == 2030
    payment_id = purse_sandbox.session(session.id)["payment_id"]
    setup = await purse_client.payments.retrieve(payment_id)
    assert setup.authorization is not None
    assert setup.authorization.partner_transactions[0].extra["wallet_token"] == card.id

    before = purse_sandbox.stats.requests_by_path["POST /payment/v2/payments"]
    charged = await purse_client.payments.charge_saved_card(**mit_args(card.id, "SUB-42-1"))
    assert charged.authorization is not None and charged.authorization.status == "AUTHORIZED"
    assert charged.redirection is None  # no shopper, no 3-D Secure, no browser sent
    (tx,) = charged.authorization.partner_transactions
    assert tx.card is not None and tx.card.three_ds is None and tx.card.last_four_digits == "4242"
    assert purse_sandbox.stats.requests_by_path["POST /payment/v2/payments"] == before + 1
    assert len(purse_sandbox.created("payments", order_reference="SUB-42-1")) == 1

    raw = await purse_client.wallet.with_raw_response.list_tokens("C-42")
    assert raw.status == 200 and raw.parsed == tokens
    raw_charge = await purse_client.payments.with_raw_response.charge_saved_card(
        **mit_args(card.id, "SUB-42-2"), partner="adyen", idempotency_key="SUB-42-2/charge"
    )
    assert raw_charge.idempotency_key == "SUB-42-2/charge" and raw_charge.status == 201
    assert raw_charge.parsed.authorization is not None
    assert raw_charge.parsed.authorization.partner_transactions[0].partner == "adyen"


async def test_advanced_flow_setup_saves_the_card(
    purse_client: pa.AsyncPurse, purse_sandbox: Sandbox
) -> None:
    payment = await purse_client.payments.create_for_future_usage(
        amount=1990,
        currency="EUR",
        split=[pa.SplitItem(vault_form_token="tok_4242424242424242", amount=1990)],
        browser=BROWSER,
        order={"reference": "SETUP-ADV", "net_amount": 1990},
        customer={"reference": "C-43"},
    )
    assert payment.authorization is not None and payment.authorization.status == "AUTHORIZED"
    (card,) = await purse_client.wallet.list_tokens("C-43")
    assert payment.authorization.partner_transactions[0].extra["wallet_token"] == card.id


async def test_pay_with_a_saved_card_and_a_fresh_cvv(
    purse_client: pa.AsyncPurse, purse_sandbox: Sandbox
) -> None:
    purse_sandbox.save_card(MagicCards.AUTHORIZED, customer_reference="C-7")
    (card,) = await purse_client.wallet.list_tokens("C-7")
    split = [pa.SplitItem(wallet_token=card.id, vault_form_token="tok_cvv_123", amount=2500)]
    order = {"reference": "ORDER-77", "net_amount": 2500}
    payment = await purse_client.payments.create(
        amount=2500, currency="EUR", split=split, browser=BROWSER, order=order
    )
    assert payment.authorization is not None and payment.authorization.status == "AUTHORIZED"
    (tx,) = payment.authorization.partner_transactions
    assert tx.card is not None and tx.card.last_four_digits == "4242"  # the saved card
    assert tx.card.three_ds is not None  # the customer is present: 3-D Secure ran
    with pytest.raises(pa.BadRequestError) as caught:  # present customer: browser required
        await purse_client.payments.create(amount=2500, currency="EUR", split=split, order=order)
    assert "browser" in str(caught.value)


async def test_an_unknown_customer_has_no_saved_cards(purse_client: pa.AsyncPurse) -> None:
    assert await purse_client.wallet.list_tokens("C-nobody") == ()


async def test_a_mit_whose_answer_was_lost_is_not_resent(purse_sandbox: Sandbox) -> None:
    token = purse_sandbox.save_card(MagicCards.AUTHORIZED, customer_reference="C-8")
    purse_sandbox.faults.drop_connection(1, when="after", path="/payment/v2/payments")
    async with purse_sandbox.client(max_retries=3) as purse:
        with pytest.raises(pa.OutcomeUnknownError) as caught:
            await purse.payments.charge_saved_card(**mit_args(token, "SUB-8"))
    err = caught.value
    assert err.idempotency_key and err.may_have_been_applied is True
    assert (err.amount, err.order_reference) == (990, "SUB-8")
    assert purse_sandbox.stats.requests_by_path["POST /payment/v2/payments"] == 1
    assert len(purse_sandbox.created("payments", order_reference="SUB-8")) == 1


# -- arguments checked before anything is sent ------------------------------------------------


async def test_merchant_id_missing_is_a_validation_error(purse_sandbox: Sandbox) -> None:
    kwargs = {**purse_sandbox.client_kwargs(), "merchant_id": None}
    async with pa.AsyncPurse(**kwargs) as purse:
        with pytest.raises(pa.ValidationError) as caught:
            await purse.wallet.list_tokens("C-1")
        assert caught.value.field == "merchant_id" and "PURSE_MERCHANT_ID" in str(caught.value)
        assert wallet_requests(purse_sandbox) == 0
        # A call's own merchant_id is enough, and wins over the client's.
        assert await purse.wallet.list_tokens("C-1", merchant_id=purse_sandbox.merchant_id) == ()
    async with purse_sandbox.client(merchant_id="someone-else") as purse:
        with pytest.raises(pa.PermissionDeniedError):
            await purse.wallet.list_tokens("C-1")
        assert await purse.wallet.list_tokens("C-1", merchant_id=purse_sandbox.merchant_id) == ()


def test_merchant_id_and_scope_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    creds: dict[str, Any] = {"client_id": "c", "client_secret": "s", "api_key": "k"}
    monkeypatch.setenv("PURSE_MERCHANT_ID", "m-env")
    monkeypatch.setenv("PURSE_SCOPE", "express-checkout")
    purse = pa.AsyncPurse.from_env(**creds)
    assert (purse.settings.merchant_id, purse.settings.scope) == ("m-env", "express-checkout")
    assert pa.AsyncPurse.from_env(**creds, merchant_id="m-arg").settings.merchant_id == "m-arg"
    bad_values: list[tuple[str, Any]] = [
        ("merchant_id", " "),
        ("merchant_id", 5),
        ("scope", 'a"b'),
        ("scope", ""),
    ]
    for name, bad in bad_values:
        with pytest.raises(pa.ConfigurationError, match=name):
            pa.AsyncPurse(**creds, **{name: bad})
    # Both are what the client's tokens and calls stand for: with_options can't change them.
    for name in ("merchant_id", "scope"):
        with pytest.raises(pa.ConfigurationError, match=name):
            purse.with_options(**{name: "other"})
    with purse_sync.Purse(**creds, merchant_id="m-sync", scope="a b") as sync:
        assert (sync.settings.merchant_id, sync.settings.scope) == ("m-sync", "a b")


BAD_REFERENCES = ["../C-1", "C/1", "..", ".", "C 1", "C%2F1", "C?1", "C#1", "C\\1", "C\n1", "", 5]


# -- whose card: a payment naming a customer uses only that customer's cards ------------------


async def test_another_customers_saved_card_is_refused(
    purse_client: pa.AsyncPurse, purse_sandbox: Sandbox
) -> None:
    token = purse_sandbox.save_card(MagicCards.AUTHORIZED, customer_reference="C-1")
    with pytest.raises(pa.UnprocessableEntityError) as caught:
        await purse_client.payments.charge_saved_card(
            **mit_args(token, "SUB-C2"), customer={"reference": "C-2"}
        )
    err = caught.value
    assert [e.pointer for e in err.errors] == ["/split/0/wallet_token"]
    assert "split[0].wallet_token" in str(err) and str(err).count("another customer") == 1
    assert purse_sandbox.created("payments") == []  # refused before any authorization
    # Its owner, or a charge naming no customer (Purse's docs say nothing), still pays.
    for customer in ({"reference": "C-1"}, None):
        paid = await purse_client.payments.charge_saved_card(
            **mit_args(token, f"SUB-C1-{customer is None}"), customer=customer
        )
        assert paid.authorization is not None and paid.authorization.status == "AUTHORIZED"


def test_another_customers_saved_card_is_refused_sync(threaded_sandbox: ThreadedSandbox) -> None:
    box = threaded_sandbox
    token = box.save_card(MagicCards.AUTHORIZED, customer_reference="C-1")
    with purse_sync.Purse(**box.sandbox.client_kwargs()) as purse:
        with pytest.raises(pa.UnprocessableEntityError) as caught:
            purse.payments.charge_saved_card(
                **mit_args(token, "SUB-C2"), customer={"reference": "C-2"}
            )
        assert [e.pointer for e in caught.value.errors] == ["/split/0/wallet_token"]
        assert box.created("payments") == []
        paid = purse.payments.charge_saved_card(
            **mit_args(token, "SUB-C1"), customer={"reference": "C-1"}
        )
        assert paid.authorization is not None and paid.authorization.status == "AUTHORIZED"
        assert len(box.created("payments", order_reference="SUB-C1")) == 1


# -- a charge names its order -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("order", "field"),
    [
        (None, "order"),
        ({"net_amount": 990}, "order.reference"),
        ({"reference": " "}, "order.reference"),
    ],
)
async def test_a_charge_needs_an_order_reference(
    purse_client: pa.AsyncPurse, purse_sandbox: Sandbox, order: Any, field: str
) -> None:
    token = purse_sandbox.save_card(MagicCards.AUTHORIZED, customer_reference="C-1")
    with pytest.raises(pa.ValidationError) as caught:
        await purse_client.payments.charge_saved_card(**{**mit_args(token, "X"), "order": order})
    assert (caught.value.field, caught.value.value) == (
        field,
        None if order is None else order.get("reference"),
    )
    assert purse_sandbox.stats.requests_by_path["POST /payment/v2/payments"] == 0


def test_a_charge_needs_an_order_sync(threaded_sandbox: ThreadedSandbox) -> None:
    box = threaded_sandbox
    token = box.save_card(MagicCards.AUTHORIZED, customer_reference="C-1")
    with purse_sync.Purse(**box.sandbox.client_kwargs()) as purse:
        with pytest.raises(pa.ValidationError) as caught:
            purse.payments.charge_saved_card(**{**mit_args(token, "X"), "order": None})
        assert caught.value.field == "order"
    assert box.created("payments") == []


@pytest.mark.parametrize("reference", BAD_REFERENCES)
async def test_a_reference_that_would_change_the_path_is_refused_before_sending(
    purse_client: pa.AsyncPurse, purse_sandbox: Sandbox, reference: Any
) -> None:
    with pytest.raises(pa.ValidationError) as caught:
        await purse_client.wallet.list_tokens(reference)
    assert caught.value.field == "customer_reference" and caught.value.value == reference
    assert wallet_requests(purse_sandbox) == 0


async def test_references_beyond_ids_travel_percent_encoded(
    purse_client: pa.AsyncPurse, purse_sandbox: Sandbox
) -> None:
    for reference in ("jane+1@example.com", "josé:42", "2090000000000"):
        token = purse_sandbox.save_card(MagicCards.AUTHORIZED, customer_reference=reference)
        (card,) = await purse_client.wallet.list_tokens(reference)
        assert (card.id, card.owner_reference) == (token, reference)


async def test_helpers_refuse_what_cannot_set_a_card_up(purse_client: pa.AsyncPurse) -> None:
    order = {"reference": "X", "net_amount": 100}
    with pytest.raises(pa.ValidationError) as caught:
        await purse_client.client_sessions.create_for_future_usage(
            currency="EUR", shopper_redirection_url=RETURN, order=order, customer={}
        )
    assert caught.value.field == "customer.reference"
    base: dict[str, Any] = {
        "amount": 100,
        "currency": "EUR",
        "browser": BROWSER,
        "order": order,
        "customer": {"reference": "C-1"},
    }
    other = {"challenge_indicator": "NO_CHALLENGE_REQUESTED"}
    split = [{"vault_form_token": "tok_4242424242424242", "three_ds_authentication_options": other}]
    with pytest.raises(pa.ValidationError) as caught:
        await purse_client.payments.create_for_future_usage(split=split, **base)
    assert caught.value.field == "split[0].three_ds_authentication_options.challenge_indicator"
    with pytest.raises(pa.ValidationError) as caught:
        await purse_client.payments.create_for_future_usage(split=[{"wallet_token": "wt"}], **base)
    assert caught.value.field == "split"
    for bad in ("", None, 5):
        with pytest.raises(pa.ValidationError) as caught:
            await purse_client.payments.charge_saved_card(
                **{**mit_args("wt", "X"), "wallet_token": bad}
            )
        assert caught.value.field == "wallet_token"
    with pytest.raises(pa.ValidationError) as caught:
        await purse_client.payments.charge_saved_card(**{**mit_args("wt", "X"), "amount": 0})
    assert caught.value.field == "amount"


# -- request and answer shapes (exact, mocked) ------------------------------------------------

BASE = "http://purse.test"
TOKEN = {"access_token": "t-1", "token_type": "Bearer", "expires_in": 3600}
TOKENS_URL = f"{BASE}{WALLET}/merchants/m-1/customers/C-1/tokens"
GLOSSARY_TOKEN = {
    "id": "92a4d48f-6f6f-4937-88d0-75136726ea10",
    "value": "B-79R12778C7158110V",
    "expiration_date": "2054-11-07T10:51:14.081048Z",
    "owner_reference": "2090000000000",
    "merchant": "testMerchant",
    "description": {"brand_name": "PAYPAL", "display_token": "jane@example.com"},
    "status": "ACTIVE",
}
SDK_TOKEN = {
    "id": "tok-2",
    "status": "SUSPENDED",
    "favorite": True,
    "payment_id": {"origin": "PURSE", "partner": "adyen", "method": "creditcard"},
    "description": {"holder_name": "Jane Doe", "masked_pan": "424242******4242", "icon": "v"},
    "created_at": "2025-01-02T03:04:05Z",
    "labels": ["x"],
}


@pytest.fixture
async def mocked_purse(mocked: aioresponses) -> AsyncIterator[pa.AsyncPurse]:
    mocked.post(f"{BASE}/oauth/token", payload=TOKEN)
    async with pa.AsyncPurse(
        client_id="c",
        client_secret="s",
        api_key="k",
        merchant_id="m-1",
        entity_id="e-1",
        base_url=BASE,
        allow_insecure_http=True,
        max_retries=0,
    ) as purse:
        yield purse


@pytest.mark.parametrize("wrapped", [True, False], ids=["integrated_tokens", "bare_array"])
async def test_both_answer_shapes_decode(
    mocked: aioresponses, mocked_purse: pa.AsyncPurse, wrapped: bool
) -> None:
    tokens = [GLOSSARY_TOKEN, SDK_TOKEN]
    mocked.get(TOKENS_URL, payload={"integrated_tokens": tokens} if wrapped else tokens)
    glossary, sdk = await mocked_purse.wallet.list_tokens("C-1")
    assert glossary.id == GLOSSARY_TOKEN["id"] and glossary.value == "B-79R12778C7158110V"
    assert glossary.description is not None and glossary.description.brand_name == "PAYPAL"
    assert glossary.expiration_date is not None and glossary.expiration_date.year == 2054
    assert glossary.is_active and glossary.extra == {}
    # Members only Purse's SDK types show, an unknown status and unknown members are kept.
    assert sdk.status == "SUSPENDED" and sdk.status is not None and not sdk.status.is_known
    assert not sdk.is_active and sdk.favorite is True and sdk.extra == {"labels": ["x"]}
    assert sdk.payment_id is not None and sdk.payment_id.partner == "adyen"
    assert sdk.description is not None and sdk.description.masked_pan == "424242******4242"
    assert sdk.description.extra == {"icon": "v"}
    ((_, url), calls) = next((k, v) for k, v in mocked.requests.items() if k[0] == "GET")
    assert url == URL(TOKENS_URL) and "x-api-key" in calls[0].kwargs["headers"]


@pytest.mark.parametrize(
    ("answer", "path"),
    [
        ({}, "$"),
        ({"tokens": []}, "$"),
        ("nope", "$"),
        ([{"status": "ACTIVE"}], "$[0].id"),
        ({"integrated_tokens": [{"id": 5}]}, "$.integrated_tokens[0].id"),
    ],
)
async def test_other_shapes_are_decode_errors_never_an_empty_list(
    mocked: aioresponses, mocked_purse: pa.AsyncPurse, answer: Any, path: str
) -> None:
    mocked.get(TOKENS_URL, payload=answer)
    with pytest.raises(pa.DecodeError) as caught:
        await mocked_purse.wallet.list_tokens("C-1")
    assert caught.value.path == path


def _sent(mocked: aioresponses, method: str, url: str) -> list[Any]:
    return [
        call.kwargs
        for key, calls in mocked.requests.items()
        for call in calls
        if key == (method, URL(url))
    ]


async def test_the_helpers_send_the_documented_members_and_the_assumed_mit(
    mocked: aioresponses, mocked_purse: pa.AsyncPurse
) -> None:
    created = {"id": "pay-1", "amount": 990, "currency": "EUR"}
    mocked.post(f"{BASE}/payment/v2/payments", payload=created, status=201, repeat=True)
    mocked.post(f"{BASE}/payment/v2/client-sessions", payload={"id": "cs-1"}, status=201)
    await mocked_purse.client_sessions.create_for_future_usage(
        currency="EUR",
        shopper_redirection_url=RETURN,
        order={"reference": "S"},
        customer={"reference": "C-1"},
        extra_body={"custom": 1},
    )
    await mocked_purse.payments.create_for_future_usage(
        amount=990,
        currency="EUR",
        split=[
            pa.SplitItem(vault_form_token="vft", amount=500),
            {"partner": "illicado", "method": "giftcard", "amount": 490},
        ],
        browser=BROWSER,
        order={"reference": "P"},
        customer={"reference": "C-1"},
    )
    await mocked_purse.payments.charge_saved_card(
        **mit_args("wt_1", "M"), partner="adyen", extra_body={"initiator": "MERCHANT"}
    )
    (session,) = [
        json.loads(k["data"]) for k in _sent(mocked, "POST", f"{BASE}/payment/v2/client-sessions")
    ]
    assert session["amount"] == 0 and session["allow_future_usage"] is True
    assert session["three_ds_authentication_options"] == {"challenge_indicator": MERCHANT_CHALLENGE}
    assert session["custom"] == 1
    setup, charge = [
        (json.loads(k["data"]), k["headers"])
        for k in _sent(mocked, "POST", f"{BASE}/payment/v2/payments")
    ]
    body = setup[0]
    assert body["allow_future_usage"] is True
    card, gift = body["split"]
    assert card["three_ds_authentication_options"] == {"challenge_indicator": MERCHANT_CHALLENGE}
    assert "three_ds_authentication_options" not in gift  # no card form: nothing to challenge
    body, headers = charge
    assert body["split"] == [{"wallet_token": "wt_1", "amount": 990, "partner": "adyen"}]
    assert "browser" not in body and body["initiator"] == "MERCHANT"
    assert "allow_future_usage" not in body and headers["x-idempotency-key"]


# -- OAuth2 scope ------------------------------------------------------------------------------


async def test_scope_is_sent_as_a_form_field(mocked: aioresponses) -> None:
    for scope in ("express-checkout", None):
        mocked.post(f"{BASE}/oauth/token", payload={**TOKEN, "scope": scope})
        async with pa.AsyncPurse(
            client_id="c",
            client_secret="s",
            api_key="k",
            base_url=BASE,
            allow_insecure_http=True,
            scope=scope,
        ) as purse:
            await purse.authenticate()
        form = _sent(mocked, "POST", f"{BASE}/oauth/token")[-1]["data"]
        expected = {"grant_type": "client_credentials"}
        assert form == (expected if scope is None else {**expected, "scope": scope})


def test_scope_is_sent_as_a_form_field_sync(mocked: aioresponses) -> None:
    for scope in ("express-checkout", None):
        mocked.post(f"{BASE}/oauth/token", payload={**TOKEN, "scope": scope})
        with purse_sync.Purse(
            client_id="c",
            client_secret="s",
            api_key="k",
            base_url=BASE,
            allow_insecure_http=True,
            scope=scope,
        ) as purse:
            purse.authenticate()
        form = _sent(mocked, "POST", f"{BASE}/oauth/token")[-1]["data"]
        expected = {"grant_type": "client_credentials"}
        assert form == (expected if scope is None else {**expected, "scope": scope})


async def test_tokens_of_different_scopes_are_never_shared(purse_sandbox: Sandbox) -> None:
    store = pa.MemoryTokenStore()
    clients = [
        purse_sandbox.client(token_store=store, scope=scope)
        for scope in (None, "express-checkout", "payments express-checkout", "express-checkout")
    ]
    try:
        for purse in clients:
            await purse.authenticate()
    finally:
        for purse in clients:
            await purse.aclose()
    # Three scopes (the last client reuses the second's token from the shared store).
    assert purse_sandbox.stats.token_requests == 3
    keys = sorted(store._tokens)  # what a RedisTokenStore would hash into its key
    assert len(keys) == 3 and len({value for value, _ in store._tokens.values()}) == 3
    assert keys[0].endswith(purse_sandbox.credentials.client_id)  # unscoped: unchanged key
    assert keys[1].endswith("|express-checkout")
    assert keys[2].endswith("|express-checkout payments")


# -- the blocking face -------------------------------------------------------------------------


def test_sync_saved_card_flow(threaded_sandbox: ThreadedSandbox) -> None:
    box = threaded_sandbox
    with purse_sync.Purse(**box.sandbox.client_kwargs()) as purse:
        session = purse.client_sessions.create_for_future_usage(
            currency="EUR",
            shopper_redirection_url=RETURN,
            order={"reference": "SETUP-S", "net_amount": 0},
            customer={"reference": "C-S"},
        )
        box.checkout(session.id)
        (card,) = purse.wallet.list_tokens("C-S")
        assert isinstance(card, pa.WalletToken) and card.owner_reference == "C-S"
        assert purse.wallet.with_raw_response.list_tokens("C-S").parsed == (card,)
        assert purse.wallet.list_tokens("C-nobody") == ()
        charged = purse.payments.charge_saved_card(**mit_args(card.id, "SUB-S"))
        assert charged.authorization is not None and charged.authorization.status == "AUTHORIZED"
        payment = purse.payments.create_for_future_usage(
            amount=500,
            currency="EUR",
            split=[{"vault_form_token": "tok_5555555555554444", "amount": 500}],
            browser=BROWSER,
            order={"reference": "SETUP-S2", "net_amount": 500},
            customer={"reference": "C-S"},
        )
        assert payment.authorization is not None and payment.authorization.status == "AUTHORIZED"
        assert len(purse.wallet.list_tokens("C-S")) == 2
        paid = purse.payments.create(
            amount=700,
            currency="EUR",
            split=[{"wallet_token": card.id, "vault_form_token": "tok_cvv", "amount": 700}],
            browser=BROWSER,
            order={"reference": "ORDER-S", "net_amount": 700},
        )
        assert paid.authorization is not None and paid.authorization.status == "AUTHORIZED"
        with pytest.raises(pa.ValidationError) as caught:
            purse.wallet.list_tokens("../C-S")
        assert caught.value.field == "customer_reference"
    kwargs = {**box.sandbox.client_kwargs(), "merchant_id": None}
    with purse_sync.Purse(**kwargs) as purse:
        with pytest.raises(pa.ValidationError) as caught:
            purse.wallet.list_tokens("C-S")
        assert caught.value.field == "merchant_id"
