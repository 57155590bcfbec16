"""End to end against the embedded sandbox: every endpoint, every magic card, the cascade,
split payments, each operation rule, idempotency replay, token expiry and retries."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

import purse_async as pa
from purse_async.models import AuthorizationStatus, OperationStatus, Payment
from purse_async.testing import MagicCards, Sandbox

RETURN = "https://shop.example/back"


async def paid(
    purse: pa.AsyncPurse,
    sandbox: Sandbox,
    *,
    amount: int = 12000,
    card: str = MagicCards.AUTHORIZED,
    **checkout: Any,
) -> Payment:
    session = await purse.client_sessions.create(
        amount=amount,
        currency="EUR",
        shopper_redirection_url=RETURN,
        order={"reference": "o-1", "net_amount": amount},
    )
    url = await sandbox.checkout(session.id, card=card, **checkout)
    redirect = await purse.redirections.verify(url)
    assert redirect.client_session_id == session.id
    assert redirect.payment_id is not None
    return await purse.payments.retrieve(redirect.payment_id)


async def test_client_session_lifecycle(
    purse_client: pa.AsyncPurse, purse_sandbox: Sandbox, order: dict[str, Any]
) -> None:
    session = await purse_client.client_sessions.create(
        amount=12000,
        currency="EUR",
        shopper_redirection_url=RETURN,
        order=order,
        customer={"email": "jane@example.com"},
        webhook={"url": "http://127.0.0.1:9/hook"},
    )
    assert session.status == "CREATED"
    assert session.entity_id == purse_sandbox.credentials.entity_id
    assert session.widget is not None and session.widget.js_url and session.widget.data
    assert session.links is not None and session.links.hosted_page
    assert session.expires_at is not None and session.order is not None
    assert session.order.reference == "ORDER-1"
    again = await purse_client.client_sessions.retrieve(session.id)
    assert again.id == session.id and again.status == "CREATED"
    aborted = await purse_client.client_sessions.abort(session.id)
    assert aborted.status == "ABORTED_BY_MERCHANT"
    with pytest.raises(pa.ConflictError):
        await purse_client.client_sessions.abort(session.id)
    with pytest.raises(pa.NotFoundError):
        await purse_client.client_sessions.retrieve("00000000-0000-0000-0000-000000000000")


async def test_submitted_session_carries_payment_and_authorization(
    purse_client: pa.AsyncPurse, purse_sandbox: Sandbox
) -> None:
    payment = await paid(purse_client, purse_sandbox)
    assert payment.client_session_id is not None
    session = await purse_client.client_sessions.retrieve(payment.client_session_id)
    assert session.status == "SUBMITTED"
    assert session.payment_id == payment.id
    assert session.authorization is not None
    assert session.authorization.status == "AUTHORIZED"


async def test_server_side_validation_names_the_field(
    purse_client: pa.AsyncPurse, order: dict[str, Any]
) -> None:
    with pytest.raises(pa.BadRequestError) as info:
        await purse_client.client_sessions.create(
            amount=20000, currency="EUR", shopper_redirection_url=RETURN, order=order
        )
    assert info.value.errors[0].pointer == "/order/net_amount"
    with pytest.raises(pa.PermissionDeniedError):
        await purse_client.client_sessions.create(
            amount=100,
            currency="EUR",
            shopper_redirection_url=RETURN,
            order=order,
            entity_id="someone-else",
        )


async def test_client_side_validation_happens_before_sending(
    purse_client: pa.AsyncPurse, purse_sandbox: Sandbox, order: dict[str, Any]
) -> None:
    for kwargs, field in [
        ({"amount": 10.5}, "amount"),
        ({"amount": 0}, "amount"),
        ({"currency": "euro"}, "currency"),
        ({"shopper_redirection_url": "shop.example"}, "shopper_redirection_url"),
        ({"order": "ORDER-1"}, "order"),
    ]:
        args: dict[str, Any] = {
            "amount": 100,
            "currency": "EUR",
            "shopper_redirection_url": RETURN,
            "order": order,
            **kwargs,
        }
        with pytest.raises(pa.ValidationError) as info:
            await purse_client.client_sessions.create(**args)
        assert info.value.field == field
    assert purse_sandbox.stats.requests_by_path["POST /payment/v2/client-sessions"] == 0


@pytest.mark.parametrize(
    ("card", "status", "statuses"),
    [
        (MagicCards.AUTHORIZED, "AUTHORIZED", ["AUTHORIZED"]),
        (MagicCards.REFUSED, "REFUSED", ["REFUSED"]),
        (MagicCards.SOFT_DECLINE_CASCADE, "AUTHORIZED", ["REFUSED", "AUTHORIZED"]),
        (MagicCards.ERROR, "ERROR", ["ERROR"]),
        (MagicCards.PENDING, "PENDING", ["PENDING"]),
        (MagicCards.THREE_DS_CHALLENGE, "AUTHORIZED", ["AUTHORIZED"]),
    ],
)
async def test_every_magic_card(
    purse_client: pa.AsyncPurse,
    purse_sandbox: Sandbox,
    card: str,
    status: str,
    statuses: list[str],
) -> None:
    payment = await paid(purse_client, purse_sandbox, card=card)
    assert payment.authorization is not None
    assert payment.authorization.status == status
    txs = payment.authorization.partner_transactions
    assert [tx.status for tx in txs] == statuses
    assert all(
        tx.partner_status and tx.card and tx.card.last_four_digits == card[-4:] for tx in txs
    )
    flow = txs[-1].card.three_ds.flow  # type: ignore[union-attr]
    assert flow == ("CHALLENGE" if card == MagicCards.THREE_DS_CHALLENGE else "FRICTIONLESS")


async def test_cascade_shows_the_refusal_then_the_authorization(
    purse_client: pa.AsyncPurse, purse_sandbox: Sandbox
) -> None:
    payment = await paid(purse_client, purse_sandbox, card=MagicCards.SOFT_DECLINE_CASCADE)
    auth = payment.authorization
    assert auth is not None
    (failed,) = auth.failed_attempts
    assert failed.partner == "ingenico" and failed.status is AuthorizationStatus.REFUSED
    assert failed.partner_status == "51"
    assert auth.authorized_transaction is not None
    assert auth.authorized_transaction.partner == "adyen"
    assert payment.amounts is not None and payment.amounts.total_authorized == 12000


async def test_pending_authorization_settles(
    purse_client: pa.AsyncPurse, purse_sandbox: Sandbox
) -> None:
    payment = await paid(purse_client, purse_sandbox, card=MagicCards.PENDING)
    assert payment.amounts is not None and payment.amounts.authorize_pending == 12000
    with pytest.raises(pa.ConflictError):
        await purse_client.payments.capture(payment.id)
    purse_sandbox.settle_pending(payment.id)
    settled = await purse_client.payments.retrieve(payment.id)
    assert settled.authorization is not None and settled.authorization.status == "AUTHORIZED"
    assert settled.version is not None and payment.version is not None
    assert settled.version > payment.version


async def test_capture_refund_void_move_the_amounts(
    purse_client: pa.AsyncPurse, purse_sandbox: Sandbox
) -> None:
    payment = await paid(purse_client, purse_sandbox)
    capture = await purse_client.payments.capture(payment.id, amount=5000)
    assert capture.status is OperationStatus.SUCCESS and capture.amount == 5000
    refund = await purse_client.payments.refund(payment.id, amount=2000)
    void = await purse_client.payments.void(payment.id)
    assert void.amount == 7000
    final = await purse_client.payments.retrieve(payment.id)
    a = final.amounts
    assert a is not None
    assert (a.total_captured, a.total_refunded, a.total_voided) == (5000, 2000, 7000)
    assert (a.available_to_capture, a.available_to_refund, a.available_to_void) == (0, 3000, 0)
    assert final.overview is not None and final.overview.captured == "PARTIALLY"
    assert [op.id for op in final.captures] == [capture.id]
    assert final.find_operation(refund.id) is not None


async def test_operation_rules(purse_client: pa.AsyncPurse, purse_sandbox: Sandbox) -> None:
    payment = await paid(purse_client, purse_sandbox)
    with pytest.raises(pa.BadRequestError) as too_much:
        await purse_client.payments.capture(payment.id, amount=12001)
    assert too_much.value.errors[0].pointer == "/amount"
    with pytest.raises(pa.BadRequestError):
        await purse_client.payments.refund(payment.id, amount=1)  # nothing captured yet
    await purse_client.payments.capture(payment.id)  # everything
    with pytest.raises(pa.ConflictError):
        await purse_client.payments.void(payment.id)  # nothing left to void
    with pytest.raises(pa.BadRequestError):
        await purse_client.payments.refund(payment.id, amount=12001)
    refused = await paid(purse_client, purse_sandbox, card=MagicCards.REFUSED)
    with pytest.raises(pa.ConflictError, match="AUTHORIZED"):
        await purse_client.payments.capture(refused.id, amount=100)
    assert len(purse_sandbox.ledger(payment.id)) == 1


async def test_split_payment_default_orders_and_priorities(
    purse_client: pa.AsyncPurse, purse_sandbox: Sandbox
) -> None:
    payment = await paid(
        purse_client, purse_sandbox, gift_card="6000000000000001", gift_card_amount=3000
    )
    assert payment.authorization is not None
    methods = [(tx.method, tx.amount) for tx in payment.authorization.partner_transactions]
    assert methods == [("giftcard", 3000), ("creditcard", 9000)]
    assert [s.method for s in payment.split] == ["giftcard", "creditcard"]
    # Captures take gift cards first by default.
    capture = await purse_client.payments.capture(payment.id, amount=4000)
    assert [(pt.method, pt.amount) for pt in capture.partner_transactions] == [
        ("giftcard", 3000),
        ("creditcard", 1000),
    ]
    # Refunds take cards first by default.
    refund = await purse_client.payments.refund(payment.id, amount=1500)
    assert [(pt.method, pt.amount) for pt in refund.partner_transactions] == [
        ("creditcard", 1000),
        ("giftcard", 500),
    ]
    # A priority list overrides it; {*,*} stands for everything else at its position.
    refund2 = await purse_client.payments.refund(
        payment.id,
        amount=2500,
        priorities=[{"partner": "*", "method": "*"}, {"partner": "illicado", "method": "*"}],
    )
    assert [(pt.method, pt.amount) for pt in refund2.partner_transactions] == [("giftcard", 2500)]


async def test_advanced_flow_payment_creation_and_eligible_solutions(
    purse_client: pa.AsyncPurse, order: dict[str, Any]
) -> None:
    solutions = await purse_client.eligible_solutions.list(amount=4999, currency="EUR", order=order)
    assert ("ingenico", "creditcard") in [
        (s.partner, s.method) for s in solutions.eligible_solutions
    ]
    payment = await purse_client.payments.create(
        amount=4999,
        currency="EUR",
        order=order,
        idempotency_key="cart-77",
        split=[{"vault_form_token": "tok_" + MagicCards.AUTHORIZED, "amount": 4999}],
        browser={"user_agent": "pytest", "javascript_enabled": True, "color_depth": 24},
    )
    assert payment.authorization is not None and payment.authorization.status == "AUTHORIZED"
    again = await purse_client.payments.create(
        amount=4999,
        currency="EUR",
        order=order,
        idempotency_key="cart-77",
        split=[{"vault_form_token": "tok_" + MagicCards.AUTHORIZED, "amount": 4999}],
        browser={"user_agent": "pytest"},
    )
    assert again.id == payment.id  # the replay returns the payment already created


async def test_lost_answer_then_retry_charges_once(
    purse_client: pa.AsyncPurse, purse_sandbox: Sandbox
) -> None:
    payment = await paid(purse_client, purse_sandbox)
    purse_client._requester._sleep = _no_sleep  # keep the retry backoff out of the test time
    # The capture is applied, then the connection drops before the answer leaves.
    purse_sandbox.faults.drop_connection(1, when="after", path="/captures")
    capture = await purse_client.payments.capture(payment.id, amount=5000)
    assert capture.replayed is True
    ledger = purse_sandbox.ledger(payment.id)
    assert [(e.kind, e.amount) for e in ledger] == [("captures", 5000)]
    assert ledger[0].idempotency_key == capture.idempotency_key
    assert ledger[0].id == capture.id
    final = await purse_client.payments.retrieve(payment.id)
    assert final.amounts is not None and final.amounts.total_captured == 5000


async def test_explicit_key_replay_by_the_caller_returns_the_same_operation(
    purse_client: pa.AsyncPurse, purse_sandbox: Sandbox
) -> None:
    payment = await paid(purse_client, purse_sandbox)
    first = await purse_client.payments.capture(
        payment.id, amount=100, idempotency_key="order-9-capture"
    )
    second = await purse_client.payments.capture(
        payment.id, amount=100, idempotency_key="order-9-capture"
    )
    assert second.id == first.id and second.replayed and not first.replayed
    assert len(purse_sandbox.ledger(payment.id)) == 1


async def _no_sleep(delay: float) -> None:
    await asyncio.sleep(0)


async def test_retries_through_injected_faults(
    purse_client: pa.AsyncPurse, purse_sandbox: Sandbox
) -> None:
    payment = await paid(purse_client, purse_sandbox)
    purse_client._requester._sleep = _no_sleep
    purse_sandbox.faults.fail_next(2, status=503, path="/payments/")
    assert (await purse_client.payments.retrieve(payment.id)).id == payment.id
    purse_sandbox.faults.rate_limit(1, retry_after=0.01, path="/captures")
    capture = await purse_client.payments.capture(payment.id, amount=1000)
    assert capture.replayed is False
    assert len(purse_sandbox.ledger(payment.id)) == 1
    purse_sandbox.faults.fail_next(5, status=502, path="/payments/")
    with pytest.raises(pa.InternalServerError):
        await purse_client.payments.retrieve(payment.id)


async def test_expired_tokens_are_replaced(purse_sandbox: Sandbox) -> None:
    async with purse_sandbox.client() as purse:
        payment = await paid(purse, purse_sandbox)
        purse_sandbox.expire_all_tokens()
        assert (await purse.payments.retrieve(payment.id)).id == payment.id
        assert purse.token_requests == 2
    assert purse_sandbox.stats.token_requests == 2


async def test_short_lived_tokens_are_refreshed_before_they_expire() -> None:
    async with Sandbox(token_lifetime=1) as sandbox, sandbox.client() as purse:
        payment = await paid(purse, sandbox)
        await asyncio.sleep(0.55)
        await purse.payments.retrieve(payment.id)
        assert sandbox.stats.requests_by_path[f"GET /payment/v2/payments/{payment.id}"] == 2
        assert sandbox.stats.token_requests == 2  # refreshed ahead: no 401 round trip


async def test_wrong_credentials(purse_sandbox: Sandbox) -> None:
    async with purse_sandbox.client(client_secret="wrong") as purse:
        with pytest.raises(pa.AuthenticationError, match="Client authentication failed"):
            await purse.payments.retrieve("pay-1")


async def test_session_expiry() -> None:
    async with Sandbox(session_ttl=0.05) as sandbox, sandbox.client() as purse:
        session = await purse.client_sessions.create(
            amount=100, currency="EUR", shopper_redirection_url=RETURN, order={"reference": "x"}
        )
        await asyncio.sleep(0.1)
        assert (await purse.client_sessions.retrieve(session.id)).status == "EXPIRED"
        with pytest.raises(ValueError, match="EXPIRED"):
            await sandbox.checkout(session.id)


async def test_both_path_prefixes_answer(
    purse_sandbox: Sandbox, purse_client: pa.AsyncPurse
) -> None:
    payment = await paid(purse_client, purse_sandbox)
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{purse_sandbox.base_url}/oauth/token",
            data={"grant_type": "client_credentials"},
            headers={
                "x-api-key": purse_sandbox.credentials.api_key,
                "Authorization": _basic(purse_sandbox),
            },
        ) as token_resp:
            token = (await token_resp.json())["access_token"]
        headers = {
            "Authorization": f"Bearer {token}",
            "x-api-key": purse_sandbox.credentials.api_key,
        }
        for prefix in ("/payment/v2", "/v2"):
            async with http.get(
                f"{purse_sandbox.base_url}{prefix}/payments/{payment.id}", headers=headers
            ) as resp:
                assert resp.status == 200
                assert (await resp.json())["id"] == payment.id


def _basic(sandbox: Sandbox) -> str:
    import base64

    creds = sandbox.credentials
    return "Basic " + base64.b64encode(f"{creds.client_id}:{creds.client_secret}".encode()).decode()


async def test_signing_keys_endpoint(purse_client: pa.AsyncPurse) -> None:
    keys = await purse_client.signing_keys.retrieve()
    assert keys.keys and keys.keys[0].kty == "RSA" and keys.keys[0].kid
    assert keys.find(keys.keys[0].kid) is keys.keys[0]  # type: ignore[arg-type]


async def test_shopper_cancel_on_hosted_page_redirects_signed(
    purse_client: pa.AsyncPurse, purse_sandbox: Sandbox
) -> None:
    session = await purse_client.client_sessions.create(
        amount=100,
        currency="EUR",
        shopper_redirection_url=RETURN + "?lang=fr",
        order={"reference": "x"},
    )
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{purse_sandbox.base_url}/hosted/sessions/{session.id}/cancel", allow_redirects=False
        ) as resp,
    ):
        assert resp.status == 303
        location = resp.headers["Location"]
    assert location.startswith(RETURN + "?lang=fr&purse-redirection-data=")
    redirect = await purse_client.redirections.verify(location)
    assert redirect.client_session_status == "ABORTED_BY_CUSTOMER"
    assert redirect.payment_id is None


async def test_hosted_form_submit_without_a_browser(
    purse_client: pa.AsyncPurse, purse_sandbox: Sandbox
) -> None:
    session = await purse_client.client_sessions.create(
        amount=100, currency="EUR", shopper_redirection_url=RETURN, order={"reference": "x"}
    )
    assert session.links is not None and session.links.hosted_page
    async with aiohttp.ClientSession() as http:
        async with http.get(session.links.hosted_page) as page:
            assert 'id="card-number"' in await page.text()
        async with http.post(
            f"{purse_sandbox.base_url}/hosted/sessions/{session.id}/submit",
            data={"card_number": MagicCards.REFUSED, "expiry": "01/29", "holder": "J"},
            allow_redirects=False,
        ) as resp:
            assert resp.status == 303
            location = resp.headers["Location"]
    redirect = await purse_client.redirections.verify(location)
    assert redirect.authorization_status == "REFUSED"


async def test_typed_request_models_are_accepted_like_dicts(
    purse_client: pa.AsyncPurse, purse_sandbox: Sandbox
) -> None:
    from purse_async.models import Address, Customer, CustomerAccount, ItemLine, Order, Webhook

    order = Order(
        reference="TYPED-1",
        net_amount=12000,
        billing_address=Address(first_name="Jane", address_lines=("1 rue de la Paix",)),
        item_lines=(ItemLine(name="Bag", quantity=2, unit_gross_price=6000, tax_rate=20.0),),
        extra={"gift_message": "Happy birthday"},
    )
    session = await purse_client.client_sessions.create(
        amount=12000,
        currency="EUR",
        shopper_redirection_url=RETURN,
        order=order,
        customer=Customer(
            email="jane@example.com", account=CustomerAccount(purchase_count_last_year=3)
        ),
        webhook=Webhook(url="http://127.0.0.1:9/hook"),
    )
    assert session.order is not None
    assert session.order.billing_address is not None
    assert session.order.billing_address.address_lines == ("1 rue de la Paix",)
    assert session.order.item_lines[0].tax_rate == 20.0
    assert session.order.extra == {"gift_message": "Happy birthday"}
    assert session.customer is not None and session.customer.account is not None
    assert session.customer.account.purchase_count_last_year == 3
