"""Shared benchmark plumbing: the lean server subprocess, timing, medians, tables and JSON.

Only 127.0.0.1 is ever contacted; every run is bounded by a request count.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


@contextmanager
def lean_server(payload: str = "seed") -> Iterator[str]:
    """Start `_lean_server.py` in its own process; yields its base URL."""
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "_lean_server.py"), payload],
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
