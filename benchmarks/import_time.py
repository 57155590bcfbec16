"""Import cost: `import purse_async` (and what users write, `from purse_async import AsyncPurse`,
and `import purse_sync`) vs `import aiohttp`, each in a fresh interpreter, runs alternating.

Each run times the import statement inside the child (interpreter start-up left out: it is the
same for every variant and would only dilute the ratio), from bytecode written before timing:
wall time, and the child's CPU time (less moved by other processes on a shared machine).
Printed: per variant, the ratio of medians to `import aiohttp` (wall and CPU) and the minimums'
ratio, then the medians. The target (issue 13): `import purse_async` within 1.15x.

    python benchmarks/import_time.py [--runs 40] [--quick] [--json out.json]
        [--before DIR [--module purse_sync ...]]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._common import machine  # noqa: E402

BASELINE = "import aiohttp"
VARIANTS = {
    "import purse_async": "import purse_async",
    "from purse_async import AsyncPurse": "from purse_async import AsyncPurse",
    "import purse_sync": "import purse_sync",
    "from purse_sync import Purse": "from purse_sync import Purse",
    # What a service does at start-up: the import and one client (no request is made).
    "... and AsyncPurse(...)": (
        "from purse_async import AsyncPurse\n"
        "AsyncPurse(client_id='c', client_secret='s', api_key='k', entity_id='e',"
        " base_url='http://127.0.0.1:9', token_url='http://127.0.0.1:9/token')"
    ),
}
PROBE = (
    "import sys, time\n"
    "sys.path.insert(0, {root!r})\n"
    "t0, c0 = time.perf_counter(), time.process_time()\n"
    "{statement}\n"
    "print(time.perf_counter() - t0, time.process_time() - c0)\n"
)


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PURSE_", "PYTHONPROFILE"))}
    # Users import from cached bytecode: let the warm-up write it, and every run read it.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("PYTHONPATH", None)
    return env


def time_once(statement: str, root: Path = ROOT) -> tuple[float, float]:
    """Seconds the statement takes in a fresh interpreter (`root` first on its path): wall, CPU."""
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(statement=statement, root=str(root))],
        env=_env(),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    wall, cpu = out.strip().splitlines()[-1].split()
    return float(wall), float(cpu)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=40, help="runs per statement")
    parser.add_argument("--quick", action="store_true", help="a smoke run (3 runs)")
    parser.add_argument("--json", type=Path, help="also write the timings here")
    parser.add_argument(
        "--before",
        type=Path,
        help="also time `import purse_async` from this directory (e.g. an older version: "
        "`git archive <rev> purse_async purse_sync | tar -x -C DIR`), in the same alternating "
        "runs",
    )
    parser.add_argument(
        "--module",
        action="append",
        help="with --before: the module(s) to import from DIR (repeatable; default purse_async)",
    )
    args = parser.parse_args(argv)
    if args.module and not args.before:
        parser.error("--module names what to import from --before DIR")
    runs = 3 if args.quick else args.runs
    statements = [BASELINE, *VARIANTS.values()]
    roots = dict.fromkeys(statements, ROOT)
    for module in (args.module or ["purse_async"]) if args.before else []:
        before = f"import {module}  # from {args.before}"
        VARIANTS[f"import {module} from {args.before}"] = before
        statements.append(before)
        roots[before] = args.before.resolve()
    for statement in statements:  # write the bytecode; the first import is never timed
        time_once(statement, roots[statement])
    times: dict[str, list[tuple[float, float]]] = {s: [] for s in statements}
    rng = random.Random(13)
    for _ in range(runs):
        # Alternating, in a shuffled order per round: a burst of load on the shared machine
        # falls on every statement alike rather than on one.
        order = statements[:]
        rng.shuffle(order)
        for statement in order:
            times[statement].append(time_once(statement, roots[statement]))

    def wall(statement: str) -> list[float]:
        return [w for w, _ in times[statement]]

    def cpu(statement: str) -> list[float]:
        return [c for _, c in times[statement]]

    def ratio(
        pick: Callable[[str], list[float]], statement: str, of: Callable[..., float]
    ) -> float:
        return of(pick(statement)) / of(pick(BASELINE))

    print(f"machine: {machine()}")
    print(f"{runs} runs each, alternating; import time measured inside a fresh interpreter")
    for name, statement in VARIANTS.items():
        print(
            f"{name} / {BASELINE}: {ratio(wall, statement, statistics.median):.2f} (median), "
            f"{ratio(cpu, statement, statistics.median):.2f} (median CPU), "
            f"{ratio(wall, statement, min):.2f} (min)"
        )
    labels = {BASELINE: BASELINE, **{statement: name for name, statement in VARIANTS.items()}}
    for statement in statements:
        w, c = statistics.median(wall(statement)), statistics.median(cpu(statement))
        print(
            f"  {labels[statement]:<36} median {w * 1000:6.1f} ms, CPU {c * 1000:6.1f} ms; "
            f"min {min(wall(statement)) * 1000:6.1f} ms"
        )
    if args.json:
        args.json.write_text(json.dumps(times, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
