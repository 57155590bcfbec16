"""The outside fault campaign (issue 11, "Prove it"): money calls through every fault, both faces,
the sandbox ledger as ground truth.

Per fault and face, PAYMENTS authorized payments are made directly in the sandbox (no faults),
then each gets STEPS money calls (captures, refunds, voids in a realistic mix) one after the other;
20 payments are worked on concurrently through `purse_async` (asyncio tasks), or 8 from threads
through `purse_sync`. About half the calls meet the fault on their first attempt. The caller
passes no key; on any exception it checks the error is a `PurseError` with an `idempotency_key`
and a bool `may_have_been_applied`, then retries once with `idempotency_key=err.idempotency_key`
(with no key to reuse it can only retry without one, as a real caller would). From the ledger:
nothing applied twice or beyond what a call asked, every returned operation applied exactly once,
nothing applied under a key whose last error said it wasn't, amounts consistent per payment.

Faults: the proxy (tests/reliability/_proxy.py) breaks the answer of an operation the sandbox
applied: truncated, garbled (bytes, or JSON of the wrong shape), dropped, or delayed past the
per-attempt timeout. The sandbox's own faults: 5xx and 429 + Retry-After before applying, latency,
connection dropped before or after applying.

`PURSE_SOAK_SCALE=10` multiplies the payments and calls (`nox -s soak`). The table is printed at the
end of the module (`pytest -s` or not) and written to `PURSE_CAMPAIGN_REPORT` when that is set.
"""

from __future__ import annotations

import asyncio
import os
import queue
import random
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest

import purse_async
import purse_sync
from purse_async.models import Operation
from purse_async.testing import FaultInjector, LedgerEntry, Sandbox, ThreadedSandbox
from purse_async.testing._sessions import create_session
from tests.reliability._proxy import Fault, FaultProxy

SCALE = max(1, int(os.environ.get("PURSE_SOAK_SCALE", "1")))
PAYMENTS = 60 * SCALE
ASYNC_CONCURRENCY = 20
SYNC_THREADS = 8
SHARE = 0.5  # of the money calls meet the fault on their first attempt
ATTEMPT_TIMEOUT = 0.5
PROXY_DELAY = 1.0  # past ATTEMPT_TIMEOUT
LATENCY = 0.05  # below ATTEMPT_TIMEOUT: every API call is slow, none times out
RETRY = purse_async.RetryPolicy(
    max_retries=2, initial_backoff=0.01, max_backoff=0.05, max_retry_after=0.05, deadline=10.0
)
RETURN = "https://shop.example/back"
T = TypeVar("T")

PROXY_FAULTS: dict[str, Fault] = {
    "proxy truncate": "truncate",
    "proxy garble": "garble",
    "proxy garble-json": "garble_json",
    "proxy drop": "drop",
    "proxy delay": "delay",
}
SANDBOX_FAULTS = (
    "sandbox 5xx",
    "sandbox 429",
    "sandbox latency",
    "sandbox drop-before",
    "sandbox drop-after",
)
FAULTS = (*PROXY_FAULTS, *SANDBOX_FAULTS)
SERVER_ERRORS = (500, 502, 503, 504)

# Percentages of the authorized amount; all applied, each pattern stays valid (captures <= 80%,
# captures + voids <= 100%, refunds <= captures).
PATTERNS = (
    (("captures", 30), ("captures", 20), ("refunds", 10), ("voids", 20)),
    (("captures", 50), ("refunds", 20), ("refunds", 10), ("voids", 30)),
    (("voids", 10), ("captures", 40), ("refunds", 15), ("captures", 30)),
)
STEPS = 4
VERB = {"captures": "capture", "refunds": "refund", "voids": "void"}


# -- one money call and one payment's plan ------------------------------------------------------
@dataclass
class Call:
    seq: int
    payment_id: str
    kind: str
    amount: int
    armed: bool = False
    errors: list[Exception] = field(default_factory=list)
    retry_key: str | None = None
    result: Operation | None = None

    def failed(self, exc: Exception) -> str | None:
        """Record an error; the key to retry with (None when the error carries none)."""
        self.errors.append(exc)
        key = getattr(exc, "idempotency_key", None)
        return key if isinstance(key, str) and key else None

    def used_keys(self) -> set[str]:
        found = {getattr(exc, "idempotency_key", None) for exc in self.errors}
        if self.result is not None:
            found.add(self.result.idempotency_key)
        return {key for key in found if isinstance(key, str) and key}

    def lost_its_key(self) -> bool:
        """Did an attempt of this call end without the caller learning its key?"""
        return bool(self.errors) and not isinstance(
            getattr(self.errors[0], "idempotency_key", None), str
        )

    def __str__(self) -> str:
        return f"{self.kind[:-1]} of {self.amount} on payment {self.payment_id}"


@dataclass
class PaymentPlan:
    index: int
    payment_id: str
    authorized: int
    captured: int = 0  # what the caller knows from the operations it got back
    refunded: int = 0

    def call(self, step: int) -> Call:
        kind, percent = PATTERNS[self.index % len(PATTERNS)][step]
        amount = self.authorized * percent // 100
        if kind == "refunds" and amount > self.captured - self.refunded:
            kind = "voids"  # the caller knows of no capture to refund: it releases funds instead
        return Call(self.index * STEPS + step, self.payment_id, kind, amount)

    def learn(self, call: Call) -> None:
        if call.result is not None and call.kind == "captures":
            self.captured += call.amount
        elif call.result is not None and call.kind == "refunds":
            self.refunded += call.amount


async def authorize_payments(sandbox: Sandbox, count: int) -> list[PaymentPlan]:
    """`count` AUTHORIZED manual-capture payments, made in the sandbox's state (no HTTP)."""
    plans = []
    for index in range(count):
        amount = 10_000 + 100 * (index % 50)
        session = create_session(
            sandbox.state,
            {
                "entity_id": sandbox.credentials.entity_id,
                "amount": amount,
                "currency": "EUR",
                "shopper_redirection_url": RETURN,
                "order": {"reference": f"CAMPAIGN-{index}", "net_amount": amount},
            },
        )
        await sandbox.checkout(session["id"])
        payment_id = sandbox.session(session["id"])["payment_id"]
        assert sandbox.payment(payment_id)["amounts"]["available_to_capture"] == amount
        plans.append(PaymentPlan(index, payment_id, amount))
    return plans


def arm(faults: FaultInjector, fault: str, call: Call) -> bool:
    """Arm a counted sandbox fault for the first attempt of about SHARE of the calls: the path
    names the payment and the kind, and a payment's calls run one at a time."""
    if fault not in ("sandbox 5xx", "sandbox 429", "sandbox drop-before", "sandbox drop-after"):
        return False
    if random.Random(f"{fault}:{call.seq}").random() >= SHARE:
        return False
    path = f"/payments/{call.payment_id}/{call.kind}"
    if fault == "sandbox 5xx":
        faults.fail_next(1, status=SERVER_ERRORS[call.seq % len(SERVER_ERRORS)], path=path)
    elif fault == "sandbox 429":
        faults.rate_limit(1, retry_after=1.0, path=path)  # the client caps it (max_retry_after)
    else:
        faults.drop_connection(1, when="before" if fault.endswith("before") else "after", path=path)
    return True


# -- the two faces ------------------------------------------------------------------------------
async def run_payment_async(
    purse: purse_async.AsyncPurse, plan: PaymentPlan, arm_call: Callable[[Call], bool]
) -> list[Call]:
    calls = []
    for step in range(STEPS):
        call = plan.call(step)
        calls.append(call)
        call.armed = arm_call(call)
        method = getattr(purse.payments, VERB[call.kind])
        try:
            call.result = await method(call.payment_id, amount=call.amount)
        except Exception as exc:
            call.retry_key = call.failed(exc)
            try:
                call.result = await method(
                    call.payment_id, amount=call.amount, idempotency_key=call.retry_key
                )
            except Exception as again:
                call.failed(again)
        plan.learn(call)
    return calls


def run_payment_sync(
    purse: purse_sync.Purse, plan: PaymentPlan, arm_call: Callable[[Call], bool]
) -> list[Call]:
    calls = []
    for step in range(STEPS):
        call = plan.call(step)
        calls.append(call)
        call.armed = arm_call(call)
        method = getattr(purse.payments, VERB[call.kind])
        try:
            call.result = method(call.payment_id, amount=call.amount)
        except Exception as exc:
            call.retry_key = call.failed(exc)
            try:
                call.result = method(
                    call.payment_id, amount=call.amount, idempotency_key=call.retry_key
                )
            except Exception as again:
                call.failed(again)
        plan.learn(call)
    return calls


def client_options(base_url: str) -> dict[str, Any]:
    return {"base_url": base_url, "timeout": ATTEMPT_TIMEOUT, "retry_policy": RETRY}


# -- the ledger check ---------------------------------------------------------------------------
@dataclass
class Row:
    fault: str
    face: str
    payments: int
    calls: int
    injected: int
    errors: int = 0  # calls that raised at least once
    retried_ok: int = 0  # ... and whose retry with err.idempotency_key returned the operation
    replays: int = 0  # operations returned with replayed=True
    unknown: int = 0  # calls whose last error says may_have_been_applied=True
    duplicates: int = 0
    lost: int = 0
    bad_errors: int = 0  # errors not a PurseError, without key or without a bool
    seconds: float = 0.0


COLUMNS = (
    ("fault", "fault", 19),
    ("face", "face", 5),
    ("payments", "payments", 8),
    ("calls", "calls", 5),
    ("faults injected", "injected", 15),
    ("errors", "errors", 6),
    ("retry ok", "retried_ok", 8),
    ("replays resolved", "replays", 16),
    ("unknown", "unknown", 7),
    ("duplicates", "duplicates", 10),
    ("lost", "lost", 4),
    ("untyped/unkeyed", "bad_errors", 15),
    ("seconds", "seconds", 7),
)


def describe(exc: BaseException) -> str:
    return (
        f"{type(exc).__module__}.{type(exc).__qualname__}({str(exc)[:200]!r}) "
        f"idempotency_key={getattr(exc, 'idempotency_key', '<absent>')!r} "
        f"may_have_been_applied={getattr(exc, 'may_have_been_applied', '<absent>')!r}"
    )


def untyped(exc: BaseException) -> str | None:
    if not isinstance(exc, purse_async.PurseError):
        return "not a PurseError"
    if not exc.idempotency_key:
        return "no idempotency_key"
    if not isinstance(exc.may_have_been_applied, bool):
        return "may_have_been_applied is not a bool"
    return None


def verify(
    row: Row, calls: list[Call], ledgers: dict[str, list[LedgerEntry]], authorized: dict[str, int]
) -> list[str]:
    """Fill `row` from the calls and the ledger; every violation, as a sentence."""
    problems: list[str] = []
    by_key: dict[str, Call] = {}
    by_operation: dict[str, Call] = {}
    by_payment: dict[str, list[Call]] = defaultdict(list)
    for call in calls:
        by_payment[call.payment_id].append(call)
        for key in call.used_keys():
            by_key.setdefault(key, call)
        if call.result is not None:
            by_operation[call.result.id] = call
        for exc in call.errors:
            why = untyped(exc)
            if why is not None:
                row.bad_errors += 1
                problems.append(f"error {why}: {call} raised {describe(exc)}")
        if call.errors:
            row.errors += 1
            row.retried_ok += call.result is not None
        if call.result is not None:
            row.replays += call.result.replayed
            if call.retry_key is not None and call.result.idempotency_key != call.retry_key:
                problems.append(
                    f"{call}: retried with key {call.retry_key!r}, the operation returned says "
                    f"{call.result.idempotency_key!r}"
                )

    applied: dict[int, list[LedgerEntry]] = defaultdict(list)
    for payment_id, entries in ledgers.items():
        totals = {"captures": 0, "refunds": 0, "voids": 0}
        for entry in entries:
            totals[entry.kind] += entry.amount
            owner = by_key.get(entry.idempotency_key or "") or by_operation.get(entry.id)
            if owner is None:  # maybe applied by an attempt whose key the caller never learnt
                candidates = [
                    c
                    for c in by_payment[payment_id]
                    if c.lost_its_key() and (c.kind, c.amount) == (entry.kind, entry.amount)
                ]
                owner = min(candidates, key=lambda c: len(applied[c.seq]), default=None)
            if owner is None:
                row.duplicates += 1
                problems.append(f"payment {payment_id}: ledger entry no call accounts for: {entry}")
                continue
            applied[owner.seq].append(entry)
        captured, refunded, voided = totals["captures"], totals["refunds"], totals["voids"]
        if not (captured <= authorized[payment_id] and refunded <= captured):
            problems.append(f"payment {payment_id}: amounts inconsistent: {totals}")
        if voided + captured > authorized[payment_id]:
            problems.append(f"payment {payment_id}: voided + captured > authorized: {totals}")

    for call in calls:
        entries = applied[call.seq]
        for entry in entries:
            if (entry.kind, entry.amount) != (call.kind, call.amount):
                problems.append(f"{call}: the ledger applied {entry}")
        if len(entries) > 1:
            row.duplicates += len(entries) - 1
            problems.append(f"{call}: applied {len(entries)} times: {entries}")
        if call.result is not None:
            op = call.result
            if any(e.id == op.id and e.idempotency_key != op.idempotency_key for e in entries):
                problems.append(
                    f"{call}: operation {op.id} says key {op.idempotency_key!r}, the "
                    f"ledger {entries}"
                )
            if not any(e.id == op.id for e in entries) or op.amount != call.amount:
                row.lost += 1
                problems.append(
                    f"{call}: returned operation {op.id} (amount {op.amount}, key "
                    f"{op.idempotency_key}, replayed={op.replayed}) but the ledger has {entries}"
                )
        else:
            final = call.errors[-1]
            final_key = getattr(final, "idempotency_key", None)
            if getattr(final, "may_have_been_applied", None) is not False:
                row.unknown += 1
            elif final_key and (
                under_key := [e for e in entries if e.idempotency_key == final_key]
            ):
                row.lost += 1
                problems.append(
                    f"{call}: last error says not applied, the ledger has {under_key}: "
                    f"{describe(final)}"
                )
    return problems


# -- the report ---------------------------------------------------------------------------------
def table(rows: list[Row]) -> str:
    def cells(values: list[str]) -> str:
        return " | ".join(v.ljust(width) for v, (_, _, width) in zip(values, COLUMNS, strict=True))

    lines = [cells([title for title, _, _ in COLUMNS])]
    lines.append("-+-".join("-" * width for _, _, width in COLUMNS))
    for row in rows:
        values = [getattr(row, attr) for _, attr, _ in COLUMNS]
        lines.append(cells([f"{v:.1f}" if isinstance(v, float) else str(v) for v in values]))
    title = (
        f"Purse fault campaign: {PAYMENTS} payments x {STEPS} calls per fault and face "
        f"(scale {SCALE}), {SHARE:.0%} of first attempts faulted, caller retries once with "
        "err.idempotency_key"
    )
    return "\n".join([title, *lines]) + "\n"


@pytest.fixture(scope="module")
def campaign(pytestconfig: pytest.Config) -> Iterator[list[Row]]:
    rows: list[Row] = []
    yield rows
    if not rows:
        return
    text = table(sorted(rows, key=lambda r: (FAULTS.index(r.fault), r.face)))
    reporter = pytestconfig.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line("")
        for line in text.splitlines():
            reporter.write_line(line)
    report = os.environ.get("PURSE_CAMPAIGN_REPORT")
    if report:
        Path(report).write_text(text, encoding="utf-8")


def conclude(row: Row, problems: list[str]) -> None:
    assert row.payments >= 50 and row.calls >= 200
    # The fault really happened to a good share of the calls (not a campaign of no faults).
    assert row.injected >= row.calls // 4, f"only {row.injected} faults injected"
    shown = "\n".join(problems[:15])
    more = f"\n... and {len(problems) - 15} more" if len(problems) > 15 else ""
    assert not problems, (
        f"{row.fault} / {row.face}: {len(problems)} violations ({row.duplicates} duplicates, "
        f"{row.lost} lost, {row.bad_errors} errors untyped or unkeyed)\n{shown}{more}"
    )


TIMEOUT = 60 + 90 * SCALE


async def on_loop(fn: Callable[[], T]) -> T:
    """Run `fn` on the sandbox's loop (what `ThreadedSandbox.call` awaits)."""
    return fn()


def injected_count(
    fault: str, calls: list[Call], proxy: FaultProxy | None, faults: FaultInjector
) -> int:
    if proxy is not None:
        return proxy.faulted
    if fault == "sandbox latency":
        return len(calls)  # every call was slowed
    return sum(call.armed for call in calls) - faults.pending


# -- the tests ----------------------------------------------------------------------------------
@pytest.mark.timeout(TIMEOUT)
@pytest.mark.parametrize("fault", FAULTS)
async def test_async_face(fault: str, campaign: list[Row]) -> None:
    started = time.perf_counter()
    async with Sandbox() as sandbox:
        plans = await authorize_payments(sandbox, PAYMENTS)
        proxy = None
        if fault in PROXY_FAULTS:
            proxy = FaultProxy(
                sandbox.base_url, PROXY_FAULTS[fault], share=SHARE, delay=PROXY_DELAY
            )
            await proxy.start()
        if fault == "sandbox latency":
            sandbox.faults.latency(LATENCY)
        calls: list[Call] = []
        try:
            options = client_options(proxy.base_url if proxy else sandbox.base_url)
            async with sandbox.client(**options) as purse:
                todo = iter(plans)

                async def worker() -> None:
                    for plan in todo:
                        calls.extend(
                            await run_payment_async(
                                purse, plan, lambda call: arm(sandbox.faults, fault, call)
                            )
                        )

                await asyncio.gather(*(worker() for _ in range(ASYNC_CONCURRENCY)))
        finally:
            if proxy is not None:
                await proxy.close()
        ledgers = {plan.payment_id: sandbox.ledger(plan.payment_id) for plan in plans}
        injected = injected_count(fault, calls, proxy, sandbox.faults)
    row = Row(fault, "async", len(plans), len(calls), injected)
    problems = verify(row, calls, ledgers, {p.payment_id: p.authorized for p in plans})
    row.seconds = time.perf_counter() - started
    campaign.append(row)
    conclude(row, problems)


@pytest.mark.timeout(TIMEOUT)
@pytest.mark.parametrize("fault", FAULTS)
def test_sync_face(fault: str, campaign: list[Row]) -> None:
    started = time.perf_counter()
    box = ThreadedSandbox()
    try:
        sandbox = box.sandbox
        plans = box.call(authorize_payments(sandbox, PAYMENTS))
        proxy = None
        if fault in PROXY_FAULTS:
            proxy = FaultProxy(
                sandbox.base_url, PROXY_FAULTS[fault], share=SHARE, delay=PROXY_DELAY
            )
            box.call(proxy.start())
        if fault == "sandbox latency":
            box.call(on_loop(lambda: sandbox.faults.latency(LATENCY)))

        def arm_call(call: Call) -> bool:  # the fault rules live on the sandbox's loop
            return box.call(on_loop(lambda: arm(sandbox.faults, fault, call)))

        todo: queue.SimpleQueue[PaymentPlan] = queue.SimpleQueue()
        for plan in plans:
            todo.put(plan)
        calls: list[Call] = []

        def worker(purse: purse_sync.Purse) -> None:
            while True:
                try:
                    plan = todo.get_nowait()
                except queue.Empty:
                    return
                calls.extend(run_payment_sync(purse, plan, arm_call))

        try:
            options = client_options(proxy.base_url if proxy else sandbox.base_url)
            with (
                purse_sync.Purse(**{**sandbox.client_kwargs(), **options}) as purse,
                ThreadPoolExecutor(SYNC_THREADS, thread_name_prefix="campaign") as pool,
            ):
                for future in [pool.submit(worker, purse) for _ in range(SYNC_THREADS)]:
                    future.result()
        finally:
            if proxy is not None:
                box.call(proxy.close())
        ledgers = box.call(
            on_loop(lambda: {p.payment_id: sandbox.ledger(p.payment_id) for p in plans})
        )
        injected = box.call(on_loop(lambda: injected_count(fault, calls, proxy, sandbox.faults)))
    finally:
        box.close()
    row = Row(fault, "sync", len(plans), len(calls), injected)
    problems = verify(row, calls, ledgers, {p.payment_id: p.authorized for p in plans})
    row.seconds = time.perf_counter() - started
    campaign.append(row)
    conclude(row, problems)
