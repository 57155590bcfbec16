"""examples/celery_captures: a real Celery worker (prefork pool, 4 processes, Redis broker and
results) captures 200 authorized payments of the embedded sandbox, one `purse_sync.Purse` per
worker process sharing one token through `RedisTokenStore`. Proven from the sandbox's side:
every capture applied exactly once (duplicated tasks included), one token request in all.

Needs Debian's `redis-server` (.ci/run installs it) and the `celery[redis]` dev extra; skipped
with the reason otherwise.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

import purse_sync
from purse_async.testing import MagicCards, ThreadedSandbox
from purse_async.testing._admin import SandboxAdmin

celery = pytest.importorskip("celery", reason="celery is not installed: pip install -e '.[dev]'")
pytest.importorskip("redis", reason="redis-py is not installed: pip install -e '.[dev]'")

REDIS_SERVER = shutil.which("redis-server")
pytestmark = pytest.mark.skipif(
    REDIS_SERVER is None, reason="redis-server is not installed (apt-get install redis-server)"
)

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "celery_captures"
ORDERS = 200
DUPLICATES = 20  # orders whose capture task is sent twice (a producer's retry, a double click)
AMOUNT = 1500


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """A private redis-server on a free loopback port, nothing written to disk."""
    assert REDIS_SERVER is not None
    port = _free_port()
    server = subprocess.Popen(
        [
            REDIS_SERVER,
            *("--port", str(port), "--bind", "127.0.0.1"),
            *("--save", "", "--appendonly", "no", "--dir", str(tmp_path)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not _ping(port):
            assert server.poll() is None, "redis-server exited"
            assert time.monotonic() < deadline, "redis-server did not answer PING"
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover - a hung server
            server.kill()
            server.wait()


def _authorized_payments(purse: purse_sync.Purse) -> list[tuple[str, str]]:
    """(payment id, order reference) of ORDERS authorized card payments."""
    made = []
    for i in range(ORDERS):
        reference = f"CEL-{i:04d}"
        payment = purse.payments.create(
            amount=AMOUNT * 2,
            currency="EUR",
            order={"reference": reference},
            split=[{"vault_form_token": "tok_" + MagicCards.AUTHORIZED, "amount": AMOUNT * 2}],
            browser={"user_agent": "celery test"},
        )
        made.append((payment.id, reference))
    return made


def _stop(worker: subprocess.Popen[bytes]) -> None:
    if worker.poll() is None:
        worker.send_signal(signal.SIGTERM)  # warm shutdown: the pool's processes close too
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:  # pragma: no cover - a hung worker
            worker.kill()
            worker.wait()


def test_a_prefork_worker_captures_each_order_once_with_one_token(
    redis_url: str, tmp_path: Path
) -> None:
    with ThreadedSandbox() as box:
        sandbox = box.sandbox
        admin = SandboxAdmin(sandbox.base_url)
        with purse_sync.Purse(**sandbox.client_kwargs()) as purse:
            orders = _authorized_payments(purse)
        tokens_before = admin.stats()["token_requests"]

        creds = sandbox.credentials
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PURSE_", "CELERY_"))}
        env.update(
            PURSE_BASE_URL=sandbox.base_url,
            PURSE_CLIENT_ID=creds.client_id,
            PURSE_CLIENT_SECRET=creds.client_secret,
            PURSE_API_KEY=creds.api_key,
            PURSE_ENTITY_ID=creds.entity_id,
            CELERY_BROKER_URL=redis_url,
        )
        log_path = tmp_path / "worker.log"
        with log_path.open("wb") as log:
            worker = subprocess.Popen(
                [
                    *(sys.executable, "-m", "celery", "-A", "tasks", "worker"),
                    *("--pool", "prefork", "--concurrency", "4", "--loglevel", "INFO"),
                    *("--without-gossip", "--without-mingle", "--without-heartbeat"),
                    *("--hostname", f"captures-{os.getpid()}@localhost"),
                ],
                cwd=EXAMPLE,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        producer = celery.Celery("producer", broker=redis_url, backend=redis_url)
        producer.conf.update(
            task_serializer="json", result_serializer="json", accept_content=["json"]
        )
        try:
            sent = [
                producer.send_task("captures.capture_order", args=[pid, ref, AMOUNT])
                for pid, ref in orders + orders[:DUPLICATES]
            ]
            try:
                results = celery.result.ResultSet(sent, app=producer).get(timeout=50)
            except Exception as exc:
                raise AssertionError(
                    f"tasks did not finish: {exc!r}\n{log_path.read_text()[-3000:]}"
                ) from None
        finally:
            _stop(worker)
            producer.close()
        log = log_path.read_text(errors="replace")
        assert worker.returncode == 0, log[-3000:]
        assert "Traceback" not in log, log[-3000:]

        # The results: each order captured; the duplicated ones answered with the first capture.
        assert len(results) == ORDERS + DUPLICATES
        assert all(r["amount"] == AMOUNT for r in results)
        assert sum(r["replayed"] for r in results) == DUPLICATES
        by_order: dict[str, set[str]] = {}
        for r in results:
            by_order.setdefault(r["order_reference"], set()).add(r["capture_id"])
        assert all(len(ids) == 1 for ids in by_order.values())  # the replay named the first
        pids = Counter(r["worker_pid"] for r in results)
        assert len(pids) >= 2, pids  # the work was spread over the pool's processes

        # The sandbox's ledger, read as another process would: 0 duplicates.
        ledgers = admin.ledgers()
        for payment_id, reference in orders:
            entries = ledgers[payment_id]
            assert [(e["kind"], e["amount"], e["idempotency_key"]) for e in entries] == [
                ("captures", AMOUNT, f"{reference}/capture")
            ], payment_id
        assert sum(len(entries) for entries in ledgers.values()) == ORDERS

        # One token for the whole worker (4 processes) through Redis.
        assert admin.stats()["token_requests"] - tokens_before == 1
