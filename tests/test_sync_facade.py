"""The generated blocking facade: same surface as purse_async, one loop thread shared by every
caller thread, fork safety, running-loop warning, deadlock guard, cancellation, clean exit."""

from __future__ import annotations

import _thread
import asyncio
import inspect
import os
import subprocess
import sys
import threading
import time
import traceback
import types
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

import purse_async
import purse_sync
from purse_async.testing import MagicCards, ThreadedSandbox
from purse_sync._bridge import get_bridge

RETURN = "https://shop.example/back"
ROOT = Path(__file__).resolve().parent.parent


def strip_async(text: str) -> str:
    return text.replace("AsyncPurse", "Purse").replace("Async", "")


SYNC_NAMES = {"aclose": "close", "__aenter__": "__enter__", "__aexit__": "__exit__"}


@pytest.mark.parametrize(
    "async_cls",
    [purse_async.AsyncPurse] + [getattr(purse_async, n) for n in purse_async.resources.__all__],
    ids=lambda c: c.__name__,
)
def test_parity_of_every_public_method(async_cls: type[Any]) -> None:
    sync_cls = getattr(purse_sync, strip_async(async_cls.__name__))
    for name, member in inspect.getmembers(async_cls):
        if name.startswith("_") and name not in SYNC_NAMES:
            continue
        if not callable(member) and not isinstance(
            inspect.getattr_static(async_cls, name), property
        ):
            continue
        twin_name = SYNC_NAMES.get(name, name)
        assert hasattr(sync_cls, twin_name), f"{sync_cls.__name__}.{twin_name} is missing"
        if isinstance(inspect.getattr_static(async_cls, name), property):
            continue
        a_sig = inspect.signature(member)
        s_sig = inspect.signature(getattr(sync_cls, twin_name))
        if name in SYNC_NAMES:
            continue
        a_params = [
            (p.name, p.kind, p.default, strip_async(str(p.annotation)))
            for p in a_sig.parameters.values()
        ]
        s_params = [
            (p.name, p.kind, p.default, str(p.annotation)) for p in s_sig.parameters.values()
        ]
        if name == "__init__":
            a_params, s_params = a_params[1:], s_params[1:]
        assert s_params == a_params, f"{async_cls.__name__}.{name} parameters differ"
        assert str(s_sig.return_annotation) == strip_async(str(a_sig.return_annotation)), name
        assert inspect.getdoc(member) is None or inspect.getdoc(getattr(sync_cls, twin_name)), name
    sync_public = {n for n in dir(sync_cls) if not n.startswith("_")}
    async_public = {SYNC_NAMES.get(n, n) for n in dir(async_cls) if not n.startswith("_")}
    assert sync_public == async_public


def test_generated_code_is_up_to_date() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "purse_sync._generate", "--check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_models_and_exceptions_are_the_same_objects() -> None:
    assert purse_sync.NotFoundError is purse_async.NotFoundError
    assert purse_sync.Payment is purse_async.Payment
    assert set(purse_sync.__all__) >= {"Purse", "Payments", "PurseError", "Payment"}


def pay(
    purse: purse_sync.Purse, box: ThreadedSandbox, card: str = MagicCards.AUTHORIZED
) -> purse_async.Payment:
    session = purse.client_sessions.create(
        amount=12000, currency="EUR", shopper_redirection_url=RETURN, order={"reference": "sync-1"}
    )
    url = box.call(box.sandbox.checkout(session.id, card=card))
    redirect = purse.redirections.verify(url)
    assert redirect.payment_id is not None
    return purse.payments.retrieve(redirect.payment_id)


def test_the_guide_flow_blocking(threaded_sandbox: ThreadedSandbox) -> None:
    with purse_sync.Purse(**threaded_sandbox.sandbox.client_kwargs()) as purse:
        payment = pay(purse, threaded_sandbox, MagicCards.SOFT_DECLINE_CASCADE)
        assert payment.authorization is not None
        assert len(payment.authorization.failed_attempts) == 1
        capture = purse.payments.capture(payment.id, amount=5000)
        assert capture.amount == 5000 and capture.idempotency_key
        purse.payments.refund(payment.id, amount=2000)
        purse.payments.void(payment.id)
        final = purse.payments.retrieve(payment.id)
        assert final.amounts is not None and final.amounts.total_voided == 7000
        assert purse.webhooks.is_trusted_source("127.0.0.1", allowlist=["127.0.0.0/8"])
    assert purse.is_closed
    purse.close()  # idempotent


def test_32_threads_share_one_client_and_one_token(threaded_sandbox: ThreadedSandbox) -> None:
    purse = purse_sync.Purse(**threaded_sandbox.sandbox.client_kwargs())
    try:
        payment = pay(purse, threaded_sandbox)
        start = threading.Barrier(32)

        def worker(n: int) -> list[str]:
            start.wait()
            return [purse.payments.retrieve(payment.id).id for _ in range(50)]

        with ThreadPoolExecutor(max_workers=32) as pool:
            results = list(pool.map(worker, range(32)))
        assert all(ids == [payment.id] * 50 for ids in results)
        assert purse.token_requests == 1
        assert threaded_sandbox.sandbox.stats.token_requests == 1
    finally:
        purse.close()


def test_errors_reach_the_caller_with_the_bridge_trimmed(threaded_sandbox: ThreadedSandbox) -> None:
    with (
        purse_sync.Purse(**threaded_sandbox.sandbox.client_kwargs()) as purse,
        pytest.raises(purse_sync.NotFoundError) as info,
    ):
        purse.payments.retrieve("00000000-0000-0000-0000-000000000000")
    frames = traceback.extract_tb(info.value.__traceback__)
    names = [Path(f.filename).name for f in frames]
    # Only the caller-side re-raise remains of the bridge; no asyncio plumbing at all.
    assert names.count("_bridge.py") == 1
    assert not any("asyncio" in f.filename for f in frames)
    assert "_requester.py" in names  # the SDK frame that raised is kept
    assert any(f.filename.endswith("test_sync_facade.py") for f in frames)


def test_configuration_errors_at_construction() -> None:
    with pytest.raises(purse_sync.ConfigurationError, match="client_secret"):
        purse_sync.Purse(client_id="c", client_secret="", api_key="k")


def test_fork_child_gets_its_own_loop_and_parent_keeps_working(
    threaded_sandbox: ThreadedSandbox,
) -> None:
    if not hasattr(os, "fork"):
        pytest.skip("needs os.fork")
    with purse_sync.Purse(**threaded_sandbox.sandbox.client_kwargs()) as purse:
        payment = pay(purse, threaded_sandbox)
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # child
            code = 1
            try:
                os.close(read)
                got = purse.payments.retrieve(payment.id)
                os.write(write, f"{got.id} {purse.token_requests}".encode())
                code = 0
            finally:
                os._exit(code)
        os.close(write)
        with os.fdopen(read) as pipe:
            reported = pipe.read()
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert reported == f"{payment.id} 1"  # the child fetched its own token
        assert purse.payments.retrieve(payment.id).id == payment.id
        assert purse.token_requests == 1


async def test_inside_a_running_loop_it_works_and_warns_once(
    threaded_sandbox: ThreadedSandbox,
) -> None:
    bridge = get_bridge()
    bridge._warned = False
    with purse_sync.Purse(**threaded_sandbox.sandbox.client_kwargs()) as purse:
        with pytest.warns(purse_sync.BlockingCallWarning, match="purse_async") as record:
            keys = purse.signing_keys.retrieve()
            purse.signing_keys.retrieve()
        assert keys.keys
        assert len(record) == 1
        assert record[0].filename == __file__  # points at the caller's line


def test_calling_from_the_bridge_thread_raises_instead_of_deadlocking(
    threaded_sandbox: ThreadedSandbox,
) -> None:
    with purse_sync.Purse(**threaded_sandbox.sandbox.client_kwargs()) as purse:
        purse.authenticate()
        outcome: list[BaseException] = []
        done = threading.Event()

        def on_loop() -> None:
            try:
                purse.signing_keys.retrieve()
            except BaseException as exc:
                outcome.append(exc)
            done.set()

        get_bridge().loop.call_soon_threadsafe(on_loop)
        assert done.wait(5)
        assert isinstance(outcome[0], purse_sync.BridgeError)


def _pending_tasks() -> int:
    bridge = get_bridge()

    async def count() -> int:
        current = asyncio.current_task()
        return len([t for t in asyncio.all_tasks() if t is not current])

    return asyncio.run_coroutine_threadsafe(count(), bridge.loop).result(5)


def test_timeout_cancels_the_request_on_the_loop(threaded_sandbox: ThreadedSandbox) -> None:
    with purse_sync.Purse(**threaded_sandbox.sandbox.client_kwargs()) as purse:
        payment = pay(purse, threaded_sandbox)
        threaded_sandbox.sandbox.faults.latency(30, path="/captures")
        started = time.monotonic()
        with pytest.raises(purse_sync.APITimeoutError):
            purse.payments.capture(payment.id, amount=100, timeout=0.3, max_retries=0)
        assert time.monotonic() - started < 5
        assert _pending_tasks() == 0
        threaded_sandbox.sandbox.faults.clear()
        assert threaded_sandbox.sandbox.ledger(payment.id) == []


def test_ctrl_c_cancels_the_request_on_the_loop(threaded_sandbox: ThreadedSandbox) -> None:
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("KeyboardInterrupt is delivered to the main thread")
    with purse_sync.Purse(**threaded_sandbox.sandbox.client_kwargs()) as purse:
        payment = pay(purse, threaded_sandbox)
        threaded_sandbox.sandbox.faults.latency(30, path="/captures")
        timer = threading.Timer(0.3, _thread.interrupt_main)
        timer.start()
        with pytest.raises(KeyboardInterrupt):
            purse.payments.capture(payment.id, amount=100)
        timer.join()
        deadline = time.monotonic() + 5
        while _pending_tasks() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert _pending_tasks() == 0
        threaded_sandbox.sandbox.faults.clear()
        assert threaded_sandbox.sandbox.ledger(payment.id) == []


def test_green_threads_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = types.SimpleNamespace(is_module_patched=lambda name: name == "threading")
    monkeypatch.setitem(sys.modules, "gevent.monkey", fake)
    with pytest.raises(purse_sync.ConfigurationError, match="gevent"):
        purse_sync.Purse(client_id="c", client_secret="s", api_key="k")


EXIT_SCRIPT = """
import sys
sys.path.insert(0, {root!r})
from purse_async.testing import ThreadedSandbox
import purse_sync
box = ThreadedSandbox()
purse = purse_sync.Purse(**box.sandbox.client_kwargs())
assert purse.signing_keys.retrieve().keys
print("ok")
# exits with the client still open: purse_sync must close it on its own loop, silently
"""


def test_exit_with_an_open_client_prints_nothing() -> None:
    done = subprocess.run(
        [sys.executable, "-W", "always", "-c", EXIT_SCRIPT.format(root=str(ROOT))],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
    assert done.stderr == ""
