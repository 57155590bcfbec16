"""benchmarks/locustfile.py through `purse_async.contrib.locust.PurseUser`, distributed as
Locust runs it: a headless master and two workers (`--master` / `--worker` subprocesses on
127.0.0.1) against one embedded sandbox for 10 s. Locust's own CSV must show every endpoint of
the checkout mix, 0 failures; the sandbox must agree on the counts.

Locust is never imported here: it monkey-patches the process with gevent as it is imported.
Bounded: the run lasts 10 s, the whole test about 15 s (each subprocess is killed after 90 s).
"""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from purse_async.testing import ThreadedSandbox
from purse_async.testing._admin import SandboxAdmin

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("locust") is None,
    reason="locust is not installed: pip install -e '.[dev]' (or '.[locust]')",
)

ROOT = Path(__file__).resolve().parent.parent
LOCUSTFILE = ROOT / "benchmarks" / "locustfile.py"
# The fleet issue asks for a 20 s distributed run: long enough for every endpoint of the mix.
RUN_TIME = 20
ENDPOINTS = {
    ("POST", "/oauth/token"),
    ("POST", "/payment/v2/client-sessions"),
    ("POST", "/hosted/sessions/{id}/submit"),
    ("GET", "/payment/v2/payments/{id}"),
    ("POST", "/payment/v2/payments/{id}/captures"),
    ("POST", "/payment/v2/payments/{id}/refunds"),
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_a_master_and_two_workers_report_every_endpoint_without_failures(
    tmp_path: Path,
) -> None:
    with ThreadedSandbox() as box:
        sandbox = box.sandbox
        creds = sandbox.credentials
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PURSE_", "LOCUST_"))}
        env.update(
            PURSE_BASE_URL=sandbox.base_url,
            PURSE_CLIENT_ID=creds.client_id,
            PURSE_CLIENT_SECRET=creds.client_secret,
            PURSE_API_KEY=creds.api_key,
            PURSE_ENTITY_ID=creds.entity_id,
        )
        port = _free_port()
        locust = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE)]
        master_cmd = [
            *locust,
            *("--headless", "--master", "--expect-workers", "2"),
            *("--expect-workers-max-wait", "30"),
            *("--master-bind-host", "127.0.0.1", "--master-bind-port", str(port)),
            *("-u", "20", "-r", "20", "-t", f"{RUN_TIME}s", "--stop-timeout", "5"),
            *("--host", sandbox.base_url, "--csv", str(tmp_path / "run"), "--only-summary"),
        ]
        worker_cmd = [*locust, "--worker", "--master-host", "127.0.0.1"]
        worker_cmd += ["--master-port", str(port)]
        logs = [tmp_path / f"{name}.log" for name in ("master", "worker1", "worker2")]
        procs: list[subprocess.Popen[bytes]] = []
        try:
            for cmd, log_path in zip([master_cmd, worker_cmd, worker_cmd], logs, strict=True):
                with log_path.open("wb") as log:
                    procs.append(
                        subprocess.Popen(
                            cmd, cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT
                        )
                    )
            for proc in procs:
                proc.wait(timeout=90)  # the workers stop when the master quits
        finally:
            for proc in procs:
                if proc.poll() is None:  # pragma: no cover - a hung run
                    proc.kill()
                    proc.wait()
        output = "\n".join(f"== {p.name}\n{p.read_text()[-3000:]}" for p in logs)
        assert [p.returncode for p in procs] == [0, 0, 0], output
        assert "Traceback" not in output, output

        with (tmp_path / "run_stats.csv").open() as f:
            rows = {(r["Type"], r["Name"]): r for r in csv.DictReader(f)}
        aggregated = rows.pop(("", "Aggregated"))
        assert int(aggregated["Failure Count"]) == 0, output
        # Every endpoint of the mix, reported under its template, with no failure.
        assert set(rows) == ENDPOINTS, rows.keys()
        for key, row in rows.items():
            assert int(row["Request Count"]) > 0 and int(row["Failure Count"]) == 0, key
        with (tmp_path / "run_failures.csv").open() as f:
            assert list(csv.DictReader(f)) == []

        # The sandbox counted what Locust reported: one token per worker process (each has
        # one client shared by its users), and as many captures as reported.
        stats = SandboxAdmin(sandbox.base_url).stats()
        assert stats["token_requests"] == 2
        assert int(rows[("POST", "/oauth/token")]["Request Count"]) == 2
        by_endpoint = stats["requests_by_endpoint"]
        for method, name in ENDPOINTS - {("POST", "/oauth/token")}:
            reported = int(rows[(method, name)]["Request Count"])
            # Locust stops users mid-call when the time is up: a request the sandbox answered
            # may be missing from the report, never the other way round.
            assert 0 <= by_endpoint[f"{method} {name}"] - reported <= 20, (method, name)


REPORTER = """
import json, sys
from locust.env import Environment
import purse_sync
from purse_async.contrib.locust import PurseUser

class Shop(PurseUser):
    purse_options = {
        "retry_policy": purse_sync.RetryPolicy(max_retries=2, initial_backoff=0.0, jitter=0.0)
    }

seen = []
def record(request_type, name, response_time, response_length, exception, context, **_):
    seen.append({
        "type": request_type, "name": name, "length": response_length,
        "error": None if exception is None else str(exception),
        "attempts": context.get("attempts"), "timed": response_time >= 0,
    })

Shop.host = sys.argv[1]  # what Locust's --host does
environment = Environment(user_classes=[Shop])
environment.events.request.add_listener(record)
users = [Shop(environment), Shop(environment)]
for user in users:
    user.on_start()  # one token request for the shared client, reported once
purse = users[0].purse
assert purse.payments is users[1].purse.payments or purse._client is users[1].purse._client
payment = purse.payments.create(
    amount=3000, currency="EUR", order={"reference": "L-1"},
    split=[{"vault_form_token": "tok_4242424242424242", "amount": 3000}],
    browser={"user_agent": "locust"},
)
capture = purse.payments.capture(payment.id, amount=1000)  # 503 once, then applied
try:
    purse.payments.refund(payment.id, amount=500)  # 500 three times: fails
except purse_sync.InternalServerError:
    pass
try:
    purse.payments.retrieve("00000000-0000-4000-8000-000000000000")
except purse_sync.NotFoundError:
    pass
assert purse.redirections is users[0]._client.redirections  # passed through, unreported
print(json.dumps(seen))
"""


def test_calls_retries_and_failures_are_reported_per_endpoint(tmp_path: Path) -> None:
    with ThreadedSandbox() as box:
        sandbox = box.sandbox
        box.call(_inject(box))
        creds = sandbox.credentials
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PURSE_", "LOCUST_"))}
        env.update(
            PURSE_BASE_URL="http://127.0.0.1:9",  # never used: the host (--host) wins
            PURSE_CLIENT_ID=creds.client_id,
            PURSE_CLIENT_SECRET=creds.client_secret,
            PURSE_API_KEY=creds.api_key,
            PURSE_ENTITY_ID=creds.entity_id,
        )
        script = tmp_path / "reporter.py"
        script.write_text(REPORTER)
        done = subprocess.run(
            [sys.executable, str(script), sandbox.base_url],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        seen = json.loads(done.stdout.splitlines()[-1])
        assert SandboxAdmin(sandbox.base_url).stats()["token_requests"] == 1

    def rows(name: str) -> list[tuple[str, str | None, int | None]]:
        return [(e["type"], e["error"], e["attempts"]) for e in seen if e["name"] == name]

    assert rows("/oauth/token") == [("POST", None, 1)]
    assert rows("/payment/v2/payments") == [("POST", None, 1)]
    assert rows("/payment/v2/payments/{id}/captures") == [("POST", None, 2), ("RETRY", None, 2)]
    assert rows("/payment/v2/payments/{id}/refunds") == [
        ("POST", "InternalServerError 500", 3),
        ("RETRY", None, 3),
        ("RETRY", None, 3),
    ]
    assert rows("/payment/v2/payments/{id}") == [
        ("GET", "NotFoundError 404 urn:eu.purse:not-found", 1)
    ]
    assert all(e["timed"] for e in seen)
    assert [e["length"] > 0 for e in seen if e["type"] == "POST" and not e["error"]] == [
        False,  # the token request: no answer object to measure
        True,
        True,
    ]


async def _inject(box: ThreadedSandbox) -> None:
    box.sandbox.faults.fail_next(1, status=503, path="/captures")
    box.sandbox.faults.fail_next(3, status=500, path="/refunds")


def test_every_endpoint_call_is_reported_under_its_template() -> None:
    """contrib/locust.py's own table names each call's endpoint as purse_async.ENDPOINTS does,
    and leaves out no method of a reported resource but those that call several endpoints."""
    # In a subprocess: importing locust monkey-patches the process with gevent.
    code = """
import re
import purse_async
from purse_async.contrib import locust as pl

templates = {(e.method, re.sub(r"{[a-z_]+}", "{id}", e.path)): e for e in purse_async.ENDPOINTS}
for (resource, method), (verb, path) in pl.ENDPOINTS.items():
    row = templates.get((verb, path))
    assert row is not None, (resource, method, verb, path)
    assert f"{resource}.{method}" in row.sdk_methods, (resource, method, path)
called = {tuple(n.split(".")) for e in purse_async.ENDPOINTS for n in e.sdk_methods if "." in n}
print(sorted(".".join(m) for m in called if m[0] in pl.RESOURCES and m not in pl.ENDPOINTS))
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert out.returncode == 0, out.stderr
    several = ["authorize_with_retry", "retry_decision", "wait_for_authorization", "watch"]
    assert out.stdout.strip() == repr([f"payments.{name}" for name in several])
