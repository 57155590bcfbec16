"""The generated blocking facade: same surface as purse_async, one loop thread shared by every
caller thread, fork safety, running-loop warning, deadlock guard, cancellation, clean exit."""

from __future__ import annotations

import _thread
import asyncio
import gc
import inspect
import os
import signal
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
import purse_sync._base
import purse_sync._bridge
from purse_async.testing import MagicCards, ThreadedSandbox
from purse_sync._bridge import get_bridge
from purse_sync._generate import ASYNC_ONLY_PARAMETERS

RETURN = "https://shop.example/back"
ROOT = Path(__file__).resolve().parent.parent


def strip_async(text: str) -> str:
    return text.replace("AsyncPurse", "Purse").replace("Async", "")


def expected_return(member: Any) -> str:
    ann = str(inspect.signature(member).return_annotation)
    unwrapped = inspect.unwrap(member)
    if unwrapped is not member and inspect.isasyncgenfunction(unwrapped):  # @asynccontextmanager
        return "AbstractContextManager[" + ann.split("[", 1)[1]
    return strip_async(ann)


def expected_doc(member: Any) -> str | None:
    doc = inspect.getdoc(member)
    return None if doc is None else strip_async(doc).replace("`aclose()`", "`close()`")


SYNC_NAMES = {"aclose": "close", "__aenter__": "__enter__", "__aexit__": "__exit__"}


@pytest.mark.parametrize(
    "async_cls",
    [purse_async.AsyncPurse] + [getattr(purse_async, n) for n in purse_async.resources.__all__],
    ids=lambda c: c.__name__,
)
def test_parity_of_every_public_method(async_cls: type[Any]) -> None:
    sync_cls = getattr(purse_sync, strip_async(async_cls.__name__))
    is_client = async_cls is purse_async.AsyncPurse
    checked = set()
    for name, member in inspect.getmembers(async_cls):
        # Resource constructors differ by design (the sync ones take their client).
        if (
            name.startswith("_")
            and name not in SYNC_NAMES
            and (name, is_client) != ("__init__", True)
        ):
            continue
        if not callable(member) and not isinstance(
            inspect.getattr_static(async_cls, name), property
        ):
            continue
        twin_name = SYNC_NAMES.get(name, name)
        assert hasattr(sync_cls, twin_name), f"{sync_cls.__name__}.{twin_name} is missing"
        if isinstance(prop := inspect.getattr_static(async_cls, name), property):
            twin = inspect.getattr_static(sync_cls, twin_name)
            assert isinstance(twin, property), name
            assert prop.fget is not None and twin.fget is not None
            assert inspect.signature(twin.fget).return_annotation == expected_return(prop.fget)
            assert inspect.getdoc(twin.fget) == expected_doc(prop.fget), name
            continue
        s_sig = inspect.signature(getattr(sync_cls, twin_name))
        if name in SYNC_NAMES:
            continue
        a_params = [
            (p.name, p.kind, p.default, strip_async(str(p.annotation)))
            for p in inspect.signature(member).parameters.values()
        ]
        s_params = [
            (p.name, p.kind, p.default, str(p.annotation)) for p in s_sig.parameters.values()
        ]
        if name == "__init__":
            a_params, s_params = a_params[1:], s_params[1:]
            # An async object (a caller's aiohttp session) can't cross the bridge.
            a_params = [p for p in a_params if p[0] not in ASYNC_ONLY_PARAMETERS]
        assert s_params == a_params, f"{async_cls.__name__}.{name} parameters differ"
        checked.add(name)
        assert str(s_sig.return_annotation) == expected_return(member), name
        if name != "__init__":
            assert inspect.getdoc(getattr(sync_cls, twin_name)) == expected_doc(member), name
    if is_client:
        assert "__init__" in checked
        sync_doc, async_doc = inspect.getdoc(sync_cls), expected_doc(async_cls)
        assert sync_doc is not None and async_doc is not None
        assert sync_doc.splitlines()[1:] == async_doc.splitlines()[1:]
    else:
        assert inspect.getdoc(sync_cls) == expected_doc(async_cls)
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
    url = box.checkout(session.id, card=card)
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


# Python 3.12+ warns that forking a process with threads may deadlock the child: the bridge's
# fork hooks are what make it safe here.
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
@pytest.mark.timeout(60)
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
                # A hung child would outlive the parent's per-test timeout (alarms are not
                # inherited) and hold the run's output open: it ends itself instead.
                signal.alarm(30)
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
            purse.payments.retrieve(pay(purse, threaded_sandbox).id)
        assert keys.keys
        assert len(record) == 1
        # It points at the caller's line, not at the generated method or the bridge.
        assert record[0].filename == __file__


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
        started = time.monotonic()
        with pytest.raises(KeyboardInterrupt):
            purse.payments.capture(payment.id, amount=100)
        timer.join()
        assert time.monotonic() - started < 5
        # The task was cancelled, and had ended, before the interruption reached the caller.
        assert _pending_tasks() == 0
        threaded_sandbox.sandbox.faults.clear()
        assert threaded_sandbox.sandbox.ledger(payment.id) == []


def test_eventlet_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    # (gevent is supported: tests/test_gevent.py.)
    fake = types.SimpleNamespace(is_monkey_patched=lambda name: name == "thread")
    monkeypatch.setitem(sys.modules, "eventlet.patcher", fake)
    with pytest.raises(purse_sync.ConfigurationError, match=r"eventlet.*purse_async.*gevent"):
        purse_sync.Purse(client_id="c", client_secret="s", api_key="k")


def test_each_client_is_made_on_the_bridge_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    made_in: list[str] = []

    class Recording(purse_async.AsyncPurse):
        def __init__(self, **kwargs: Any) -> None:
            made_in.append(threading.current_thread().name)
            super().__init__(**kwargs)

    monkeypatch.setattr(purse_sync._base, "AsyncPurse", Recording)
    with purse_sync.Purse(client_id="c", client_secret="s", api_key="k") as purse:
        assert isinstance(purse._current(), Recording)
    assert made_in == ["purse-sync-loop"]


def test_an_overrunning_call_is_cancelled_by_the_bridge(monkeypatch: pytest.MonkeyPatch) -> None:
    # purse_async bounds its calls by `timeout`; the bridge is the backstop for one that does
    # not return in time: it cancels the task and waits for it to end before raising.
    monkeypatch.setattr(purse_sync._bridge, "TIMEOUT_GRACE", 0.05)
    cancelled = threading.Event()

    async def stuck() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    with pytest.raises(purse_sync.APITimeoutError, match=r"did not finish within 0\.05s"):
        get_bridge().run(stuck, timeout=0.05)
    assert cancelled.is_set()
    assert _pending_tasks() == 0


def test_a_dropped_client_is_closed_on_the_loop(threaded_sandbox: ThreadedSandbox) -> None:
    purse = purse_sync.Purse(**threaded_sandbox.sandbox.client_kwargs())
    assert purse.signing_keys.retrieve().keys
    inner = purse._current()
    del purse
    gc.collect()  # the facade and its resources form a cycle
    bridge = get_bridge()

    async def settle() -> None:
        while bridge._background:
            await asyncio.wait(set(bridge._background))

    bridge.run(settle)
    assert inner.is_closed
    assert inner._transport._session is None


def test_close_from_the_loop_thread_does_not_deadlock(threaded_sandbox: ThreadedSandbox) -> None:
    purse = purse_sync.Purse(**threaded_sandbox.sandbox.client_kwargs())
    purse.authenticate()
    inner = purse._current()
    done = threading.Event()

    def on_loop() -> None:
        purse.close()  # cannot wait on its own loop: the close is scheduled there instead
        done.set()

    bridge = get_bridge()
    bridge.loop.call_soon_threadsafe(on_loop)
    assert done.wait(5)

    async def settle() -> None:
        while bridge._background:
            await asyncio.wait(set(bridge._background))

    bridge.run(settle)
    assert inner.is_closed
    purse.close()


EXIT_SCRIPT = """
import gc, os, sys, warnings
sys.path.insert(0, {root!r})
from purse_async.testing import ThreadedSandbox
import purse_sync
box = ThreadedSandbox()
purse = purse_sync.Purse(**box.sandbox.client_kwargs())
assert purse.signing_keys.retrieve().keys

# A client dropped without close() is closed by its finalizer, on its loop.
dropped = purse_sync.Purse(**box.sandbox.client_kwargs())
assert dropped.signing_keys.retrieve().keys
del dropped
gc.collect()

# Forked children that exit normally, one using the parent's client and one not: neither
# closes (nor reports) the parent's pool.
for use in (True, False):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # 3.12+: fork with threads
        pid = os.fork()
    if pid == 0:
        if use:
            assert purse.signing_keys.retrieve().keys
        sys.exit(0)
    assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
assert purse.signing_keys.retrieve().keys
print("ok")
# Exits with the client still open: purse_sync must close it on its own loop, silently.
"""


def test_exit_with_open_and_dropped_clients_prints_nothing() -> None:
    if not hasattr(os, "fork"):
        pytest.skip("needs os.fork")
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
