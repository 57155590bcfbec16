"""Pay by Link end to end against the sandbox, both faces: create and retrieve, a refused attempt
reopens the link, the first authorized one locks it PAID, both webhook streams parsed to their
types, unknown statuses kept, validation, and a keyed creation never re-sent blindly."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

import purse_async as pa
import purse_sync as ps
from purse_async.testing import MagicCards, Sandbox, ThreadedSandbox
from tests._scripted import serve

RETURN = "https://shop.example/back"
LINKS = "/payment/v2/payment-links"
DEAD_HOOK = {"url": "http://127.0.0.1:9/hook"}  # nothing listens: deliveries are still recorded
FAST = pa.RetryPolicy(max_retries=2, initial_backoff=0.0, jitter=0.0)


def link_args(reference: str = "INV-1", amount: int = 5000, **extra: Any) -> dict[str, Any]:
    return {
        "amount": amount,
        "currency": "EUR",
        "shopper_redirection_url": RETURN,
        "order": {"reference": reference, "net_amount": amount},
        **extra,
    }


def delivered(sandbox: Sandbox) -> list[bytes]:
    """The webhook bodies the sandbox sent, in order, as a receiver would read them."""
    return [json.dumps(d.body).encode() for d in sandbox.webhook_deliveries if not d.duplicate]


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[str, list[bytes]]]:
    received: list[bytes] = []

    async def hook(request: web.Request) -> web.Response:
        received.append(await request.read())
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/purse-webhook", hook)
    async with serve(app) as base:
        yield f"{base}/purse-webhook", received


# -- create and retrieve ---------------------------------------------------------------------


def check_new_link(link: pa.PaymentLink, sandbox: Sandbox) -> None:
    assert link.status is pa.PaymentLinkStatus.OPENED and link.status.is_known
    assert link.version == 1 and link.payment_id is None and link.payment_ids == ()
    assert link.url is not None and link.links is not None and link.url == link.links.hosted_page
    assert link.url.startswith(f"{sandbox.base_url}/hosted/payment-links/")
    assert (link.amount, link.currency, link.entity_id) == (
        5000,
        "EUR",
        sandbox.credentials.entity_id,
    )
    assert link.order is not None and link.order.reference == "INV-1"
    assert link.shopper_redirection_url == RETURN and link.created_at is not None


async def test_create_and_retrieve(purse_client: pa.AsyncPurse, purse_sandbox: Sandbox) -> None:
    link = await purse_client.payment_links.create(
        **link_args(), customer={"email": "jane@example.com"}, capture_mode="AUTOMATIC"
    )
    check_new_link(link, purse_sandbox)
    assert link.customer is not None and link.customer.email == "jane@example.com"
    assert link.capture_mode == "AUTOMATIC"
    assert await purse_client.payment_links.retrieve(link.id) == link
    raw = await purse_client.payment_links.with_raw_response.retrieve(link.id)
    assert raw.status == 200 and raw.parsed == link
    with pytest.raises(pa.NotFoundError):
        await purse_client.payment_links.retrieve("00000000-0000-0000-0000-000000000000")
    made = await purse_client.payment_links.with_raw_response.create(**link_args("INV-2"))
    assert made.status == 201 and made.idempotency_key  # always keyed
    assert [link["id"] for link in purse_sandbox.created("payment_links")] == [
        link.id,
        made.parsed.id,
    ]


def test_create_and_retrieve_sync(threaded_sandbox: ThreadedSandbox) -> None:
    with ps.Purse(**threaded_sandbox.sandbox.client_kwargs()) as purse:
        link = purse.payment_links.create(**link_args())
        check_new_link(link, threaded_sandbox.sandbox)
        assert purse.payment_links.retrieve(link.id) == link
        assert purse.payment_links.with_raw_response.create(**link_args()).status == 201
        with pytest.raises(pa.NotFoundError):
            purse.payment_links.retrieve("00000000-0000-0000-0000-000000000000")


# -- attempts: refused reopens, authorized locks, both webhook streams --------------------------


async def test_refused_attempt_reopens_paid_locks_and_both_streams_parse(
    receiver: tuple[str, list[bytes]],
) -> None:
    url, received = receiver
    async with Sandbox() as sandbox, sandbox.client() as purse:
        link = await purse.payment_links.create(**link_args(), webhook={"url": url})

        back = await sandbox.pay_payment_link(link.id, card=MagicCards.REFUSED)
        assert back.startswith(RETURN + "?purse-redirection-data=")
        refused = await purse.redirections.verify(back)
        assert refused.authorization_status == "REFUSED" and refused.payment_id is not None
        assert refused.extra["payment_link_id"] == link.id
        assert refused.extra["payment_link_status"] == "OPENED"
        reopened = await purse.payment_links.retrieve(link.id)
        assert reopened.status == "OPENED" and reopened.version == 2
        assert reopened.payment_ids == (refused.payment_id,)

        paid_back = await purse.redirections.verify(await sandbox.pay_payment_link(link.id))
        assert paid_back.authorization_status == "AUTHORIZED"
        assert paid_back.extra["payment_link_status"] == "PAID"
        paid = await purse.payment_links.retrieve(link.id)
        assert paid.status is pa.PaymentLinkStatus.PAID and paid.version == 3
        assert paid.payment_id == paid_back.payment_id
        assert paid.payment_ids == (refused.payment_id, paid_back.payment_id)

        with pytest.raises(ValueError, match="PAID"):  # further attempts are rejected
            await sandbox.pay_payment_link(link.id)
        assert len(sandbox.created("payments", order_reference="INV-1")) == 2
        assert (await purse.payment_links.retrieve(link.id)).version == 3

        await sandbox.wait_for_webhooks()
        assert [d.status for d in sandbox.webhook_deliveries] == [204] * 4
        parsed = [purse.webhooks.parse_any(body) for body in received]
        assert [type(item) for item in parsed] == [pa.Payment, pa.PaymentLink] * 2
        payments = [p for p in parsed if isinstance(p, pa.Payment)]
        links = [p for p in parsed if isinstance(p, pa.PaymentLink)]
        assert [p.id for p in payments] == [refused.payment_id, paid_back.payment_id]
        statuses = [p.authorization.status for p in payments if p.authorization is not None]
        assert statuses == ["REFUSED", "AUTHORIZED"]
        assert [(x.id, x.status, x.version) for x in links] == [
            (link.id, "OPENED", 2),
            (link.id, "PAID", 3),
        ]
        # The payment stream's own parser takes payments and refuses a link's status.
        assert purse.webhooks.parse(received[0]).id == refused.payment_id
        with pytest.raises(pa.WebhookError, match="parse_any"):
            purse.webhooks.parse(received[1])


def test_refused_then_paid_sync(threaded_sandbox: ThreadedSandbox) -> None:
    box = threaded_sandbox
    with ps.Purse(**box.sandbox.client_kwargs()) as purse:
        link = purse.payment_links.create(**link_args(), webhook=DEAD_HOOK)
        box.pay_payment_link(link.id, card=MagicCards.REFUSED)
        assert purse.payment_links.retrieve(link.id).status == "OPENED"
        back = box.pay_payment_link(link.id)
        assert purse.redirections.verify(back).extra["payment_link_status"] == "PAID"
        assert purse.payment_links.retrieve(link.id).status is pa.PaymentLinkStatus.PAID
        assert box.payment_link(link.id)["status"] == "PAID"
        assert len(box.created("payments", order_reference="INV-1")) == 2
        with pytest.raises(ValueError, match="PAID"):
            box.pay_payment_link(link.id)
        box.wait_for_webhooks()
        parsed = [purse.webhooks.parse_any(body) for body in delivered(box.sandbox)]
        assert [type(item) for item in parsed] == [pa.Payment, pa.PaymentLink] * 2
        assert [p.status for p in parsed if isinstance(p, pa.PaymentLink)] == ["OPENED", "PAID"]


async def test_an_attempt_awaiting_its_outcome_holds_the_link(
    purse_client: pa.AsyncPurse, purse_sandbox: Sandbox
) -> None:
    link = await purse_client.payment_links.create(**link_args())
    back = await purse_sandbox.pay_payment_link(link.id, card=MagicCards.PENDING)
    payment_id = (await purse_client.redirections.verify(back)).payment_id
    assert payment_id is not None
    assert (await purse_client.payment_links.retrieve(link.id)).status == "PENDING"
    with pytest.raises(ValueError, match="PENDING"):  # no second authorization meanwhile
        await purse_sandbox.pay_payment_link(link.id)
    purse_sandbox.settle_pending(payment_id, "REFUSED")
    assert (await purse_client.payment_links.retrieve(link.id)).status == "OPENED"
    await purse_sandbox.pay_payment_link(link.id, card=MagicCards.PENDING)
    second = (await purse_client.payment_links.retrieve(link.id)).payment_id
    assert second is not None and second != payment_id
    purse_sandbox.settle_pending(second)
    assert (await purse_client.payment_links.retrieve(link.id)).status == "PAID"


def test_an_attempt_awaiting_its_outcome_sync(threaded_sandbox: ThreadedSandbox) -> None:
    # The blocking twins run on the sandbox's loop: settling a payment there also schedules
    # the link's webhook on it (the sandbox's own settle_pending, called here, has no loop).
    box = threaded_sandbox
    with ps.Purse(**box.sandbox.client_kwargs()) as purse:
        link = purse.payment_links.create(**link_args(), webhook=DEAD_HOOK)
        back = box.pay_payment_link(link.id, card=MagicCards.PENDING)
        payment_id = purse.redirections.verify(back).payment_id
        assert payment_id is not None
        assert purse.payment_links.retrieve(link.id).status == "PENDING"
        with pytest.raises(ValueError, match="PENDING"):
            box.pay_payment_link(link.id)
        box.settle_pending(payment_id, "REFUSED")
        assert purse.payment_links.retrieve(link.id).status == "OPENED"
        box.pay_payment_link(link.id, card=MagicCards.PENDING)
        second = purse.payment_links.retrieve(link.id).payment_id
        assert second is not None and second != payment_id
        box.settle_pending(second)
        assert purse.payment_links.retrieve(link.id).status == "PAID"
        box.wait_for_webhooks()
        links = [d.body for d in box.sandbox.webhook_deliveries if d.body.get("status")]
        assert [body["status"] for body in links] == ["PENDING", "OPENED", "PENDING", "PAID"]


async def test_unusable_card_input_makes_no_attempt(
    purse_client: pa.AsyncPurse, purse_sandbox: Sandbox
) -> None:
    link = await purse_client.payment_links.create(**link_args())
    with pytest.raises(ValueError):
        await purse_sandbox.pay_payment_link(link.id, card="1234")
    again = await purse_client.payment_links.retrieve(link.id)
    assert (again.status, again.version, again.payment_ids) == ("OPENED", 1, ())
    assert purse_sandbox.created("payments") == []


async def test_the_hosted_page_over_http(
    purse_client: pa.AsyncPurse, purse_sandbox: Sandbox
) -> None:
    link = await purse_client.payment_links.create(**link_args())
    assert link.url is not None
    submit = f"{purse_sandbox.base_url}/hosted/payment-links/{link.id}/submit"
    card = {"card_number": MagicCards.REFUSED, "expiry": "12/30", "holder": "Jane Doe"}
    async with aiohttp.ClientSession() as http:
        async with http.get(link.url) as page:
            text = await page.text()
            assert page.status == 200 and f'action="/hosted/payment-links/{link.id}/submit"' in text
            assert 'id="cancel"' not in text  # the link stays payable: nothing to cancel
        async with http.post(submit, data=card, allow_redirects=False) as refused:
            assert refused.status == 303 and refused.headers["Location"].startswith(RETURN)
        async with http.get(link.url, allow_redirects=False) as reusable:
            assert reusable.status == 200  # the same URL takes another attempt
        paid_card = {**card, "card_number": MagicCards.AUTHORIZED}
        async with http.post(submit, data=paid_card, allow_redirects=False) as paid:
            assert paid.status == 303
            verified = await purse_client.redirections.verify(paid.headers["Location"])
            assert verified.authorization_status == "AUTHORIZED"
        async with http.get(link.url, allow_redirects=False) as after:
            assert after.status == 303 and after.headers["Location"].startswith(RETURN)
        async with http.post(submit, data=paid_card, allow_redirects=False) as rejected:
            assert rejected.status == 409 and "already paid" in await rejected.text()
    assert len(purse_sandbox.created("payments", order_reference="INV-1")) == 2


# -- webhooks: telling the streams apart, once and in order ----------------------------------


async def test_process_any_dedupes_each_stream(
    purse_client: pa.AsyncPurse, purse_sandbox: Sandbox
) -> None:
    link = await purse_client.payment_links.create(**link_args(), webhook=DEAD_HOOK)
    await purse_sandbox.pay_payment_link(link.id, card=MagicCards.REFUSED)
    await purse_sandbox.pay_payment_link(link.id)
    await purse_sandbox.wait_for_webhooks()
    bodies = delivered(purse_sandbox)
    events = [await purse_client.webhooks.process_any(body) for body in bodies]
    assert [type(e) for e in events] == [pa.WebhookEvent, pa.PaymentLinkEvent] * 2
    assert all(e.is_new and e.reason == "new" for e in events)
    opened, paid = (e for e in events if isinstance(e, pa.PaymentLinkEvent))
    assert (opened.payment_link_id, opened.version, paid.payment_link.status) == (
        link.id,
        2,
        "PAID",
    )
    duplicate = await purse_client.webhooks.process_any(bodies[3])
    assert isinstance(duplicate, pa.PaymentLinkEvent) and duplicate.reason == "duplicate"
    stale = await purse_client.webhooks.process_any(bodies[1])  # OPENED after PAID: dropped
    assert isinstance(stale, pa.PaymentLinkEvent) and not stale.is_new and stale.reason == "stale"
    fresh = await purse_client.webhooks.process_any(
        bodies[1], refetch=True, store=pa.MemoryWebhookStore()
    )
    assert isinstance(fresh, pa.PaymentLinkEvent) and fresh.refetched
    assert (fresh.delivered.status, fresh.payment_link.status) == ("OPENED", "PAID")
    with pytest.raises(pa.WebhookError, match="process_any"):
        await purse_client.webhooks.process(bodies[1])


def test_process_any_sync(threaded_sandbox: ThreadedSandbox) -> None:
    box = threaded_sandbox
    with ps.Purse(**box.sandbox.client_kwargs()) as purse:
        link = purse.payment_links.create(**link_args(), webhook=DEAD_HOOK)
        box.pay_payment_link(link.id)
        box.wait_for_webhooks()
        events = [purse.webhooks.process_any(body) for body in delivered(box.sandbox)]
        assert [type(e) for e in events] == [pa.WebhookEvent, pa.PaymentLinkEvent]
        assert isinstance(events[1], pa.PaymentLinkEvent)
        assert events[1].payment_link.status == "PAID"


@pytest.mark.parametrize(
    "body",
    [b'{"hello": "world"}', b"{}", b"[]", b"not json", b'{"status": "PAID"}'],
)
def test_a_body_of_neither_stream_is_a_webhook_error(body: bytes) -> None:
    webhooks = pa.AsyncPurse(client_id="c", client_secret="s", api_key="k").webhooks
    with pytest.raises(pa.WebhookError):
        webhooks.parse_any(body)


def test_members_of_the_wrong_type_are_a_decode_error() -> None:
    with ps.Purse(client_id="c", client_secret="s", api_key="k") as purse:
        with pytest.raises(pa.DecodeError):
            purse.webhooks.parse_any(b'{"id": "l-1", "status": 7}')
        with pytest.raises(pa.DecodeError):
            purse.webhooks.parse_any(b'{"id": "l-1", "status": "PAID", "amount": "50.00"}')


# -- forward compatibility: an unknown status is kept ----------------------------------------


def test_an_unknown_link_status_is_kept() -> None:
    body = {"id": "l-1", "status": "ARCHIVED", "amount": 5000, "shiny_new_member": {"a": 1}}
    with ps.Purse(client_id="c", client_secret="s", api_key="k") as purse:
        link = purse.webhooks.parse_any(json.dumps(body))
    assert isinstance(link, pa.PaymentLink)
    assert isinstance(link.status, pa.PaymentLinkStatus) and not link.status.is_known
    assert link.status == "ARCHIVED" and str(link.status) == "ARCHIVED"
    assert link.extra == {"shiny_new_member": {"a": 1}}


async def test_an_unknown_status_from_the_api_is_kept(
    purse_client: pa.AsyncPurse, purse_sandbox: Sandbox
) -> None:
    link = await purse_client.payment_links.create(**link_args())
    purse_sandbox.state.payment_links[link.id]["status"] = "SUSPENDED"
    again = await purse_client.payment_links.retrieve(link.id)
    assert again.status == "SUSPENDED" and again.status is not None
    assert not again.status.is_known


# -- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": 0}, "amount"),
        ({"amount": 49.99}, "amount"),
        ({"currency": "euro"}, "currency"),
        ({"shopper_redirection_url": "shop.example/back"}, "shopper_redirection_url"),
        ({"order": None}, "order"),
        ({"order": "INV-1"}, "order"),
        ({"order": {"reference": "INV-1", "net_amout": 5000}}, "order.net_amout"),
        ({"entity_id": " "}, "entity_id"),
    ],
)
def test_client_side_validation_names_the_field(
    threaded_sandbox: ThreadedSandbox, change: dict[str, Any], field: str
) -> None:
    sandbox = threaded_sandbox.sandbox
    with ps.Purse(**sandbox.client_kwargs()) as purse, pytest.raises(pa.ValidationError) as caught:
        purse.payment_links.create(**{**link_args(), **change})
    assert caught.value.field == field
    assert sandbox.stats.requests_by_path[f"POST {LINKS}"] == 0


async def test_missing_required_fields(purse_client: pa.AsyncPurse, purse_sandbox: Sandbox) -> None:
    args = link_args()
    del args["order"]
    with pytest.raises(TypeError, match="order"):
        await purse_client.payment_links.create(**args)
    # The sandbox refuses a request that lacks them, naming every one (as Purse documents them).
    token = purse_sandbox.state.issue_token()
    headers = {
        "Authorization": f"Bearer {token}",
        "x-api-key": purse_sandbox.credentials.api_key,
    }
    async with (
        aiohttp.ClientSession() as http,
        http.post(purse_sandbox.base_url + LINKS, json={"amount": 5000}, headers=headers) as answer,
    ):
        problem = await answer.json()
    assert answer.status == 400
    assert {error["pointer"] for error in problem["errors"]} == {
        "/entity_id",
        "/currency",
        "/shopper_redirection_url",
        "/order",
    }
    with pytest.raises(pa.BadRequestError) as caught:  # a rule only the server knows
        await purse_client.payment_links.create(
            **link_args(), extra_body={"webhook": {"url": "not-a-url"}}
        )
    assert [e.pointer for e in caught.value.errors] == ["/webhook/url"]


# -- a creation that may have reached Purse is never re-sent blindly ----------------------------


async def test_create_whose_answer_was_lost_is_not_resent(purse_sandbox: Sandbox) -> None:
    async with purse_sandbox.client(retry_policy=FAST) as purse:
        purse_sandbox.faults.drop_connection(1, when="after", path=LINKS)
        with pytest.raises(pa.OutcomeUnknownError) as caught:
            await purse.payment_links.create(**link_args())
        err = caught.value
        assert err.idempotency_key is not None and err.may_have_been_applied is True
        assert (err.resource, err.amount, err.currency, err.order_reference) == (
            "payment link",
            5000,
            "EUR",
            "INV-1",
        )
        assert purse_sandbox.stats.requests_by_path[f"POST {LINKS}"] == 1  # sent once only
        made = purse_sandbox.created("payment_links", idempotency_key=err.idempotency_key)
        assert len(made) == 1
        # Retrying with the error's key returns the link it made: still one link for the order.
        again = await purse.payment_links.create(**link_args(), idempotency_key=err.idempotency_key)
        assert again.id == made[0]["id"]
        assert len(purse_sandbox.created("payment_links", order_reference="INV-1")) == 1
        with pytest.raises(pa.IdempotencyConflictError, match="amount"):
            await purse.payment_links.create(
                **link_args(amount=6000), idempotency_key=err.idempotency_key
            )


def test_create_whose_answer_was_lost_is_not_resent_sync() -> None:
    with ThreadedSandbox() as box:
        box.sandbox.faults.drop_connection(1, when="after", path=LINKS)
        with ps.Purse(**box.sandbox.client_kwargs(), retry_policy=FAST) as purse:
            with pytest.raises(pa.OutcomeUnknownError) as caught:
                purse.payment_links.create(**link_args())
            assert box.sandbox.stats.requests_by_path[f"POST {LINKS}"] == 1
            link = purse.payment_links.create(
                **link_args(), idempotency_key=caught.value.idempotency_key
            )
        made = box.sandbox.created("payment_links", order_reference="INV-1")
        assert [m["id"] for m in made] == [link.id]
