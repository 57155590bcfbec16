"""Sandbox idempotency keys on creations: payment and client-session creation replayed as 409
write-conflicts while `deduplicate_creates` holds, created anew when not; `Sandbox.created()`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, Literal

import aiohttp
import pytest

from purse_async.testing import MagicCards, Sandbox, ThreadedSandbox
from tests.test_sandbox_support import RETURN, Api

BROWSER = {"user_agent": "pytest", "accept_header": "text/html", "javascript_enabled": True}
SESSIONS, PAYMENTS = "/client-sessions", "/payments"


@pytest.fixture
async def api(purse_sandbox: Sandbox) -> AsyncIterator[Api]:
    async with Api(purse_sandbox) as client:
        yield client


def session_body(api: Api, reference: str = "ORDER-1", **fields: Any) -> dict[str, Any]:
    return {
        "entity_id": api.sb.credentials.entity_id,
        "amount": 12000,
        "currency": "EUR",
        "shopper_redirection_url": RETURN,
        "order": {"reference": reference, "net_amount": 12000},
        **fields,
    }


def payment_body(api: Api, reference: str = "ADV-1", **fields: Any) -> dict[str, Any]:
    return {
        "entity_id": api.sb.credentials.entity_id,
        "amount": 4999,
        "currency": "EUR",
        "order": {"reference": reference, "net_amount": 4999},
        "shopper_redirection_url": RETURN,
        "split": [{"vault_form_token": "tok_" + MagicCards.AUTHORIZED}],
        "browser": BROWSER,
        **fields,
    }


def body_for(api: Api, path: str, reference: str) -> dict[str, Any]:
    return session_body(api, reference) if path == SESSIONS else payment_body(api, reference)


def kind_of(path: str) -> Literal["payments", "client_sessions"]:
    return "client_sessions" if path == SESSIONS else "payments"


def ids(resources: list[dict[str, Any]]) -> list[str]:
    return [resource["id"] for resource in resources]


# -- deduplicated (the default) ------------------------------------------------------------


async def test_a_replayed_session_key_answers_the_write_conflict(api: Api) -> None:
    key = {"x-idempotency-key": "session-1"}
    first = await api.call("POST", SESSIONS, session_body(api), headers=key)
    assert first.status == 201
    replay = await api.call("POST", SESSIONS, session_body(api), headers=key)
    assert replay.status == 409 and replay.content_type == "application/problem+json"
    assert replay.body == {
        "type": "urn:eu.purse:write-conflict",
        "title": "Idempotency violation",
        "status": 409,
        "instance": "/payment/v2/client-sessions",
        "resource_id": first.body["id"],
    }
    assert ids(api.sb.created("client_sessions", idempotency_key="session-1")) == [first.body["id"]]
    # The session the replay names is the one a GET shows, untouched.
    again = await api.call("GET", f"{SESSIONS}/{first.body['id']}")
    assert again.status == 200 and again.body == first.body


async def test_other_keys_and_no_key_create_new_sessions(api: Api) -> None:
    a = await api.call("POST", SESSIONS, session_body(api), headers={"x-idempotency-key": "a"})
    b = await api.call("POST", SESSIONS, session_body(api), headers={"x-idempotency-key": "b"})
    plain = [await api.call("POST", SESSIONS, session_body(api)) for _ in range(2)]
    assert [r.status for r in (a, b, *plain)] == [201] * 4
    assert len(set(ids([r.body for r in (a, b, *plain)]))) == 4
    assert len(api.sb.created("client_sessions", order_reference="ORDER-1")) == 4


async def test_a_refused_session_request_does_not_burn_the_key(api: Api) -> None:
    key = {"x-idempotency-key": "k"}
    bad = await api.call("POST", SESSIONS, session_body(api, amount="12000"), headers=key)
    assert bad.status == 400
    ok = await api.call("POST", SESSIONS, session_body(api), headers=key)
    assert ok.status == 201
    assert ids(api.sb.created("client_sessions", idempotency_key="k")) == [ok.body["id"]]


async def test_session_keys_and_payment_keys_are_separate(api: Api) -> None:
    key = {"x-idempotency-key": "shared"}
    session = await api.call("POST", SESSIONS, session_body(api), headers=key)
    payment = await api.call("POST", PAYMENTS, payment_body(api), headers=key)
    assert (session.status, payment.status) == (201, 201)


@pytest.mark.parametrize("path", [SESSIONS, PAYMENTS])
async def test_a_keyed_create_whose_answer_was_lost_is_made_once(api: Api, path: str) -> None:
    api.sb.faults.drop_connection(1, when="after", path=path)
    key = {"x-idempotency-key": "lost-answer"}
    with pytest.raises(aiohttp.ClientError):
        await api.call("POST", path, body_for(api, path, "LOST-1"), headers=key)
    (made,) = api.sb.created(kind_of(path), order_reference="LOST-1")
    # The client's retry with the same key learns what the lost attempt created.
    retry = await api.call("POST", path, body_for(api, path, "LOST-1"), headers=key)
    assert retry.status == 409 and retry.body["resource_id"] == made["id"]
    assert ids(api.sb.created(kind_of(path), order_reference="LOST-1")) == [made["id"]]


@pytest.mark.parametrize("path", [SESSIONS, PAYMENTS])
async def test_concurrent_creates_with_one_key_make_one_resource(api: Api, path: str) -> None:
    key = {"x-idempotency-key": "race"}
    await api.token()
    replies = await asyncio.gather(
        *(api.call("POST", path, body_for(api, path, "RACE"), headers=key) for _ in range(5))
    )
    assert sorted(r.status for r in replies) == [201] + [409] * 4
    (made,) = api.sb.created(kind_of(path), idempotency_key="race")
    assert {r.body["resource_id"] for r in replies if r.status == 409} == {made["id"]}


# -- not deduplicated -----------------------------------------------------------------------


@pytest.mark.purse_sandbox(deduplicate_creates=False)
@pytest.mark.parametrize("path", [SESSIONS, PAYMENTS])
async def test_without_deduplication_a_replayed_key_creates_again(api: Api, path: str) -> None:
    assert api.sb.deduplicate_creates is False
    key = {"x-idempotency-key": "same-key"}
    first = await api.call("POST", path, body_for(api, path, "TWICE"), headers=key)
    second = await api.call("POST", path, body_for(api, path, "TWICE"), headers=key)
    assert (first.status, second.status) == (201, 201)
    assert first.body["id"] != second.body["id"]
    made = api.sb.created(kind_of(path), idempotency_key="same-key")
    assert ids(made) == [first.body["id"], second.body["id"]]


@pytest.mark.purse_sandbox(deduplicate_creates=False)
async def test_without_deduplication_a_lost_answer_means_a_second_payment(api: Api) -> None:
    api.sb.faults.drop_connection(1, when="after", path=PAYMENTS)
    key = {"x-idempotency-key": "pay-once"}
    with pytest.raises(aiohttp.ClientError):
        await api.call("POST", PAYMENTS, payment_body(api, "ORDER-9"), headers=key)
    retry = await api.call("POST", PAYMENTS, payment_body(api, "ORDER-9"), headers=key)
    assert retry.status == 201
    # What a blind re-send costs against such a server: the shopper is charged twice.
    made = api.sb.created("payments", order_reference="ORDER-9")
    assert len(made) == 2 and made[1]["id"] == retry.body["id"]
    assert [p["amounts"]["total_authorized"] for p in made] == [4999, 4999]


@pytest.mark.purse_sandbox(deduplicate_creates=False)
async def test_without_deduplication_operations_still_replay(api: Api) -> None:
    payment = (await api.call("POST", PAYMENTS, payment_body(api))).body
    path, key = f"{PAYMENTS}/{payment['id']}/captures", {"x-idempotency-key": "cap"}
    first = await api.call("POST", path, {"amount": 100}, headers=key)
    replay = await api.call("POST", path, {"amount": 100}, headers=key)
    assert first.status == 201
    assert replay.status == 409 and replay.body["resource_id"] == first.body["id"]
    assert [entry.id for entry in api.sb.ledger(payment["id"])] == [first.body["id"]]


async def test_the_switch_can_be_turned_on_a_running_sandbox(api: Api) -> None:
    key = {"x-idempotency-key": "flip"}
    assert api.sb.deduplicate_creates is True
    first = await api.call("POST", PAYMENTS, payment_body(api), headers=key)
    api.sb.deduplicate_creates = False
    second = await api.call("POST", PAYMENTS, payment_body(api), headers=key)
    assert (first.status, second.status) == (201, 201)
    api.sb.deduplicate_creates = True
    # Back on: the key still names what it created first (keys seen while off are forgotten).
    third = await api.call("POST", PAYMENTS, payment_body(api), headers=key)
    assert third.status == 409 and third.body["resource_id"] == first.body["id"]
    assert ids(api.sb.created("payments", idempotency_key="flip")) == [
        first.body["id"],
        second.body["id"],
    ]


async def test_threaded_sandbox_and_constructor_take_the_switch() -> None:
    box = ThreadedSandbox(deduplicate_creates=False)
    try:
        async with Api(box.sandbox) as api:
            key = {"x-idempotency-key": "threaded"}
            replies = [await api.call("POST", SESSIONS, session_body(api), headers=key)]
            replies.append(await api.call("POST", SESSIONS, session_body(api), headers=key))
        assert [r.status for r in replies] == [201, 201]
        assert len(box.sandbox.created("client_sessions", idempotency_key="threaded")) == 2
    finally:
        box.close()


# -- created() ------------------------------------------------------------------------------


async def test_created_filters_by_order_reference_and_key(api: Api) -> None:
    await api.call("POST", PAYMENTS, payment_body(api, "A"), headers={"x-idempotency-key": "ka"})
    await api.call("POST", PAYMENTS, payment_body(api, "B"), headers={"x-idempotency-key": "kb"})
    # A payment made by paying a session counts for its order too (its request had no key).
    session = await api.session(order={"reference": "A", "net_amount": 12000})
    await api.sb.checkout(session["id"])
    by_order = api.sb.created("payments", order_reference="A")
    assert [p["client_session_id"] for p in by_order] == [None, session["id"]]
    assert [p["order_reference"] for p in api.sb.created("payments")] == ["A", "B", "A"]
    assert api.sb.created("payments", idempotency_key="ka", order_reference="B") == []
    (b,) = api.sb.created("payments", idempotency_key="kb")
    assert b == api.sb.payment(b["id"])
    (s,) = api.sb.created("client_sessions", order_reference="A")
    assert s == api.sb.session(session["id"]) and s["status"] == "SUBMITTED"
    assert api.sb.created("client_sessions", order_reference="nothing") == []


async def test_created_returns_copies_and_current_state(api: Api) -> None:
    session = await api.session()
    (copy,) = api.sb.created("client_sessions")
    copy["status"] = "TAMPERED"
    assert api.sb.session(session["id"])["status"] == "CREATED"
    api.sb.advance_clock(3600)
    assert [s["status"] for s in api.sb.created("client_sessions")] == ["EXPIRED"]


async def test_created_rejects_an_unknown_kind(purse_sandbox: Sandbox) -> None:
    with pytest.raises(ValueError, match="client_sessions"):
        purse_sandbox.created("sessions")  # type: ignore[arg-type]
