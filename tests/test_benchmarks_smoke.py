"""The benchmark scripts still run (tiny counts, loopback only); no timing is asserted here:
performance is judged by the ratios the scripts print, on a quiet machine."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("decode.py", "models alone / json.loads"),
        ("token_storm.py", "-> 1 token request(s)"),
        ("load.py", "errors: none"),
        ("bridge_overhead.py", "purse_sync bridge x8"),
        ("overhead.py", "async/raw rps c=10"),
        ("overhead.py --pin --no-requests", "sync t=8 / async c=8 rps"),
        ("overhead.py --tls-only --no-requests", "TLS async/raw rps c=10"),
        ("fleet.py", "per process / alone"),
    ],
)
def test_benchmark_script_runs(script: str, expected: str) -> None:
    name, *options = script.split()
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / name), "--quick", *options],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert expected in done.stdout
