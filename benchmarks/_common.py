"""Shared benchmark plumbing: the lean server subprocess, timing, medians, tables and JSON.

Only 127.0.0.1 is ever contacted; every run is bounded by a request count.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiohttp

HERE = Path(__file__).resolve().parent


def machine() -> str:
    """What the numbers were measured on: CPU model and count, Python, aiohttp (the ratios
    move with the machine: fixed costs such as a cross-CPU wake-up weigh more on a fast CPU)."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    python = platform.python_version()
    # The machine's CPUs, not this process's share (--pin narrows that before the report).
    return f"{model}, {os.cpu_count()} CPUs, Python {python}, aiohttp {aiohttp.__version__}"


def pick_cpus() -> tuple[int, int] | None:
    """Two CPUs this process may use (client, server), or None where that cannot be set."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    cpus = sorted(os.sched_getaffinity(0))
    return (cpus[0], cpus[1]) if len(cpus) >= 2 else None


def pin_this_process(cpu: int) -> bool:
    """Confine every thread of this process (and threads it starts later) to `cpu`; False
    where the system refuses (a container may)."""
    try:
        for tid in os.listdir("/proc/self/task"):
            os.sched_setaffinity(int(tid), {cpu})
    except OSError:
        return False
    return True


@contextmanager
def lean_server(payload: str = "seed", cpu: int | None = None) -> Iterator[str]:
    """Start `_lean_server.py` in its own process (on `cpu` if given); yields its base URL."""
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "_lean_server.py"), payload]
        + ([] if cpu is None else [str(cpu)]),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        yield f"http://127.0.0.1:{port}"
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def measure(run: Callable[[], int]) -> dict[str, float]:
    """Run once; requests/s and client CPU µs per request (all threads of this process)."""
    wall0, cpu0 = time.perf_counter(), time.process_time()
    n = run()
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    return {"rps": n / wall, "cpu_us": cpu / n * 1e6, "requests": n}


def median_of(results: list[dict[str, float]]) -> dict[str, float]:
    return {k: statistics.median(r[k] for r in results) for k in results[0]}


def table(rows: list[list[Any]], headers: list[str]) -> str:
    cells = [headers, *[[f"{c:.2f}" if isinstance(c, float) else str(c) for c in r] for r in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def emit_json(path: str | None, data: Any) -> None:
    if path:
        Path(path).write_text(json.dumps(data, indent=2))
