"""Decoding that never misleads (issue 14), on both faces: DECLINED is a known refusal; a capture
answered with a Payment gives the operation made, never one made up from the payment; abort takes
a 303 without following it; `to_dict` gives back what Purse sent; request objects given as dicts
are checked against their model.

The sandbox produces what it can (a refused payment rewritten as DECLINED through its fault
injection, a capture answered with its own payment JSON, a 303 to a browser's Accept);
aioresponses the answers it cannot (operations carrying their idempotency key).
"""

from __future__ import annotations

import asyncio
import copy
import json
import re
import types
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import attrs
import pytest
from aioresponses import aioresponses
from hypothesis import given
from hypothesis import strategies as st

import purse_async as pa
import purse_sync
from purse_async._authorization_retry import decide
from purse_async._converter import structure
from purse_async.models import AuthorizationStatus, ClientSessionStatus, Order, Payment
from purse_async.resources._base import check_list, check_object
from purse_async.testing import MagicCards, Sandbox, ThreadedSandbox
from tests.test_decode_properties import MODELS, deterministic, payloads, seed_variants

SEED: dict[str, Any] = json.loads(
    (Path(__file__).parent / "data" / "seed_get_payment.json").read_text()
)
RETURN = "https://shop.example/back"
BASE = "http://purse.test"
TOKEN = {"access_token": "t-1", "token_type": "Bearer", "expires_in": 3600}
PAYMENT_URL = f"{BASE}/payment/v2/payments/pay-1"
CAPTURES_URL = PAYMENT_URL + "/captures"
SESSION_URL = f"{BASE}/payment/v2/client-sessions/cs-1"
NOW = datetime(2025, 4, 9, 13, 0, tzinfo=timezone.utc)


# -- faces -----------------------------------------------------------------------------------


@pytest.fixture
async def mocked_async(mocked: aioresponses) -> AsyncIterator[pa.AsyncPurse]:
    mocked.post(f"{BASE}/oauth/token", payload=TOKEN, repeat=True)
    async with pa.AsyncPurse(
        client_id="c", client_secret="s", api_key="k", base_url=BASE, allow_insecure_http=True
    ) as purse:
        yield purse


@pytest.fixture
def mocked_sync(mocked: aioresponses) -> Iterator[purse_sync.Purse]:
    mocked.post(f"{BASE}/oauth/token", payload=TOKEN, repeat=True)
    with purse_sync.Purse(
        client_id="c", client_secret="s", api_key="k", base_url=BASE, allow_insecure_http=True
    ) as purse:
        yield purse


async def call(purse: pa.AsyncPurse | purse_sync.Purse, method: str, *args: Any, **kw: Any) -> Any:
    """`purse.<resource>.<method>(...)` on either face (the blocking one off the loop)."""
    resource, name = method.split(".")
    fn = getattr(getattr(purse, resource), name)
    if isinstance(purse, pa.AsyncPurse):
        return await fn(*args, **kw)
    return await asyncio.to_thread(fn, *args, **kw)


def sent_to(mocked: aioresponses, method: str, url: str) -> int:
    return sum(
        len(calls) for (m, u), calls in mocked.requests.items() if m == method and str(u) == url
    )


async def refused_payment(purse: pa.AsyncPurse, sandbox: Sandbox) -> Payment:
    session = await purse.client_sessions.create(
        amount=12000,
        currency="EUR",
        shopper_redirection_url=RETURN,
        order={"reference": "o-declined", "net_amount": 12000},
    )
    url = await sandbox.checkout(session.id, card=MagicCards.REFUSED)
    redirect = await purse.redirections.verify(url)
    assert redirect.payment_id is not None
    return await purse.payments.retrieve(redirect.payment_id)


def refused_payment_sync(purse: purse_sync.Purse, box: ThreadedSandbox) -> Payment:
    session = purse.client_sessions.create(
        amount=12000,
        currency="EUR",
        shopper_redirection_url=RETURN,
        order={"reference": "o-declined", "net_amount": 12000},
    )
    url = box.checkout(session.id, card=MagicCards.REFUSED)
    redirect = purse.redirections.verify(url)
    assert redirect.payment_id is not None
    return purse.payments.retrieve(redirect.payment_id)


def as_declined(payment_json: dict[str, Any]) -> dict[str, Any]:
    """The same payment as a Purse that says DECLINED (the guide's word) where it said REFUSED."""
    declined: dict[str, Any] = json.loads(
        json.dumps(payment_json).replace('"REFUSED"', '"DECLINED"')
    )
    return declined


# -- 1. DECLINED ----------------------------------------------------------------------------

#: The status lists of the first-payment guide (seed/your-first-payment-with-purse.txt, §4):
#: "authorization_status → Indicates if the payment was AUTHORIZED, DECLINED, PENDING or another
#: status"; "client_session_status → Indicates if the session was SUBMITTED,
#: ABORTED_BY_CUSTOMER or ABORTED_BY_MERCHANT"; the session example's "status": "CREATED".
GUIDE_STATUSES = {
    AuthorizationStatus: ("AUTHORIZED", "DECLINED", "PENDING"),
    ClientSessionStatus: ("CREATED", "SUBMITTED", "ABORTED_BY_CUSTOMER", "ABORTED_BY_MERCHANT"),
}


@pytest.mark.parametrize("enum", list(GUIDE_STATUSES), ids=lambda e: e.__name__)
def test_every_status_the_guide_lists_is_a_known_member(enum: type[pa.PurseEnum]) -> None:
    for value in GUIDE_STATUSES[enum]:
        member = enum(value)
        assert member.is_known, value
        assert member is getattr(enum, value)


def test_declined_decodes_as_a_known_refusal_like_refused() -> None:
    declined = structure(as_declined(refused_json()), Payment)
    refused = structure(refused_json(), Payment)
    assert declined.authorization is not None and refused.authorization is not None
    assert declined.authorization.status is AuthorizationStatus.DECLINED
    assert declined.authorization.status.is_known and declined.authorization.status.is_refusal
    assert AuthorizationStatus.REFUSED.is_refusal and not AuthorizationStatus.ERROR.is_refusal
    (tx,) = declined.authorization.partner_transactions
    assert tx.is_failed and not tx.is_authorized
    assert declined.authorization.failed_attempts == (tx,)
    # explain() tells the same story, with the status Purse sent.
    assert declined.explain() == refused.explain().replace("REFUSED", "DECLINED")
    assert "nothing authorized (1 failed attempt)" in declined.explain()
    # Retry decisions and attempt records treat them alike.
    for initiator in ("CIT", "MIT"):
        a = decide(declined, initiator=initiator, now=NOW, eligible_partners=["adyen"])
        b = decide(refused, initiator=initiator, now=NOW, eligible_partners=["adyen"])
        assert (a.action, a.decline, a.partner, a.attempt) == (
            b.action,
            b.decline,
            b.partner,
            b.attempt,
        ), initiator
        assert "unknown authorization status" not in a.reason
    policy = pa.AuthorizationRetry()
    ra = pa.AttemptRecord.from_payment(declined, attempt=1, at=NOW, policy=policy)
    rb = pa.AttemptRecord.from_payment(refused, attempt=1, at=NOW, policy=policy)
    assert (ra.decline, ra.partners) == (rb.decline, rb.partners)
    assert ra.status == "DECLINED"


def refused_json() -> dict[str, Any]:
    data = copy.deepcopy(SEED)
    data["authorization"]["status"] = "REFUSED"
    for tx in data["authorization"]["partner_transactions"]:
        tx.update(status="REFUSED", partner_status="51", partner_status_description="Refused")
    return data


async def test_declined_from_the_sandbox_async(
    purse_client: pa.AsyncPurse, purse_sandbox: Sandbox
) -> None:
    refused = await refused_payment(purse_client, purse_sandbox)
    body = as_declined(purse_sandbox.payment(refused.id))
    purse_sandbox.faults.fail_next(status=200, path=f"/payments/{refused.id}", body=body, n=2)
    payment = await purse_client.payments.retrieve(refused.id)
    assert payment.authorization is not None
    assert payment.authorization.status is AuthorizationStatus.DECLINED
    assert payment.authorization.failed_attempts
    # A final status: no waiting on it; a refusal: the shopper may try another card.
    final = await purse_client.payments.wait_for_authorization(refused.id, deadline=5)
    assert final.authorization is not None and final.authorization.status is not None
    assert final.authorization.status.is_refusal
    # The same decision as for the REFUSED payment it was (the sandbox's card: a hard decline).
    before = await purse_client.payments.retry_decision(refused.id, initiator="MIT")
    purse_sandbox.faults.fail_next(status=200, path=f"/payments/{refused.id}", body=body)
    decision = await purse_client.payments.retry_decision(refused.id, initiator="MIT")
    assert (decision.action, decision.decline) == (before.action, before.decline)
    assert decision.decline is pa.DeclineKind.HARD and "DECLINED '05'" in decision.reason


def test_declined_from_the_sandbox_sync(threaded_sandbox: ThreadedSandbox) -> None:
    with purse_sync.Purse(**threaded_sandbox.sandbox.client_kwargs()) as purse:
        refused = refused_payment_sync(purse, threaded_sandbox)
        body = as_declined(threaded_sandbox.sandbox.payment(refused.id))
        faults = threaded_sandbox.sandbox.faults
        faults.fail_next(status=200, path=f"/payments/{refused.id}", body=body, n=2)
        payment = purse.payments.retrieve(refused.id)
        assert payment.authorization is not None
        assert payment.authorization.status is AuthorizationStatus.DECLINED
        decision = purse.payments.retry_decision(refused.id, initiator="CIT")
        before = purse.payments.retry_decision(refused.id, initiator="CIT")  # REFUSED again
        assert (decision.action, decision.decline) == (before.action, before.decline)
        assert "DECLINED" in decision.reason and "REFUSED" in before.reason


# -- 2. a capture answered with a Payment ------------------------------------------------------


def operation(op_id: str, amount: int, created_at: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": op_id,
        "status": "SUCCESS",
        "amount": amount,
        "created_at": created_at,
        "partner_transactions": [],
        **extra,
    }


def payment_answer(captures: list[dict[str, Any]]) -> dict[str, Any]:
    data = copy.deepcopy(SEED)
    data["id"] = "pay-1"
    data["captures"] = captures
    return data


FACES = ["async", "sync"]


@pytest.fixture(params=FACES)
def face(request: pytest.FixtureRequest) -> Any:
    name = "mocked_async" if request.param == "async" else "mocked_sync"
    return request.getfixturevalue(name)


async def test_payment_answer_gives_the_operation_carrying_this_calls_key(
    mocked: aioresponses, face: Any
) -> None:
    answer = payment_answer(
        [
            operation("cap-other", 3000, "2025-04-09T12:55:00Z", idempotency_key="k-other"),
            operation("cap-mine", 3000, "2025-04-09T12:54:00Z", idempotency_key="k-mine"),
        ]
    )
    mocked.post(CAPTURES_URL, status=201, payload=answer)
    op = await call(face, "payments.capture", "pay-1", amount=3000, idempotency_key="k-mine")
    # The one made by this call, though not the newest; never the payment's id and amount.
    assert (op.id, op.amount, op.idempotency_key) == ("cap-mine", 3000, "k-mine")
    assert op.id != answer["id"]


@pytest.mark.parametrize("amount", [3000, None], ids=["amount", "all-available"])
async def test_payment_answer_with_a_single_keyless_operation_gives_it(
    mocked: aioresponses, face: Any, amount: int | None
) -> None:
    mocked.post(
        CAPTURES_URL,
        status=201,
        payload=payment_answer([operation("cap-1", 3000, "2025-04-09T12:53:00Z")]),
    )
    op = await call(face, "payments.capture", "pay-1", amount=amount, idempotency_key="k-1")
    assert (op.id, op.amount, op.idempotency_key, op.replayed) == ("cap-1", 3000, "k-1", False)


async def test_payment_answer_with_several_keyless_operations_is_a_keyed_decode_error(
    mocked: aioresponses, face: Any
) -> None:
    # Once the newest for the amount (cap-3) was returned: an earlier capture made under another
    # key could be it. Which one this call made cannot be told: say so, never guess.
    answer = payment_answer(
        [
            operation("cap-1", 3000, "2025-04-09T12:53:00Z"),
            operation("cap-3", 3000, "2025-04-09T12:56:00Z"),
            operation("cap-2", 5000, "2025-04-09T12:57:00Z"),
        ]
    )
    mocked.post(CAPTURES_URL, status=201, payload=answer)
    with pytest.raises(pa.DecodeError) as info:
        await call(face, "payments.capture", "pay-1", amount=3000, idempotency_key="k-1")
    err = info.value
    assert err.idempotency_key == "k-1" and err.may_have_been_applied is True
    assert err.path == "$.captures" and err.body == answer
    assert "3 captures and none carries an idempotency key" in str(err)
    assert "retry with the same idempotency key (k-1)" in str(err)


@pytest.mark.parametrize(
    ("captures", "why"),
    [
        ([], "it holds no captures"),
        ([operation("cap-1", 5000, "2025-04-09T12:53:00Z")], "for amount 5000, not 3000"),
        (
            [operation("c1", 3000, "2025-04-09T12:53:00Z", idempotency_key="someone-else")],
            "0 operations carry the key",
        ),
        (
            [
                operation("a", 3000, "2025-04-09T12:53:00Z"),
                operation("b", 3000, "2025-04-09T12:53:00Z"),
            ],
            "2 captures and none carries",
        ),
    ],
    ids=["no-capture", "other-amount", "other-key", "two-alike"],
)
async def test_payment_answer_with_no_identifiable_operation_is_a_keyed_decode_error(
    mocked: aioresponses, face: Any, captures: list[dict[str, Any]], why: str
) -> None:
    mocked.post(CAPTURES_URL, status=201, payload=payment_answer(captures))
    with pytest.raises(pa.DecodeError) as info:
        await call(face, "payments.capture", "pay-1", amount=3000, idempotency_key="k-9")
    err = info.value
    assert err.idempotency_key == "k-9" and err.may_have_been_applied is True
    assert err.path == "$.captures" and why in str(err)
    assert "payment pay-1, not an operation" in str(err)


async def test_an_operation_answer_is_still_read_as_it_is(mocked: aioresponses, face: Any) -> None:
    mocked.post(
        f"{PAYMENT_URL}/refunds",
        status=201,
        payload=operation("ref-1", 700, "2025-04-09T13:00:00Z"),
    )
    op = await call(face, "payments.refund", "pay-1", amount=700, idempotency_key="k-r")
    assert (op.id, op.amount, op.idempotency_key) == ("ref-1", 700, "k-r")


async def test_payment_answer_from_the_sandbox_async(
    purse_client: pa.AsyncPurse, purse_sandbox: Sandbox
) -> None:
    session = await purse_client.client_sessions.create(
        amount=12000, currency="EUR", shopper_redirection_url=RETURN, order={"reference": "o-2"}
    )
    url = await purse_sandbox.checkout(session.id, card=MagicCards.AUTHORIZED)
    payment_id = (await purse_client.redirections.verify(url)).payment_id
    assert payment_id is not None
    first = await purse_client.payments.capture(payment_id, amount=4000, idempotency_key="k-a")
    # Purse answering the next capture with the payment it holds (the capture made in it).
    body = purse_sandbox.payment(payment_id)
    purse_sandbox.faults.fail_next(status=201, path=f"{payment_id}/captures", body=body)
    op = await purse_client.payments.capture(payment_id, amount=4000, idempotency_key="k-a")
    assert (op.id, op.amount, op.status) == (first.id, 4000, pa.OperationStatus.SUCCESS)
    assert op.partner_transactions and op.id != payment_id
    purse_sandbox.faults.fail_next(status=201, path=f"{payment_id}/voids", body=body)
    with pytest.raises(pa.DecodeError) as info:  # no void in it
        await purse_client.payments.void(payment_id, idempotency_key="k-v")
    assert info.value.idempotency_key == "k-v" and info.value.may_have_been_applied is True


def test_payment_answer_from_the_sandbox_sync(threaded_sandbox: ThreadedSandbox) -> None:
    box = threaded_sandbox
    with purse_sync.Purse(**box.sandbox.client_kwargs()) as purse:
        session = purse.client_sessions.create(
            amount=12000, currency="EUR", shopper_redirection_url=RETURN, order={"reference": "o-3"}
        )
        payment_id = purse.redirections.verify(box.checkout(session.id)).payment_id
        assert payment_id is not None
        first = purse.payments.capture(payment_id, amount=4000, idempotency_key="k-s")
        body = box.sandbox.payment(payment_id)
        box.sandbox.faults.fail_next(status=201, path=f"{payment_id}/captures", body=body)
        op = purse.payments.capture(payment_id, amount=4000, idempotency_key="k-s")
        assert (op.id, op.amount, op.idempotency_key) == (first.id, 4000, "k-s")


async def test_two_alike_captures_in_a_payment_answer_are_not_guessed_async(
    purse_client: pa.AsyncPurse, purse_sandbox: Sandbox
) -> None:
    session = await purse_client.client_sessions.create(
        amount=12000, currency="EUR", shopper_redirection_url=RETURN, order={"reference": "o-6"}
    )
    url = await purse_sandbox.checkout(session.id, card=MagicCards.AUTHORIZED)
    payment_id = (await purse_client.redirections.verify(url)).payment_id
    assert payment_id is not None
    path = f"{payment_id}/captures"
    first = await purse_client.payments.capture(payment_id, amount=4000, idempotency_key="k-a")
    # The k-b capture is applied, its answer lost; the next attempt is answered with the
    # payment, which now holds two 4000 captures and no keys.
    purse_sandbox.faults.drop_connection(when="after", path=path)
    with pytest.raises(pa.APIConnectionError):
        await purse_client.payments.capture(
            payment_id, amount=4000, idempotency_key="k-b", max_retries=0
        )
    body = purse_sandbox.payment(payment_id)
    second = body["captures"][1]["id"]
    purse_sandbox.faults.fail_next(status=201, path=path, body=body)
    with pytest.raises(pa.DecodeError) as info:  # never the k-a capture as if k-b made it
        await purse_client.payments.capture(payment_id, amount=4000, idempotency_key="k-b")
    err = info.value
    assert (err.idempotency_key, err.may_have_been_applied, err.path) == ("k-b", True, "$.captures")
    # Retrying with the key, as the error says: Purse's replay names the k-b capture.
    assert err.idempotency_key is not None
    op = await purse_client.payments.capture(
        payment_id, amount=4000, idempotency_key=err.idempotency_key
    )
    assert (op.id, op.idempotency_key, op.replayed) == (second, "k-b", True)
    assert op.id != first.id and len(purse_sandbox.payment(payment_id)["captures"]) == 2


def test_two_alike_captures_in_a_payment_answer_are_not_guessed_sync(
    threaded_sandbox: ThreadedSandbox,
) -> None:
    box = threaded_sandbox
    with purse_sync.Purse(**box.sandbox.client_kwargs()) as purse:
        session = purse.client_sessions.create(
            amount=12000, currency="EUR", shopper_redirection_url=RETURN, order={"reference": "o-7"}
        )
        payment_id = purse.redirections.verify(box.checkout(session.id)).payment_id
        assert payment_id is not None
        path = f"{payment_id}/captures"
        first = purse.payments.capture(payment_id, amount=4000, idempotency_key="k-a")
        box.sandbox.faults.drop_connection(when="after", path=path)
        with pytest.raises(pa.APIConnectionError):
            purse.payments.capture(payment_id, amount=4000, idempotency_key="k-b", max_retries=0)
        body = box.sandbox.payment(payment_id)
        second = body["captures"][1]["id"]
        box.sandbox.faults.fail_next(status=201, path=path, body=body)
        with pytest.raises(pa.DecodeError) as info:
            purse.payments.capture(payment_id, amount=4000, idempotency_key="k-b")
        assert (info.value.idempotency_key, info.value.may_have_been_applied) == ("k-b", True)
        op = purse.payments.capture(payment_id, amount=4000, idempotency_key="k-b")
        assert (op.id, op.idempotency_key, op.replayed) == (second, "k-b", True)
        assert op.id != first.id


# -- 3. abort answered 303 ---------------------------------------------------------------------


def session_json(status: str) -> dict[str, Any]:
    return {"id": "cs-1", "status": status, "amount": 12000, "currency": "EUR"}


async def test_abort_takes_a_303_as_success_without_following_it(
    mocked: aioresponses, face: Any
) -> None:
    mocked.post(
        f"{SESSION_URL}/abort",
        status=303,
        headers={"Location": RETURN},
        body="<html>See other</html>",
    )
    mocked.get(SESSION_URL, payload=session_json("ABORTED_BY_MERCHANT"))
    session = await call(face, "client_sessions.abort", "cs-1")
    assert session.status is ClientSessionStatus.ABORTED_BY_MERCHANT
    assert sent_to(mocked, "POST", f"{SESSION_URL}/abort") == 1  # not retried either
    assert sent_to(mocked, "GET", RETURN) == 0  # the redirect is not followed
    assert all(str(url).startswith(BASE) for _, url in mocked.requests)


async def test_an_unreadable_abort_answer_keeps_the_key_and_says_applied(
    mocked: aioresponses, face: Any
) -> None:
    mocked.post(f"{SESSION_URL}/abort", payload={"id": "cs-1", "amount": "a lot"})
    with pytest.raises(pa.DecodeError) as info:
        await call(face, "client_sessions.abort", "cs-1", idempotency_key="ab-2")
    assert (info.value.idempotency_key, info.value.may_have_been_applied) == ("ab-2", True)


async def test_an_unreadable_eligible_solutions_answer_carries_its_generated_key(
    mocked: aioresponses, face: Any
) -> None:
    mocked.post(f"{BASE}/payment/v2/eligible-solutions", payload={"eligible_solutions": "none"})
    with pytest.raises(pa.DecodeError) as info:
        await call(
            face,
            "eligible_solutions.list",
            amount=1000,
            currency="EUR",
            order={"reference": "o-9"},
            entity_id="e-1",
        )
    assert info.value.idempotency_key  # the key the SDK generated and sent


async def test_a_raw_abort_answered_303_reports_the_303_with_the_session_read_back(
    mocked: aioresponses, face: Any
) -> None:
    mocked.post(
        f"{SESSION_URL}/abort",
        status=303,
        headers={"Location": RETURN, "x-request-id": "req-abort"},
        body="<html>See other</html>",
    )
    mocked.get(
        SESSION_URL,
        payload=session_json("ABORTED_BY_MERCHANT"),
        headers={"x-request-id": "req-get"},
    )
    raw_abort = face.client_sessions.with_raw_response.abort
    kw = {"idempotency_key": "k-ab"}
    if isinstance(face, pa.AsyncPurse):
        raw = await raw_abort("cs-1", **kw)
    else:
        raw = await asyncio.to_thread(raw_abort, "cs-1", **kw)
    assert raw.parsed.status is ClientSessionStatus.ABORTED_BY_MERCHANT  # read back by the GET
    # ...but the response is the abort's own: its 303, headers and request id.
    assert (raw.status, raw.method, raw.request_id) == (303, "POST", "req-abort")
    assert raw.url == f"{SESSION_URL}/abort" and raw.headers["location"] == RETURN
    assert raw.idempotency_key == "k-ab" and raw.attempts == 2  # the read-back counts


@pytest.mark.parametrize("key", ["k-ab", None], ids=["keyed", "unkeyed"])
async def test_a_failed_read_back_after_a_303_says_the_abort_was_applied(
    mocked: aioresponses, face: Any, key: str | None
) -> None:
    mocked.post(f"{SESSION_URL}/abort", status=303, headers={"Location": RETURN})
    mocked.get(SESSION_URL, status=404, payload={"title": "Not Found", "status": 404})
    with pytest.raises(pa.NotFoundError) as info:
        await call(face, "client_sessions.abort", "cs-1", idempotency_key=key)
    # Only reading the session back failed: the abort itself was applied (its 303).
    assert info.value.idempotency_key == key
    assert info.value.may_have_been_applied is True
    assert sent_to(mocked, "POST", f"{SESSION_URL}/abort") == 1


async def test_a_303_elsewhere_is_still_an_error(mocked: aioresponses, face: Any) -> None:
    mocked.get(PAYMENT_URL, status=303, headers={"Location": RETURN})
    with pytest.raises(pa.APIStatusError) as info:
        await call(face, "payments.retrieve", "pay-1")
    assert info.value.status == 303
    assert sent_to(mocked, "GET", RETURN) == 0


async def test_abort_answered_303_by_the_sandbox_async(
    purse_client: pa.AsyncPurse, purse_sandbox: Sandbox
) -> None:
    session = await purse_client.client_sessions.create(
        amount=1000, currency="EUR", shopper_redirection_url=RETURN, order={"reference": "o-4"}
    )
    raw = await purse_client.client_sessions.with_raw_response.abort(
        session.id, extra_headers={"Accept": "text/html"}
    )
    assert raw.parsed.status is ClientSessionStatus.ABORTED_BY_MERCHANT
    assert (raw.status, raw.method, raw.headers["Location"]) == (303, "POST", RETURN)
    stats = purse_sandbox.stats.requests_by_path
    assert stats[f"POST /payment/v2/client-sessions/{session.id}/abort"] == 1


def test_abort_answered_303_by_the_sandbox_sync(threaded_sandbox: ThreadedSandbox) -> None:
    with purse_sync.Purse(**threaded_sandbox.sandbox.client_kwargs()) as purse:
        session = purse.client_sessions.create(
            amount=1000, currency="EUR", shopper_redirection_url=RETURN, order={"reference": "o-5"}
        )
        aborted = purse.client_sessions.abort(session.id, extra_headers={"Accept": "text/html"})
        assert aborted.status is ClientSessionStatus.ABORTED_BY_MERCHANT
        other = purse.client_sessions.create(
            amount=1000, currency="EUR", shopper_redirection_url=RETURN, order={"reference": "o-8"}
        )
        raw = purse.client_sessions.with_raw_response.abort(
            other.id, extra_headers={"Accept": "text/html"}
        )
        assert raw.parsed.status is ClientSessionStatus.ABORTED_BY_MERCHANT
        assert (raw.status, raw.method, raw.headers["Location"]) == (303, "POST", RETURN)


# -- 4. to_dict ------------------------------------------------------------------------------


def test_to_dict_gives_back_the_seed_payment_as_sent() -> None:
    data = copy.deepcopy(SEED)
    payment = structure(data, Payment)
    out = pa.to_dict(payment)
    assert json.dumps(out) == json.dumps(SEED)  # members, order, [] and timestamp text
    assert out["captures"] == [] and out["created_at"] == SEED["created_at"]
    assert purse_sync.to_dict is pa.to_dict and "to_dict" in pa.__all__


def test_to_dict_keeps_nulls_empty_lists_unknown_members_and_timestamp_text() -> None:
    body: dict[str, Any] = {
        "zz_first": {"kept": [1, None]},
        "id": "pay-9",
        "created_at": "2025-04-09T12:52:14.28Z",
        "customer": None,
        "captures": [],
        "amount": 12000,
        "authorization": {
            "status": "SOMETHING_NEW",
            "updated_at": "2025-04-09 12:52:17+0200",
            "partner_transactions": [],
            "note": None,
        },
        "order": {"item_lines": [{"tax_rate": 20, "name": "Bag", "extra_thing": {}}]},
        "split": [],
    }
    payment = structure(copy.deepcopy(body), Payment)
    assert payment.customer is None and payment.captures == ()
    out = pa.to_dict(payment)
    assert json.dumps(out) == json.dumps(body)
    # A copy: changing it changes nothing in the model.
    out["zz_first"]["kept"].append(2)
    assert payment.extra["zz_first"] == {"kept": [1, None]}


def test_to_dict_of_a_changed_or_built_model() -> None:
    payment = structure(copy.deepcopy(SEED), Payment)
    later = attrs.evolve(payment, amount=9000, customer=None, version=8)
    out = pa.to_dict(later)
    assert out["amount"] == 9000 and "customer" not in out and out["version"] == 8
    assert list(out) == [k for k in SEED if k != "customer"]  # Purse's order, kept
    assert out["created_at"] == SEED["created_at"]
    built = Payment(
        id="p",
        amount=100,
        created_at=datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
        order=Order(reference="r", extra={"channel": "web"}),
        extra={"brand_new": [1]},
    )
    assert pa.to_dict(built) == {
        "id": "p",
        "created_at": "2025-01-02T03:04:05Z",
        "order": {"reference": "r", "channel": "web"},
        "amount": 100,
        "brand_new": [1],
    }
    assert structure(pa.to_dict(built), Payment) == built
    with pytest.raises(pa.ValidationError) as info:
        pa.to_dict({"id": "p"})
    assert info.value.field == "model"


def test_to_dict_leaves_out_what_only_the_sdk_sets() -> None:
    op = structure(operation("c", 1, "2025-04-09T12:53:00.1+01:00"), pa.Operation)
    keyed = attrs.evolve(op, idempotency_key="k", replayed=True)
    assert pa.to_dict(keyed) == operation("c", 1, "2025-04-09T12:53:00.1+01:00")


def _without_sources(model: Any) -> Any:
    """The model as if built by hand: no JSON kept behind it, anywhere."""
    changes: dict[str, Any] = {}
    for f in attrs.fields(type(model)):
        value = getattr(model, f.name)
        if f.name == "extra":
            changes["extra"] = dict(value)
        elif attrs.has(type(value)):
            changes[f.name] = _without_sources(value)
        elif type(value) is tuple and value and attrs.has(type(value[0])):
            changes[f.name] = tuple(_without_sources(v) for v in value)
    return attrs.evolve(model, **changes)


@deterministic(150)
@given(st.one_of(seed_variants(), payloads(Payment)))
def test_decode_then_to_dict_gives_the_body_back(body: dict[str, Any]) -> None:
    expected = json.dumps(body)
    payment = structure(copy.deepcopy(body), Payment)
    assert json.dumps(pa.to_dict(payment)) == expected


@deterministic(150)
@given(st.sampled_from(MODELS).flatmap(lambda cls: st.tuples(st.just(cls), payloads(cls))))
def test_structure_of_to_dict_is_the_model(case: tuple[type[Any], dict[str, Any]]) -> None:
    cls, body = case
    model = structure(copy.deepcopy(body), cls)
    for m in (model, _without_sources(model)):
        again = structure(pa.to_dict(m), cls)
        assert again == m
        assert json.dumps(pa.to_dict(again)) == json.dumps(pa.to_dict(m))
        assert pa.from_dict(pa.to_dict(m), cls) == m


def test_from_dict_is_the_way_back_from_to_dict() -> None:
    payment = structure(copy.deepcopy(SEED), Payment)
    data = pa.to_dict(payment)
    back = pa.from_dict(data, Payment)
    assert back == payment and type(back) is Payment
    assert json.dumps(pa.to_dict(back)) == json.dumps(SEED)  # still as Purse sent it
    # Its own copy: changing the data afterwards changes nothing in the model.
    data["order"]["reference"] = "changed"
    data["zz_new"] = {"a": [1]}
    assert pa.to_dict(back) == pa.to_dict(payment)
    data_loyalty = {"points": [1]}
    kept = pa.from_dict({**data, "loyalty": data_loyalty}, Payment)
    data_loyalty["points"].append(2)
    assert kept.extra["loyalty"] == {"points": [1]} and kept.order is not None
    assert kept.order.reference == "changed"
    # Any Mapping, any model (a nested one too); unknown members and statuses kept.
    op = pa.from_dict(
        types.MappingProxyType({"id": "c1", "amount": 5, "status": "NEW_ONE", "x": [1]}),
        pa.Operation,
    )
    assert (op.id, op.amount, op.status.is_known, op.extra) == ("c1", 5, False, {"x": [1]})
    assert purse_sync.from_dict is pa.from_dict and "from_dict" in pa.__all__
    assert "from_dict" in purse_sync.__all__


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({"id": "p", "amount": "12000"}, "$.amount"),
        ({"id": "p", "captures": [{"id": "c", "amount": 1.5}]}, "$.captures[0].amount"),
        ({"id": "p", "created_at": "yesterday"}, "$.created_at"),
        ([{"id": "p"}], "$"),
    ],
    ids=["string-amount", "nested", "timestamp", "not-an-object"],
)
def test_from_dict_of_data_that_does_not_fit_is_a_decode_error(data: Any, path: str) -> None:
    with pytest.raises(pa.DecodeError) as info:
        pa.from_dict(data, Payment)
    assert info.value.path == path and "Payment" in str(info.value)


@pytest.mark.parametrize("cls", [dict, int, pa.APIResponse, "Payment"], ids=repr)
def test_from_dict_takes_only_a_model_class(cls: Any) -> None:
    with pytest.raises(pa.ValidationError) as info:
        pa.from_dict({"id": "p"}, cls)
    assert info.value.field == "cls" and info.value.value is cls


async def test_from_dict_round_trips_a_payment_from_the_sandbox_async(
    purse_client: pa.AsyncPurse, purse_sandbox: Sandbox
) -> None:
    session = await purse_client.client_sessions.create(
        amount=3000, currency="EUR", shopper_redirection_url=RETURN, order={"reference": "o-9"}
    )
    url = await purse_sandbox.checkout(session.id, card=MagicCards.AUTHORIZED)
    payment_id = (await purse_client.redirections.verify(url)).payment_id
    assert payment_id is not None
    await purse_client.payments.capture(payment_id, amount=1000)
    payment = await purse_client.payments.retrieve(payment_id)
    kept = json.dumps(pa.to_dict(payment))  # e.g. stored in a database
    assert pa.from_dict(json.loads(kept), Payment) == payment


def test_from_dict_round_trips_a_payment_from_the_sandbox_sync(
    threaded_sandbox: ThreadedSandbox,
) -> None:
    box = threaded_sandbox
    with purse_sync.Purse(**box.sandbox.client_kwargs()) as purse:
        session = purse.client_sessions.create(
            amount=3000, currency="EUR", shopper_redirection_url=RETURN, order={"reference": "o-10"}
        )
        payment_id = purse.redirections.verify(box.checkout(session.id)).payment_id
        assert payment_id is not None
        purse.payments.capture(payment_id, amount=1000)
        payment = purse.payments.retrieve(payment_id)
        kept = json.dumps(purse_sync.to_dict(payment))
        assert purse_sync.from_dict(json.loads(kept), purse_sync.Payment) == payment


# -- 5. request objects checked against their model --------------------------------------------


@pytest.mark.parametrize(
    ("order", "field", "hint"),
    [
        ({"reference": "o", "net_amout": 100}, "order.net_amout", "did you mean 'net_amount'?"),
        (
            {"shipments": [{"item_lines": [{"name": "a"}, {"unit_gros_price": 1}]}]},
            "order.shipments[0].item_lines[1].unit_gros_price",
            "did you mean 'unit_gross_price'?",
        ),
        (
            {"billing_address": {"adress_lines": ["1 rue"]}},
            "order.billing_address.adress_lines",
            "did you mean 'address_lines'?",
        ),
        ({"net_amount": "1000"}, "order.net_amount", "must be an int in minor units"),
        ({"item_lines": [{"quantity": 1.5}]}, "order.item_lines[0].quantity", "must be an int"),
        ({"item_lines": {"name": "a"}}, "order.item_lines", "must be a list"),
        ({"billing_address": "Paris"}, "order.billing_address", "must be a mapping or an Address"),
        ({"extra": {"net_amount": 1}}, "order.extra", "repeats members Order knows"),
        ({"extra": ["x"]}, "order.extra", "must be a mapping"),
    ],
)
async def test_a_misspelt_or_mistyped_member_is_refused_before_sending(
    purse_client: pa.AsyncPurse,
    purse_sandbox: Sandbox,
    order: dict[str, Any],
    field: str,
    hint: str,
) -> None:
    with pytest.raises(pa.ValidationError) as info:
        await purse_client.client_sessions.create(
            amount=100, currency="EUR", shopper_redirection_url=RETURN, order=order
        )
    assert info.value.field == field
    assert hint in str(info.value)
    assert info.value.may_have_been_applied is None
    assert purse_sandbox.stats.requests_by_path["POST /payment/v2/client-sessions"] == 0


async def test_every_body_object_is_checked(
    purse_client: pa.AsyncPurse, purse_sandbox: Sandbox
) -> None:
    order = {"reference": "o-6", "net_amount": 100}
    calls: list[tuple[Any, dict[str, Any], str]] = [
        (
            purse_client.client_sessions.create,
            {
                "amount": 100,
                "currency": "EUR",
                "shopper_redirection_url": RETURN,
                "order": order,
                "customer": {"emial": "j@example.com"},
            },
            "customer.emial",
        ),
        (
            purse_client.client_sessions.create,
            {
                "amount": 100,
                "currency": "EUR",
                "shopper_redirection_url": RETURN,
                "order": order,
                "three_ds_authentication_options": {"challenge_indicatr": "X"},
            },
            "three_ds_authentication_options.challenge_indicatr",
        ),
        (
            purse_client.payments.create,
            {
                "amount": 100,
                "currency": "EUR",
                "order": order,
                "split": [{"vault_from_token": "t", "amount": 100}],
            },
            "split[0].vault_from_token",
        ),
        (
            purse_client.payments.create,
            {
                "amount": 100,
                "currency": "EUR",
                "order": order,
                "split": [{"amount": 100}],
                "browser": {"user_agnt": "x"},
            },
            "browser.user_agnt",
        ),
        (
            purse_client.payments.capture,
            {"payment_id": "pay-1", "priorities": [{"partnr": "*"}]},
            "priorities[0].partnr",
        ),
        (
            purse_client.eligible_solutions.list,
            {"amount": 100, "currency": "EUR", "order": {"referense": "x"}},
            "order.referense",
        ),
        (
            purse_client.payments.create,
            {"amount": 100, "currency": "EUR", "split": [{"amount": 100}], "webhook": {"url": 42}},
            "webhook.url",
        ),
    ]
    for method, kwargs, field in calls:
        args = [kwargs.pop("payment_id")] if "payment_id" in kwargs else []
        with pytest.raises(pa.ValidationError) as info:
            await method(*args, **kwargs)
        assert info.value.field == field, field
    assert sum(purse_sandbox.stats.requests_by_path.values()) == 0


async def test_unknown_members_go_through_extra_and_extra_body(
    purse_client: pa.AsyncPurse, purse_sandbox: Sandbox
) -> None:
    session = await purse_client.client_sessions.create(
        amount=12000,
        currency="EUR",
        shopper_redirection_url=RETURN,
        order={
            "reference": "o-7",
            "net_amount": 12000,
            "item_lines": [{"name": "Bag", "extra": {"gift_wrap": True}}],
            "extra": {"channel": "web"},
        },
        extra_body={"metadata": {"unchecked": {"anything": 1}}},
    )
    sent = purse_sandbox.session(session.id)
    assert sent["order"]["channel"] == "web"
    assert sent["order"]["item_lines"][0] == {"name": "Bag", "gift_wrap": True}
    assert session.order is not None and session.order.extra == {"channel": "web"}
    assert session.order.item_lines[0].extra == {"gift_wrap": True}
    # Models are typed already; one of another class is refused.
    again = await purse_client.client_sessions.create(
        amount=12000, currency="EUR", shopper_redirection_url=RETURN, order=session.order
    )
    assert purse_sandbox.session(again.id)["order"]["channel"] == "web"
    with pytest.raises(pa.ValidationError, match="must be a mapping or an Order") as info:
        await purse_client.client_sessions.create(
            amount=100,
            currency="EUR",
            shopper_redirection_url=RETURN,
            order=pa.Customer(),  # type: ignore[arg-type]
        )
    assert info.value.field == "order"


def test_a_misspelt_member_is_refused_on_the_blocking_face(
    threaded_sandbox: ThreadedSandbox,
) -> None:
    with purse_sync.Purse(**threaded_sandbox.sandbox.client_kwargs()) as purse:
        with pytest.raises(
            pa.ValidationError, match=re.escape("did you mean 'net_amount'?")
        ) as info:
            purse.client_sessions.create(
                amount=100,
                currency="EUR",
                shopper_redirection_url=RETURN,
                order={"reference": "o", "net_amout": 100},
            )
        assert info.value.field == "order.net_amout" and info.value.value == 100
        session = purse.client_sessions.create(
            amount=100,
            currency="EUR",
            shopper_redirection_url=RETURN,
            order={"reference": "o", "net_amount": 100, "extra": {"channel": "web"}},
        )
        assert session.order is not None and session.order.extra == {"channel": "web"}
    assert threaded_sandbox.sandbox.stats.requests_by_path["POST /payment/v2/client-sessions"] == 1


def test_check_object_without_a_model_keeps_its_old_behaviour() -> None:
    assert check_object("x", {"anything": 1, "at": None}) == {"anything": 1, "at": None}
    assert check_list("y", [{"z": 1}]) == [{"z": 1}]
    checked = check_object("order", {"reference": "r", "extra": {"x": 1}}, model=Order)
    assert checked == {"reference": "r", "x": 1}
    # A checked body passes again as it is (its `extra` members included).
    assert check_object("order", checked, model=Order) is checked
    later = timedelta(days=1) + datetime(2025, 1, 1)
    body = check_object(
        "order", {"shipments": [{"estimated_delivery_date_time": later}]}, model=Order
    )
    assert body == {"shipments": [{"estimated_delivery_date_time": "2025-01-02T00:00:00"}]}
