"""Sandbox client sessions: creation (shape, defaults, echo, widget, hosted link), validation
problems naming each field, get, abort rules, expiry, and the submitted session."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import pytest

import purse_async as pa
from purse_async.testing import MagicCards, Sandbox
from tests.test_sandbox_support import ISO_Z, RETURN, UUID, Api


@pytest.fixture
async def api(purse_sandbox: Sandbox) -> AsyncIterator[Api]:
    async with Api(purse_sandbox) as client:
        yield client


def _body(api: Api, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "entity_id": api.sb.credentials.entity_id,
        "amount": 12000,
        "currency": "EUR",
        "shopper_redirection_url": RETURN,
        "order": {"reference": "ORDER-1", "net_amount": 12000},
    }
    body.update(fields)
    return {k: v for k, v in body.items() if v is not None}


def _ts(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


async def test_create_answers_the_session(api: Api) -> None:
    customer = {"email": "jane@example.com", "first_name": "Jane"}
    reply = await api.call("POST", "/client-sessions", _body(api, customer=customer))
    assert reply.status == 201
    s = reply.body
    assert UUID.match(s["id"]) and s["status"] == "CREATED"
    assert ISO_Z.match(s["created_at"]) and ISO_Z.match(s["expires_at"])
    assert _ts(s["expires_at"]) - _ts(s["created_at"]) == pytest.approx(1800, abs=0.01)
    assert s["entity_id"] == api.sb.credentials.entity_id
    assert (s["amount"], s["currency"], s["shopper_redirection_url"]) == (12000, "EUR", RETURN)
    assert s["order"] == {"reference": "ORDER-1", "net_amount": 12000}
    assert s["customer"] == customer
    assert (s["capture_mode"], s["integration_mode"], s["allow_future_usage"]) == (
        "MANUAL",
        "EMBEDDED",
        False,
    )
    assert s["links"]["hosted_page"] == f"{api.sb.base_url}/hosted/sessions/{s['id']}"
    assert s["widget"]["js_url"].startswith(api.sb.base_url)
    data = json.loads(base64.b64decode(s["widget"]["data"]))
    assert data["client_session_id"] == s["id"]
    assert data["api_url"] == f"{api.sb.base_url}/payment/v2"
    assert "payment_id" not in s and "authorization" not in s


async def test_create_keeps_explicit_modes_and_server_owned_fields(api: Api) -> None:
    body = _body(
        api,
        capture_mode="AUTOMATIC",
        integration_mode="HOSTED_PAGE",
        id="mine",
        status="SUBMITTED",
        webhook={"url": "https://shop.example/hook"},
    )
    s = (await api.call("POST", "/client-sessions", body)).body
    assert (s["capture_mode"], s["integration_mode"]) == ("AUTOMATIC", "HOSTED_PAGE")
    assert s["id"] != "mine" and s["status"] == "CREATED"
    assert s["webhook"] == {"url": "https://shop.example/hook"}


@pytest.mark.parametrize(
    ("fields", "pointer"),
    [
        ({"entity_id": None}, "/entity_id"),
        ({"amount": None}, "/amount"),
        ({"currency": None}, "/currency"),
        ({"shopper_redirection_url": None}, "/shopper_redirection_url"),
        ({"order": None}, "/order"),
        ({"amount": 10.5}, "/amount"),
        ({"amount": True}, "/amount"),
        ({"amount": "100"}, "/amount"),
        ({"amount": -1}, "/amount"),
        ({"amount": 0}, "/amount"),
        ({"currency": "eur"}, "/currency"),
        ({"currency": "EURO"}, "/currency"),
        ({"order": {"net_amount": 11999}}, "/order/net_amount"),
        ({"order": "ORDER-1"}, "/order"),
        ({"shopper_redirection_url": "shop.example"}, "/shopper_redirection_url"),
        ({"capture_mode": "LATER"}, "/capture_mode"),
        ({"allow_future_usage": "yes"}, "/allow_future_usage"),
        ({"webhook": {"url": 3}}, "/webhook/url"),
    ],
)
async def test_validation_names_the_field(api: Api, fields: dict[str, Any], pointer: str) -> None:
    reply = await api.call("POST", "/client-sessions", _body(api, **fields))
    assert reply.status == 400, reply.body
    assert reply.content_type == "application/problem+json"
    problem = reply.body
    assert problem["status"] == 400 and problem["type"] == "urn:eu.purse:validation-error"
    assert problem["instance"] == "/payment/v2/client-sessions"
    assert [e["pointer"] for e in problem["errors"]] == [pointer]
    assert problem["errors"][0]["detail"] and problem["detail"]
    assert api.sb.stats.requests_by_path["POST /payment/v2/client-sessions"] == 1


async def test_validation_lists_every_bad_field(api: Api) -> None:
    reply = await api.call("POST", "/client-sessions", {"amount": 1.5, "currency": "x"})
    pointers = {e["pointer"] for e in reply.body["errors"]}
    assert pointers >= {"/entity_id", "/shopper_redirection_url", "/order", "/amount", "/currency"}


async def test_each_field_error_is_said_once(api: Api) -> None:
    # Each field's message is in `errors` only: the error the SDK raises (title, detail, then
    # each field) says every one once.
    bad = {"capture_mode": "LATER", "integration_mode": "POPUP"}
    reply = await api.call("POST", "/client-sessions", _body(api, **bad))
    messages = [e["detail"] for e in reply.body["errors"]]
    assert [e["pointer"] for e in reply.body["errors"]] == ["/capture_mode", "/integration_mode"]
    assert not any(message in reply.body["detail"] for message in messages)
    async with api.sb.client() as purse:
        with pytest.raises(pa.BadRequestError) as caught:
            await purse.client_sessions.create(
                amount=12000,
                currency="EUR",
                shopper_redirection_url=RETURN,
                order={"reference": "ORDER-1", "net_amount": 12000},
                extra_body=bad,
            )
    said = str(caught.value)
    assert all(said.count(message) == 1 for message in messages), said
    assert said.count("/capture_mode") == said.count("/integration_mode") == 1


async def test_zero_amount_needs_allow_future_usage(api: Api) -> None:
    body = _body(api, amount=0, allow_future_usage=True, order={"reference": "mandate"})
    reply = await api.call("POST", "/client-sessions", body)
    assert reply.status == 201 and reply.body["amount"] == 0
    await api.sb.checkout(reply.body["id"])
    payment = api.sb.payment(api.sb.session(reply.body["id"])["payment_id"])
    assert payment["authorization"]["status"] == "AUTHORIZED"
    assert payment["allow_future_usage"] is True
    assert payment["amounts"]["total_authorized"] == 0


async def test_another_entity_is_forbidden(api: Api) -> None:
    reply = await api.call("POST", "/client-sessions", _body(api, entity_id="someone-else"))
    assert reply.status == 403 and reply.body["errors"][0]["pointer"] == "/entity_id"


async def test_a_body_that_is_not_a_json_object(api: Api) -> None:
    for data in (b"{not json", b"[1, 2]"):
        reply = await api.call(
            "POST", "/client-sessions", data=data, headers={"Content-Type": "application/json"}
        )
        assert reply.status == 400 and reply.content_type == "application/problem+json"


async def test_get_and_unknown(api: Api) -> None:
    session = await api.session()
    again = await api.call("GET", f"/client-sessions/{session['id']}")
    assert again.status == 200 and again.body == session
    unknown = await api.call("GET", "/client-sessions/00000000-0000-0000-0000-000000000000")
    assert unknown.status == 404 and unknown.body["type"] == "urn:eu.purse:not-found"


async def test_abort_then_abort_again(api: Api) -> None:
    session = await api.session()
    aborted = await api.call("POST", f"/client-sessions/{session['id']}/abort")
    assert aborted.status == 200 and aborted.body["status"] == "ABORTED_BY_MERCHANT"
    again = await api.call("POST", f"/client-sessions/{session['id']}/abort")
    assert again.status == 409 and "ABORTED_BY_MERCHANT" in again.body["detail"]
    with pytest.raises(ValueError, match="ABORTED_BY_MERCHANT"):
        await api.sb.checkout(session["id"])


async def test_abort_a_submitted_session_is_a_conflict(api: Api) -> None:
    session = await api.session()
    await api.sb.checkout(session["id"])
    reply = await api.call("POST", f"/client-sessions/{session['id']}/abort")
    assert reply.status == 409 and reply.content_type == "application/problem+json"
    assert "SUBMITTED" in reply.body["detail"]


async def test_sessions_expire(api: Api) -> None:
    session = await api.session()
    api.sb.advance_clock(1799)
    assert (await api.call("GET", f"/client-sessions/{session['id']}")).body["status"] == "CREATED"
    api.sb.advance_clock(2)
    assert (await api.call("GET", f"/client-sessions/{session['id']}")).body["status"] == "EXPIRED"
    assert (await api.call("POST", f"/client-sessions/{session['id']}/abort")).status == 409
    with pytest.raises(ValueError, match="EXPIRED"):
        await api.sb.checkout(session["id"])


async def test_session_ttl_is_configurable() -> None:
    async with Sandbox(session_ttl=60) as sb, Api(sb) as api:
        s = await api.session()
        assert _ts(s["expires_at"]) - _ts(s["created_at"]) == pytest.approx(60, abs=0.01)


async def test_submitted_session_carries_payment_and_authorization(api: Api) -> None:
    session = await api.session()
    await api.sb.checkout(session["id"], card=MagicCards.SOFT_DECLINE_CASCADE)
    reply = await api.call("GET", f"/client-sessions/{session['id']}")
    s = reply.body
    assert s["status"] == "SUBMITTED" and UUID.match(s["payment_id"])
    payment = await api.payment(s["payment_id"])
    assert s["authorization"] == payment["authorization"]
    assert s["authorization"]["status"] == "AUTHORIZED"
    assert [tx["status"] for tx in s["authorization"]["partner_transactions"]] == [
        "REFUSED",
        "AUTHORIZED",
    ]
    with pytest.raises(ValueError, match="SUBMITTED"):
        await api.sb.checkout(session["id"])


async def test_checkout_of_an_unknown_session_or_a_bad_card(api: Api) -> None:
    with pytest.raises(ValueError, match="no client session"):
        await api.sb.checkout("nope")
    session = await api.session()
    with pytest.raises(ValueError, match="digits"):
        await api.sb.checkout(session["id"], card="1234")
    with pytest.raises(ValueError, match="MM/YY"):
        await api.sb.checkout(session["id"], expiry="2030-12")
    # Nothing happened: the session can still be paid.
    assert api.sb.session(session["id"])["status"] == "CREATED"
    await api.sb.checkout(session["id"])
