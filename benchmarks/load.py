"""A bounded load script: a realistic checkout mix (create session, pay, retrieve, capture, refund)
against the embedded sandbox (default) or any base URL, with purse_async or threads of purse_sync.

    python benchmarks/load.py [--checkouts 300] [--concurrency 20] [--duration 60]
                              [--sync --threads 8] [--base-url URL] [--json out.json]

With --base-url, credentials come from PURSE_* and no shopper can be simulated, so the mix is
create session + retrieve it. Prints throughput, p50/p95/p99 latency per call and errors.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import purse_async
import purse_sync
from purse_async.testing import Sandbox, ThreadedSandbox

RETURN = "https://shop.example/back"


class Recorder:
    def __init__(self, total: int) -> None:
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.done = 0
        self.total = total
        self.lock = threading.Lock()

    def add(self, name: str, seconds: float) -> None:
        with self.lock:
            self.latencies[name].append(seconds)

    def fail(self, name: str, exc: BaseException) -> None:
        with self.lock:
            self.errors[f"{name}: {type(exc).__name__}"] += 1

    def tick(self) -> None:
        with self.lock:
            self.done += 1
            if sys.stderr.isatty() or self.done == self.total:
                width = 30
                filled = width * self.done // max(self.total, 1)
                print(
                    f"\r[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total}",
                    end="" if self.done < self.total else "\n",
                    file=sys.stderr,
                )

    def summary(self, wall: float) -> dict[str, Any]:
        calls = sum(len(v) for v in self.latencies.values())
        out: dict[str, Any] = {
            "checkouts": self.done,
            "calls": calls,
            "seconds": wall,
            "calls_per_s": calls / wall if wall else 0.0,
            "errors": dict(self.errors),
            "latency_ms": {},
        }
        for name, values in sorted(self.latencies.items()):
            ordered = sorted(values)
            pct = statistics.quantiles(ordered, n=100) if len(ordered) > 1 else ordered * 99
            out["latency_ms"][name] = {
                "n": len(ordered),
                "p50": pct[49] * 1000,
                "p95": pct[94] * 1000,
                "p99": pct[98] * 1000,
            }
        return out


async def checkout_async(
    purse: purse_async.AsyncPurse, sandbox: Sandbox | None, rec: Recorder
) -> None:
    async def timed(name: str, coro: Any) -> Any:
        t0 = time.perf_counter()
        try:
            result = await coro
        except purse_async.PurseError as exc:
            rec.fail(name, exc)
            raise
        rec.add(name, time.perf_counter() - t0)
        return result

    try:
        session = await timed(
            "create_session",
            purse.client_sessions.create(
                amount=12000,
                currency="EUR",
                shopper_redirection_url=RETURN,
                order={"reference": "load"},
            ),
        )
        if sandbox is None:
            await timed("retrieve_session", purse.client_sessions.retrieve(session.id))
            return
        redirect = await purse.redirections.verify(await sandbox.checkout(session.id))
        assert redirect.payment_id is not None
        payment = await timed("retrieve_payment", purse.payments.retrieve(redirect.payment_id))
        await timed("capture", purse.payments.capture(payment.id, amount=5000))
        await timed("refund", purse.payments.refund(payment.id, amount=2000))
    except purse_async.PurseError:
        pass
    finally:
        rec.tick()


async def run_async(
    args: argparse.Namespace, sandbox: Sandbox | None, kwargs: dict[str, Any]
) -> Recorder:
    rec = Recorder(args.checkouts)
    deadline = time.monotonic() + args.duration
    async with purse_async.AsyncPurse(**kwargs) as purse:
        queue = iter(range(args.checkouts))

        async def worker() -> None:
            for _ in queue:
                if time.monotonic() > deadline:
                    return
                await checkout_async(purse, sandbox, rec)

        await asyncio.gather(*(worker() for _ in range(args.concurrency)))
    return rec


def run_sync(args: argparse.Namespace, box: Any, kwargs: dict[str, Any]) -> Recorder:
    rec = Recorder(args.checkouts)
    deadline = time.monotonic() + args.duration
    counter = iter(range(args.checkouts))
    lock = threading.Lock()

    def timed(name: str, fn: Any, *a: Any, **kw: Any) -> Any:
        t0 = time.perf_counter()
        try:
            result = fn(*a, **kw)
        except purse_sync.PurseError as exc:
            rec.fail(name, exc)
            raise
        rec.add(name, time.perf_counter() - t0)
        return result

    with purse_sync.Purse(**kwargs) as purse:

        def worker() -> None:
            while time.monotonic() < deadline:
                with lock:
                    if next(counter, None) is None:
                        return
                try:
                    session = timed(
                        "create_session",
                        purse.client_sessions.create,
                        amount=12000,
                        currency="EUR",
                        shopper_redirection_url=RETURN,
                        order={"reference": "load"},
                    )
                    if box is None:
                        timed("retrieve_session", purse.client_sessions.retrieve, session.id)
                        continue
                    url = box.call(box.sandbox.checkout(session.id))
                    redirect = purse.redirections.verify(url)
                    assert redirect.payment_id is not None
                    payment = timed(
                        "retrieve_payment", purse.payments.retrieve, redirect.payment_id
                    )
                    timed("capture", purse.payments.capture, payment.id, amount=5000)
                    timed("refund", purse.payments.refund, payment.id, amount=2000)
                except purse_sync.PurseError:
                    pass
                finally:
                    rec.tick()

        threads = [threading.Thread(target=worker) for _ in range(args.threads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    return rec


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--checkouts", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--duration", type=float, default=60.0, help="stop after this long")
    parser.add_argument("--sync", action="store_true", help="purse_sync from --threads threads")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--base-url", help="a Purse API to load (PURSE_* credentials)")
    parser.add_argument("--json", help="also write the summary to this file")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 20 checkouts")
    args = parser.parse_args(argv)
    if args.quick:
        args.checkouts, args.concurrency, args.threads = 20, 5, 4
    started = time.perf_counter()
    if args.base_url:
        kwargs: dict[str, Any] = {**purse_async.Settings.env_kwargs(), "base_url": args.base_url}
        if args.sync:
            rec = run_sync(args, None, kwargs)
        else:
            rec = asyncio.run(run_async(args, None, kwargs))
    elif args.sync:
        box = ThreadedSandbox()
        try:
            rec = run_sync(args, box, box.sandbox.client_kwargs())
        finally:
            box.close()
    else:

        async def embedded() -> Recorder:
            async with Sandbox() as sandbox:
                return await run_async(args, sandbox, sandbox.client_kwargs())

        rec = asyncio.run(embedded())
    summary = rec.summary(time.perf_counter() - started)
    mode = (
        f"purse_sync x{args.threads} threads"
        if args.sync
        else f"purse_async concurrency {args.concurrency}"
    )
    print(
        f"{mode}: {summary['checkouts']} checkouts, {summary['calls']} timed calls in "
        f"{summary['seconds']:.2f}s = {summary['calls_per_s']:.0f} calls/s"
    )
    for name, lat in summary["latency_ms"].items():
        print(
            f"  {name:<17} n={lat['n']:<5} p50 {lat['p50']:6.1f} ms  p95 {lat['p95']:6.1f} ms"
            f"  p99 {lat['p99']:6.1f} ms"
        )
    print(f"  errors: {summary['errors'] or 'none'}")
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2))
    return 1 if summary["errors"] and os.environ.get("LOAD_STRICT") else 0


if __name__ == "__main__":
    sys.exit(main())
