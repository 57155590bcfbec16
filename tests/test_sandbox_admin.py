"""The sandbox's read-only admin routes (`/_sandbox/...`): counters, ledger and creations for
tests in other processes; loopback peers only; invisible to the counters and the faults. And
one sandbox served by `python -m purse_async sandbox --port N` to several client processes."""

from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any
from unittest import mock

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from aiohttp.web_urldispatcher import UrlMappingMatchInfo

import purse_async as pa
import purse_sync
from purse_async.testing import MagicCards, Sandbox, ThreadedSandbox
from purse_async.testing._admin import SandboxAdmin, _admin_middleware, endpoint_of

ROOT = Path(__file__).resolve().parent.parent


async def _get(sandbox: Sandbox, path: str, **params: str) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{sandbox.base_url}/_sandbox/{path}", params=params) as resp,
    ):
        return resp.status, await resp.json(content_type=None)


async def _paid(purse: pa.AsyncPurse, reference: str, amount: int = 4999) -> pa.Payment:
    return await purse.payments.create(
        amount=amount,
        currency="EUR",
        order={"reference": reference},
        split=[{"vault_form_token": "tok_" + MagicCards.AUTHORIZED, "amount": amount}],
        browser={"user_agent": "pytest"},
    )


async def test_stats_count_tokens_and_requests_but_not_admin_reads(
    purse_sandbox: Sandbox, purse_client: pa.AsyncPurse
) -> None:
    payment = await _paid(purse_client, "A-1")
    await purse_client.payments.retrieve(payment.id)
    status, stats = await _get(purse_sandbox, "stats")
    assert status == 200
    assert stats["token_requests"] == 1
    assert stats["requests_by_path"] == {
        "POST /oauth/token": 1,
        "POST /payment/v2/payments": 1,
        f"GET /payment/v2/payments/{payment.id}": 1,
    }
    assert stats["requests_by_endpoint"] == {
        "POST /oauth/token": 1,
        "POST /payment/v2/payments": 1,
        "GET /payment/v2/payments/{id}": 1,
    }
    assert (stats["requests"], stats["payments"], stats["client_sessions"]) == (3, 1, 0)
    # Reading the counters did not change them (nor the in-process view of them).
    _, again = await _get(purse_sandbox, "stats")
    assert again == stats
    assert sum(purse_sandbox.stats.requests_by_path.values()) == 3


async def test_ledger_and_creations_as_the_sandbox_holds_them(
    purse_sandbox: Sandbox, purse_client: pa.AsyncPurse
) -> None:
    first = await _paid(purse_client, "A-1")
    second = await _paid(purse_client, "A-2")
    capture = await purse_client.payments.capture(first.id, amount=1000, idempotency_key="k-1")
    await purse_client.payments.capture(first.id, amount=1000, idempotency_key="k-1")  # replay

    status, ledger = await _get(purse_sandbox, f"ledger/{first.id}")
    assert status == 200
    assert ledger == {
        "payment_id": first.id,
        "entries": [
            {"kind": "captures", "id": capture.id, "amount": 1000, "idempotency_key": "k-1"}
        ],
    }
    _, everything = await _get(purse_sandbox, "ledger")
    assert everything == {first.id: ledger["entries"], second.id: []}

    _, found = await _get(purse_sandbox, "payments", order_reference="A-2")
    assert [p["id"] for p in found["payments"]] == [second.id]
    _, found = await _get(purse_sandbox, "payments")
    assert [p["id"] for p in found["payments"]] == [first.id, second.id]
    _, payment = await _get(purse_sandbox, f"payments/{first.id}")
    assert payment == purse_sandbox.payment(first.id)

    session = await purse_client.client_sessions.create(
        amount=100,
        currency="EUR",
        order={"reference": "S-1"},
        shopper_redirection_url="https://shop.example/back",
        idempotency_key="sess-1",
    )
    _, sessions = await _get(purse_sandbox, "client-sessions", idempotency_key="sess-1")
    assert [s["id"] for s in sessions["client_sessions"]] == [session.id]


async def test_payment_links_are_listed_and_counted(
    purse_sandbox: Sandbox, purse_client: pa.AsyncPurse
) -> None:
    args: dict[str, Any] = {
        "amount": 2500,
        "currency": "EUR",
        "shopper_redirection_url": "https://shop.example/back",
    }
    first = await purse_client.payment_links.create(
        **args, order={"reference": "L-1"}, idempotency_key="link-1"
    )
    second = await purse_client.payment_links.create(**args, order={"reference": "L-2"})
    await purse_sandbox.pay_payment_link(first.id, card=MagicCards.REFUSED)  # one attempt

    _, found = await _get(purse_sandbox, "payment-links", idempotency_key="link-1")
    assert [link["id"] for link in found["payment_links"]] == [first.id]
    _, found = await _get(purse_sandbox, "payment-links", order_reference="L-2")
    assert found["payment_links"] == [purse_sandbox.payment_link(second.id)]
    _, found = await _get(purse_sandbox, "payment-links")
    assert [link["id"] for link in found["payment_links"]] == [first.id, second.id]
    _, stats = await _get(purse_sandbox, "stats")
    # The attempt made a client session and a payment of its own.
    assert (stats["payment_links"], stats["client_sessions"], stats["payments"]) == (2, 1, 1)


async def test_unknown_ids_answer_404_and_writes_405_as_problems(purse_sandbox: Sandbox) -> None:
    for path in ("ledger/nope", "payments/nope", "nothing-here"):
        status, body = await _get(purse_sandbox, path)
        assert status == 404, path
        assert body["status"] == 404
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{purse_sandbox.base_url}/_sandbox/stats", json={}) as resp,
    ):
        assert resp.status == 405
        assert resp.content_type == "application/problem+json"
    # Nothing above was counted.
    assert sum(purse_sandbox.stats.requests_by_path.values()) == 0


async def test_admin_reads_consume_no_fault_and_wait_for_no_latency(
    purse_sandbox: Sandbox,
) -> None:
    purse_sandbox.faults.fail_next(2, path="/")  # would match any path
    purse_sandbox.faults.latency(5.0, path="/")
    started = time.monotonic()
    status, _ = await _get(purse_sandbox, "stats")
    assert status == 200 and time.monotonic() - started < 2
    assert purse_sandbox.faults.pending == 2
    purse_sandbox.faults.clear()


def _request_from(peer: Any, handler: Any) -> Any:
    transport = mock.Mock()
    transport.get_extra_info.side_effect = lambda name, default=None: (
        peer if name == "peername" else default
    )
    request = make_mocked_request("GET", "/_sandbox/stats", transport=transport)
    request._match_info = UrlMappingMatchInfo({}, mock.Mock(handler=handler))
    return request


@pytest.mark.parametrize(
    ("peer", "allowed"),
    [
        (("127.0.0.1", 5000), True),
        (("127.3.4.5", 5000), True),
        (("::1", 5000, 0, 0), True),
        (("::ffff:127.0.0.1", 5000, 0, 0), True),
        (("10.1.2.3", 5000), False),
        (("192.168.1.20", 5000), False),
        (("::ffff:10.0.0.1", 5000, 0, 0), False),
        (("fe80::1%eth0", 5000, 0, 2), False),
        (None, False),
        ("/run/sandbox.sock", False),
    ],
)
async def test_only_peers_on_this_machine_are_answered(peer: Any, allowed: bool) -> None:
    reached = mock.AsyncMock(return_value=web.Response(text="{}"))
    inner = mock.AsyncMock()
    response = await _admin_middleware(_request_from(peer, reached), inner)
    assert not inner.called  # never the counting / faults / auth chain
    if allowed:
        assert response.status == 200
    else:
        assert response.status == 403
        assert not reached.called


async def test_other_paths_go_through_the_other_middlewares() -> None:
    request = make_mocked_request("GET", "/payment/v2/payments/x")
    inner = mock.AsyncMock(return_value=web.Response(status=204))
    response = await _admin_middleware(request, inner)
    assert response.status == 204 and inner.await_count == 1


def test_endpoint_templates() -> None:
    pid = "bcb2c3ff-f9a2-4f60-8913-fa94e4d41f27"
    assert endpoint_of(f"/payment/v2/payments/{pid}/captures") == (
        "/payment/v2/payments/{id}/captures"
    )
    assert endpoint_of("/payment/v2/client-sessions") == "/payment/v2/client-sessions"
    assert endpoint_of("/hosted/wt_" + "ab" * 16) == "/hosted/{id}"


def test_sandbox_admin_reads_a_threaded_sandbox() -> None:
    with ThreadedSandbox() as box:
        admin = SandboxAdmin(box.sandbox.base_url)
        assert admin.stats()["token_requests"] == 0
        assert admin.ledgers() == {}
        assert admin.payments() == [] and admin.client_sessions() == []
        assert admin.payment_links() == [] and admin.stats()["payment_links"] == 0
        with purse_sync.Purse(**box.sandbox.client_kwargs()) as purse:
            link = purse.payment_links.create(
                amount=100,
                currency="EUR",
                order={"reference": "T-1"},
                shopper_redirection_url="https://shop.example/back",
            )
        [found] = admin.payment_links(order_reference="T-1")
        assert found["id"] == link.id and found["status"] == "OPENED"
        assert admin.stats()["payment_links"] == 1
        with pytest.raises(KeyError):
            admin.ledger("nope")
        with pytest.raises(KeyError):
            admin.payment("nope")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


EXPORT = re.compile(r"^\s*(?:export\s+)?(PURSE_[A-Z_]+)=(.*)$")

CLIENT = textwrap.dedent(
    """
    import sys
    import purse_sync

    reference = sys.argv[1]
    with purse_sync.Purse.from_env() as purse:
        payment = purse.payments.create(
            amount=3000,
            currency="EUR",
            order={"reference": reference},
            split=[{"vault_form_token": "tok_4242424242424242", "amount": 3000}],
            browser={"user_agent": "client " + reference},
        )
        for _ in range(2):  # the same key twice: applied once
            purse.payments.capture(payment.id, amount=1000, idempotency_key=reference + "-cap")
        print(payment.id)
    """
)


def test_one_cli_sandbox_serves_several_client_processes(tmp_path: Path) -> None:
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "purse_async", "sandbox", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=ROOT,
    )
    try:
        env: dict[str, str] = {}
        assert server.stdout is not None
        deadline = time.monotonic() + 30
        while len(env) < 5 and time.monotonic() < deadline:
            line = server.stdout.readline()
            if not line:
                break
            match = EXPORT.match(line)
            if match:
                env[match[1]] = shlex.split(match[2])[0]
        assert env["PURSE_BASE_URL"] == f"http://127.0.0.1:{port}", env
        script = tmp_path / "client.py"
        script.write_text(CLIENT)
        child_env = {k: v for k, v in os.environ.items() if not k.startswith("PURSE_")}
        clients = [
            subprocess.Popen(
                [sys.executable, str(script), f"P-{i}"],
                env={**child_env, **env},
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for i in range(3)
        ]
        ids = []
        for client in clients:
            out, err = client.communicate(timeout=60)
            assert client.returncode == 0, err[-2000:]
            ids.append(out.strip())

        admin = SandboxAdmin(env["PURSE_BASE_URL"])
        stats = admin.stats()
        assert stats["token_requests"] == 3  # one per process: each has its own token cache
        assert stats["requests_by_endpoint"]["POST /payment/v2/payments/{id}/captures"] == 6
        for i, payment_id in enumerate(ids):
            [payment] = admin.payments(order_reference=f"P-{i}")
            assert payment["id"] == payment_id
            entries = admin.ledger(payment_id)
            assert [(e["kind"], e["amount"], e["idempotency_key"]) for e in entries] == [
                ("captures", 1000, f"P-{i}-cap")
            ]
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover - a hung server
            server.kill()
            server.wait()
        if server.stdout is not None:
            server.stdout.close()
