"""purse_sync under gevent's monkey-patching: greenlets share one client and wait cooperatively
while the bridge's loop runs on a thread of the operating system.

Monkey-patching is process-wide, so every gevent scenario runs in a fresh Python (`-W error`:
any warning fails it) against a ThreadedSandbox of this process, whose address and credentials
it gets from the environment; gunicorn's `-k gevent` workers serve the Django example.
"""

from __future__ import annotations

import collections
import importlib.util
import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time
import types
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

import purse_sync
from purse_async.testing import MagicCards, ThreadedSandbox
from purse_sync._bridge import gevent_patched

ROOT = Path(__file__).resolve().parent.parent
RETURN = "https://shop.example/back"

needs_gevent = pytest.mark.skipif(
    importlib.util.find_spec("gevent") is None,
    reason="gevent is not installed (pip install -e '.[dev]' or '.[gevent]')",
)

# What every child script starts with: patched before anything else is imported (unless the
# script patches later itself), the SDK from this checkout, the sandbox's client settings and
# the test's data from the environment.
PATCH_FIRST = """
from gevent import monkey
monkey.patch_all()
import gevent
"""
PRELUDE = """{patch}
import json, os, sys, time
sys.path.insert(0, {root!r})
import purse_sync
from purse_sync._bridge import get_bridge

SETUP = json.loads(os.environ["GEVENT_TEST"])
RETURN = {return_!r}


def report(**results):
    print(json.dumps(results), flush=True)
"""


def run_child(
    script: str, setup: dict[str, Any], timeout: float = 60, patch: str = PATCH_FIRST
) -> dict[str, Any]:
    """Run `script` after PRELUDE in a fresh, warning-intolerant Python; its report."""
    code = PRELUDE.format(patch=patch, root=str(ROOT), return_=RETURN) + textwrap.dedent(script)
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", code],
        env={**os.environ, "GEVENT_TEST": json.dumps(setup)},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stderr == "", done.stderr[-3000:]  # no warning, no stray traceback
    lines = done.stdout.strip().splitlines()
    assert lines, "the child reported nothing"
    report: dict[str, Any] = json.loads(lines[-1])
    return report


def authorized_payments(box: ThreadedSandbox, count: int) -> list[str]:
    """Payment ids, authorized for 12000 each (made from this process, not the child)."""
    ids = []
    with purse_sync.Purse(**box.sandbox.client_kwargs()) as purse:
        for i in range(count):
            session = purse.client_sessions.create(
                amount=12000,
                currency="EUR",
                shopper_redirection_url=RETURN,
                order={"reference": f"GV-PAY-{i}"},
            )
            url = box.checkout(session.id, card=MagicCards.AUTHORIZED)
            redirect = purse.redirections.verify(url)
            assert redirect.payment_id is not None
            ids.append(redirect.payment_id)
    return ids


# -- detection (in this process: nothing is patched here) ----------------------------------


@pytest.mark.parametrize(
    ("patched", "expected"),
    [(set(), False), ({"threading"}, True), ({"socket"}, True), ({"os", "time"}, False)],
)
def test_gevent_is_detected_by_what_it_patched(
    monkeypatch: pytest.MonkeyPatch, patched: set[str], expected: bool
) -> None:
    fake = types.SimpleNamespace(is_module_patched=lambda name: name in patched)
    monkeypatch.setitem(sys.modules, "gevent.monkey", fake)
    assert gevent_patched() is expected


def test_a_process_without_gevent_patching_keeps_the_thread_bridge() -> None:
    monkeypatch_module = sys.modules.get("gevent.monkey")
    assert monkeypatch_module is None or not gevent_patched()
    with purse_sync.Purse(client_id="c", client_secret="s", api_key="k") as purse:
        purse._current()
    bridge = purse_sync._bridge.get_bridge()
    assert not bridge.green
    assert bridge.thread.name == "purse-sync-loop"  # a threading.Thread


# -- greenlets ------------------------------------------------------------------------------

CONCURRENT_CHECKOUTS = """
purse = purse_sync.Purse(**SETUP["client"])
payments = SETUP["payments"]


def checkout(i):
    session = purse.client_sessions.create(
        amount=1000 + i,
        currency="EUR",
        shopper_redirection_url=RETURN,
        order={"reference": f"GV-{i}"},
    )
    again = purse.client_sessions.retrieve(session.id)
    payment = purse.payments.retrieve(payments[i % len(payments)])
    capture = purse.payments.capture(payment.id, amount=100)
    return {
        "i": i,
        "session": session.id,
        "session_ok": again.id == session.id and again.amount == 1000 + i,
        "reference": again.order.reference if again.order else None,
        "payment": payment.id,
        "captured": capture.amount,
    }


started = time.monotonic()
alone = checkout(SETUP["n"])  # one greenlet's work, alone: the latency it adds up to
single = time.monotonic() - started
started = time.monotonic()
greenlets = [gevent.spawn(checkout, i) for i in range(SETUP["n"])]
gevent.joinall(greenlets, raise_error=True)
elapsed = time.monotonic() - started
report(
    results=[alone] + [g.value for g in greenlets],
    single=single,
    elapsed=elapsed,
    green=get_bridge().green,
    token_requests=purse.token_requests,
)
purse.close()
"""


@needs_gevent
@pytest.mark.timeout(90)
def test_200_greenlets_share_one_client_one_pool_and_one_token(
    threaded_sandbox: ThreadedSandbox,
) -> None:
    box, n = threaded_sandbox, 200
    payments = authorized_payments(box, 20)
    tokens_before = box.sandbox.stats.token_requests
    box.sandbox.faults.latency(0.05)  # every request: 4 per checkout
    report = run_child(
        CONCURRENT_CHECKOUTS,
        {"client": box.sandbox.client_kwargs(), "payments": payments, "n": n},
        timeout=80,
    )
    box.sandbox.faults.clear()
    assert report["green"]
    results = report["results"]
    assert sorted(r["i"] for r in results) == list(range(n + 1))
    for r in results:
        assert r["session_ok"] and r["reference"] == f"GV-{r['i']}"
        assert r["payment"] == payments[r["i"] % len(payments)]
        assert r["captured"] == 100
    assert len({r["session"] for r in results}) == n + 1
    # One client, so one token for all of them (and one pool).
    assert report["token_requests"] == 1
    assert box.sandbox.stats.token_requests == tokens_before + 1
    # Each capture applied once, none lost, none twice.
    expected = collections.Counter(payments[r["i"] % len(payments)] for r in results)
    for payment_id in payments:
        ledger = box.sandbox.ledger(payment_id)
        assert [(e.kind, e.amount) for e in ledger] == [("captures", 100)] * expected[payment_id]
        assert len({e.idempotency_key for e in ledger}) == len(ledger)
    # Concurrent: 200 greenlets took far less than 200 times one greenlet's latency.
    assert report["elapsed"] < 20 * report["single"], report


INTERRUPTIONS = """
import asyncio, signal

payment_id = SETUP["payment"]
purse = purse_sync.Purse(**SETUP["client"])
purse.authenticate()
ticks = [0]


def ticker():
    while True:
        gevent.sleep(0.01)
        ticks[0] += 1


gevent.spawn(ticker)
results = {}


def stamps(exc):
    return [getattr(exc, "idempotency_key", None) is not None,
            getattr(exc, "may_have_been_applied", None)]


def tasks_left():
    async def count():
        current = asyncio.current_task()
        return len([t for t in asyncio.all_tasks() if t is not current])
    return get_bridge().run(count)


# The call's own timeout (purse_async's), as from a thread; the other greenlets ran meanwhile.
before, started = ticks[0], time.monotonic()
try:
    purse.payments.capture(payment_id, amount=100, timeout=0.3, max_retries=0)
except purse_sync.APITimeoutError as exc:
    results["timeout"] = [time.monotonic() - started, *stamps(exc), tasks_left()]
results["ticks_while_waiting"] = ticks[0] - before

# A gevent.Timeout around a call: the task is cancelled on the loop, the key stamped on it.
started = time.monotonic()
try:
    with gevent.Timeout(0.3):
        purse.payments.capture(payment_id, amount=100)
except gevent.Timeout as exc:
    results["gevent_timeout"] = [time.monotonic() - started, *stamps(exc), tasks_left()]

# A killed greenlet (what gunicorn does to a request past its graceful timeout).
greenlet = gevent.spawn(purse.payments.capture, payment_id, amount=100)
gevent.sleep(0.3)
started = time.monotonic()
greenlet.kill(timeout=5)
results["killed"] = [time.monotonic() - started, greenlet.dead, tasks_left()]

# Ctrl-C: SIGINT from a thread of the operating system, the main greenlet waiting. (gevent's
# hub, which catches it and throws it to the main greenlet, would print it too: not here.)
hub = gevent.get_hub()
hub.NOT_ERROR = (*hub.NOT_ERROR, KeyboardInterrupt)
sleep = monkey.get_original("time", "sleep")
start_new_thread = monkey.get_original("_thread", "start_new_thread")
start_new_thread(lambda: (sleep(0.3), os.kill(os.getpid(), signal.SIGINT)), ())
started = time.monotonic()
try:
    purse.payments.capture(payment_id, amount=100)
except KeyboardInterrupt as exc:
    results["ctrl_c"] = [time.monotonic() - started, *stamps(exc), tasks_left()]

# And the client still works.
results["after"] = purse.payments.retrieve(payment_id).id == payment_id
purse.close()
report(**results)
"""


@needs_gevent
@pytest.mark.timeout(90)
def test_interruptions_cancel_the_call_and_keep_its_key(threaded_sandbox: ThreadedSandbox) -> None:
    box = threaded_sandbox
    (payment_id,) = authorized_payments(box, 1)
    box.sandbox.faults.latency(30, path="/captures")
    report = run_child(
        INTERRUPTIONS, {"client": box.sandbox.client_kwargs(), "payment": payment_id}
    )
    box.sandbox.faults.clear()
    for name in ("timeout", "gevent_timeout", "ctrl_c"):
        elapsed, keyed, may_have_been_applied, tasks_left = report[name]
        assert elapsed < 5, name
        assert keyed and may_have_been_applied is True, name  # retry with the key: safe
        assert tasks_left == 0, name  # the request was cancelled before the caller resumed
    elapsed, dead, tasks_left = report["killed"]
    assert elapsed < 5 and dead and tasks_left == 0
    # The waiting greenlet let the others run (0.3 s in 10 ms ticks).
    assert report["ticks_while_waiting"] >= 5, report
    assert report["after"]
    assert box.sandbox.ledger(payment_id) == []  # nothing captured


FORK_AND_FRIENDS = """
import warnings

# Python 3.12+ warns that forking a process with threads may deadlock the child: the
# bridge's fork hooks are what make it safe.
warnings.filterwarnings("ignore", r"This process .* is multi-threaded", DeprecationWarning)
payment_id = SETUP["payment"]
client = dict(SETUP["client"])
client["base_url"] = client["base_url"].replace("127.0.0.1", "localhost")  # a DNS lookup
purse = purse_sync.Purse(**client)  # never closed: closed at exit, silently
results = {"parent": purse.payments.retrieve(payment_id).id == payment_id}

# A thread of the operating system calling in a patched process.
allocate_lock = monkey.get_original("_thread", "allocate_lock")
start_new_thread = monkey.get_original("_thread", "start_new_thread")
finished = allocate_lock()
finished.acquire()
native = []


def in_native_thread():
    try:
        native.append(purse.payments.retrieve(payment_id).id == payment_id)
    finally:
        finished.release()


start_new_thread(in_native_thread, ())
while not finished.acquire(False):
    gevent.sleep(0.01)
results["native_thread"] = native

# A forked child (gunicorn's workers, Celery's pool): its own loop, pool and token, and
# greenlets using the client it inherited.
# (Its report comes in a file: gevent defers closing a pipe's fd to its hub.)
import tempfile

with tempfile.NamedTemporaryFile("r") as file:
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            greenlets = [gevent.spawn(purse.payments.retrieve, payment_id) for _ in range(50)]
            gevent.joinall(greenlets, raise_error=True)
            child = {
                "ok": all(g.value.id == payment_id for g in greenlets),
                "token_requests": purse.token_requests,
                "green": get_bridge().green,
            }
            with open(file.name, "w") as out:
                out.write(json.dumps(child))
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    results["child_exit"] = os.waitstatus_to_exitcode(status)
    results["child"] = json.loads(file.read() or "null")
results["parent_after_fork"] = purse.payments.retrieve(payment_id).id == payment_id
results["parent_token_requests"] = purse.token_requests
report(**results)
"""


@needs_gevent
@pytest.mark.timeout(90)
def test_fork_dns_native_threads_and_exit_under_gevent(threaded_sandbox: ThreadedSandbox) -> None:
    box = threaded_sandbox
    (payment_id,) = authorized_payments(box, 1)
    tokens_before = box.sandbox.stats.token_requests
    report = run_child(
        FORK_AND_FRIENDS, {"client": box.sandbox.client_kwargs(), "payment": payment_id}
    )
    assert report["parent"] and report["native_thread"] == [True]
    assert report["child"] == {"ok": True, "token_requests": 1, "green": True}
    assert report["child_exit"] == 0
    assert report["parent_after_fork"] and report["parent_token_requests"] == 1
    assert box.sandbox.stats.token_requests == tokens_before + 2  # the parent's, the child's


# -- gunicorn -k gevent serving the Django example --------------------------------------------

needs_gunicorn = pytest.mark.skipif(
    importlib.util.find_spec("gevent") is None
    or importlib.util.find_spec("gunicorn") is None
    or importlib.util.find_spec("django") is None,
    reason="gunicorn, gevent and Django are needed (pip install -e '.[dev]')",
)

# With --preload the master loads the shop, so it patches first (gevent's rule: before ssl is
# imported; a worker patching after the master imported the SDK would warn), and this hook has
# it use the client before it forks its workers: each worker must leave the master's loop and
# pool alone and make its own.
MASTER_USES_THE_CLIENT = """
from gevent import monkey

monkey.patch_all()


def when_ready(server):
    from shop.purse import get_purse

    get_purse().signing_keys.retrieve()
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def gunicorn_args() -> list[str]:
    from gunicorn.config import KNOWN_SETTINGS

    # gunicorn 24+ opens a control socket in ~/.gunicorn by default: not for a test run.
    if any("--no-control-socket" in (s.cli or []) for s in KNOWN_SETTINGS):
        return ["--no-control-socket"]
    return []


@pytest.fixture
def gunicorn(
    threaded_sandbox: ThreadedSandbox, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[int, subprocess.Popen[str], bool]]:
    """gunicorn -k gevent serving the Django shop on a free port: (port, process, preload)."""
    preload: bool = request.param
    client = threaded_sandbox.sandbox.client_kwargs()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "shop.settings",
        **{f"PURSE_{name.upper()}": value for name, value in client.items()},
    }
    port = free_port()
    options = ["--preload", "--config", str(tmp_path / "gunicorn.conf.py")] if preload else []
    (tmp_path / "gunicorn.conf.py").write_text(MASTER_USES_THE_CLIENT)
    process = subprocess.Popen(
        [
            *(sys.executable, "-W", "error", "-m", "gunicorn", "-k", "gevent", "-w", "2"),
            *("--worker-connections", "1000", "--graceful-timeout", "10"),
            *("--chdir", str(ROOT / "examples" / "django_shop"), "--bind", f"127.0.0.1:{port}"),
            *("--access-logfile", "-", "--access-logformat", "%(p)s %(m)s %(U)s %(s)s"),
            *gunicorn_args(),
            *options,
            "django.core.wsgi:get_wsgi_application()",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            assert process.poll() is None, process.communicate()[1][-3000:]
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
            except OSError:
                pass
            else:  # listening, and with --preload the master's hook has used the client
                if not preload or threaded_sandbox.sandbox.stats.token_requests:
                    break
            assert time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.1)
        yield port, process, preload
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()


def _checkout(port: int, i: int) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/checkout/",
        data=json.dumps({"order_reference": f"GU-{i}", "amount": 1000 + i}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=30) as answer:
        return answer.status, json.loads(answer.read())


@needs_gunicorn
@pytest.mark.timeout(60)
@pytest.mark.parametrize("gunicorn", [False, True], ids=["fork", "preload"], indirect=True)
def test_gunicorn_gevent_workers_serve_200_concurrent_checkouts(
    gunicorn: tuple[int, subprocess.Popen[str], bool], threaded_sandbox: ThreadedSandbox
) -> None:
    port, process, preload = gunicorn
    box, n = threaded_sandbox, 200
    master_tokens = box.sandbox.stats.token_requests
    assert master_tokens == (1 if preload else 0)  # the --preload hook's call
    # 0.2 s per session created: one worker at a time would take 100 x 0.2 = 20 s.
    box.sandbox.faults.latency(0.2, path="/payment/v2/client-sessions")
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=n) as pool:
        answers = list(pool.map(lambda i: _checkout(port, i), range(n)))
    elapsed = time.monotonic() - started
    box.sandbox.faults.clear()
    process.send_signal(signal.SIGTERM)  # graceful: the workers close their clients
    out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err[-3000:]

    assert [status for status, _ in answers] == [201] * n
    for i, (_, body) in enumerate(answers):
        session = box.sandbox.session(body["client_session_id"])
        assert session["order"]["reference"] == f"GU-{i}" and session["amount"] == 1000 + i
    assert elapsed < 10, f"{elapsed:.1f}s: the greenlets did not run concurrently"
    # One client per worker: one token each (the access log names the worker of each request).
    workers = {line.split()[0] for line in out.splitlines() if " /checkout/ " in line}
    assert 1 <= len(workers) <= 2
    assert box.sandbox.stats.token_requests == master_tokens + len(workers)
    # gunicorn's own INFO lines only: no warning, no traceback, no error.
    for line in err.splitlines():
        assert re.match(r"\[[^]]+\] \[\d+\] \[INFO\] ", line), err[-3000:]


LATE_PATCH = """
import tempfile, warnings

warnings.filterwarnings("ignore", r"This process .* is multi-threaded", DeprecationWarning)
payment_id = SETUP["payment"]
purse = purse_sync.Purse(**SETUP["client"])
# A master that is not patched uses the client (a loop thread of threads, a token), then forks
# a worker that patches itself: what gunicorn --preload does when gunicorn.conf.py does not
# patch first.
master = {"ok": purse.payments.retrieve(payment_id).id == payment_id, "green": get_bridge().green}
with tempfile.NamedTemporaryFile("r") as file:
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            from gevent import monkey

            # gevent warns that ssl was imported before it patched (patch first!); the point
            # here: even so, the greenlets sharing the inherited client do not deadlock.
            warnings.filterwarnings("ignore", category=monkey.MonkeyPatchWarning)
            monkey.patch_all()
            import gevent

            greenlets = [gevent.spawn(purse.payments.retrieve, payment_id) for _ in range(50)]
            finished = gevent.joinall(greenlets, timeout=20, raise_error=True)
            child = {
                "finished": len(finished),
                "ok": all(g.value.id == payment_id for g in finished),
                "token_requests": purse.token_requests,
                "green": get_bridge().green,
            }
            with open(file.name, "w") as out:
                out.write(json.dumps(child))
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    report(master=master, child_exit=os.waitstatus_to_exitcode(status),
           child=json.loads(file.read() or "null"))
purse.close()
"""


@needs_gevent
@pytest.mark.timeout(90)
def test_a_client_inherited_from_an_unpatched_parent_serves_concurrent_greenlets(
    threaded_sandbox: ThreadedSandbox,
) -> None:
    box = threaded_sandbox
    (payment_id,) = authorized_payments(box, 1)
    tokens_before = box.sandbox.stats.token_requests
    report = run_child(
        LATE_PATCH, {"client": box.sandbox.client_kwargs(), "payment": payment_id}, patch=""
    )
    assert report["master"] == {"ok": True, "green": False}
    assert report["child_exit"] == 0
    # The 50 greenlets that found the parent's client each had to wait for the child's own:
    # none blocked the others, one client was adopted, one token fetched.
    assert report["child"] == {"finished": 50, "ok": True, "token_requests": 1, "green": True}
    assert box.sandbox.stats.token_requests == tokens_before + 2
