"""Why purse_sync's bridge is hand-made: CPU per call of running a trivial coroutine on a
background loop from 1 and 8 threads, anyio's BlockingPortal vs run_coroutine_threadsafe vs ours,
and the floor under any bridge: one lock round trip between two Python threads on this machine.

    python benchmarks/bridge_overhead.py [--calls 20000] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import machine
from purse_sync._bridge import Bridge


async def nothing() -> int:
    return 1


def per_call_cpu(call: Callable[[], Any], calls: int, threads: int) -> float:
    start = threading.Barrier(threads + 1)

    def worker() -> None:
        start.wait()
        for _ in range(calls // threads):
            call()

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    cpu0 = time.process_time()
    start.wait()
    for t in pool:
        t.join()
    return (time.process_time() - cpu0) / calls * 1e6


def round_trip_cpu(calls: int) -> float:
    """CPU µs of handing control to another thread and back (two wake-ups, two GIL handovers)."""
    ping, pong = threading.Lock(), threading.Lock()
    ping.acquire()
    pong.acquire()

    def other() -> None:
        for _ in range(calls):
            ping.acquire()
            pong.release()

    helper = threading.Thread(target=other)
    helper.start()
    cpu0 = time.process_time()
    for _ in range(calls):
        ping.release()
        pong.acquire()
    helper.join()
    return (time.process_time() - cpu0) / calls * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.calls, args.rounds = 800, 1

    loop = asyncio.new_event_loop()
    loop_thread = threading.Thread(target=loop.run_forever, daemon=True)
    loop_thread.start()
    bridge = Bridge()
    results: dict[str, list[float]] = {}
    with contextlib.ExitStack() as stack:
        variants: dict[str, Callable[[], Any]] = {}
        try:  # the bench extra installs anyio; without it that baseline is left out
            from anyio.from_thread import start_blocking_portal
        except ImportError:
            print("anyio is not installed (pip install -e '.[bench]'): its portal is skipped")
        else:
            portal = stack.enter_context(start_blocking_portal())
            variants["anyio BlockingPortal"] = lambda: portal.call(nothing)
        variants["run_coroutine_threadsafe"] = lambda: asyncio.run_coroutine_threadsafe(
            nothing(), loop
        ).result()
        variants["purse_sync bridge"] = lambda: bridge.run(nothing)
        for _ in range(args.rounds):
            for threads in (1, 8):
                for name, call in variants.items():
                    key = f"{name} x{threads}"
                    results.setdefault(key, []).append(per_call_cpu(call, args.calls, threads))
            results.setdefault("floor: thread round trip x1", []).append(round_trip_cpu(args.calls))
    loop.call_soon_threadsafe(loop.stop)
    loop_thread.join()
    loop.close()
    bridge.stop()
    print(f"machine: {machine()}")
    print("CPU µs per call (median of rounds; lower is better)")
    for key, values in results.items():
        print(f"  {key:<32} {statistics.median(values):7.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
