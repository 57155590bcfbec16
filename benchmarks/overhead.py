"""What the SDK costs over its floor, side by side in one run against one lean local server:
purse_async vs raw aiohttp + json.loads, purse_sync from threads vs requests.Session; with
--tls also purse_async vs raw aiohttp both over TLS (a private CA made for the run, a second
lean server on 127.0.0.1 with its certificate, full verification on both sides).

    python benchmarks/overhead.py [--requests 4000] [--rounds 3] [--pin] [--tls | --tls-only]
                                  [--quick] [--json out.json]

Variants are interleaved round by round and the median of the rounds is reported; ratios first.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import ssl
import subprocess
import sys
import tempfile
import textwrap
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp

import purse_async
import purse_sync
from benchmarks._common import (
    emit_json,
    lean_server,
    machine,
    measure,
    median_of,
    pick_cpus,
    pin_this_process,
    table,
)

PAYMENT_ID = "bcb2c3ff-f9a2-4f60-8913-fa94e4d41f27"
CREDS = {"client_id": "bench", "client_secret": "bench-secret", "api_key": "bench-key"}


def split(n: int, parts: int) -> list[int]:
    return [n // parts + (1 if i < n % parts else 0) for i in range(parts)]


def raw_aiohttp(
    base: str, n: int, concurrency: int, tls: ssl.SSLContext | None = None
) -> Callable[[], int]:
    url = f"{base}/payment/v2/payments/{PAYMENT_ID}"
    headers = {"Authorization": "Bearer bench-token", "x-api-key": "bench-key"}

    async def main() -> int:
        connector = aiohttp.TCPConnector(limit=100, ssl=True if tls is None else tls)
        async with aiohttp.ClientSession(connector=connector) as http:

            async def worker(count: int) -> None:
                for _ in range(count):
                    async with http.get(url, headers=headers) as resp:
                        json.loads(await resp.read())

            await asyncio.gather(*(worker(c) for c in split(n, concurrency)))
        return n

    return lambda: asyncio.run(main())


def sdk_async(
    base: str, n: int, concurrency: int, tls: ssl.SSLContext | None = None
) -> Callable[[], int]:
    options: dict[str, Any] = {} if tls is None else {"ssl": tls}

    async def main() -> int:
        async with purse_async.AsyncPurse(**CREDS, base_url=base, **options) as purse:
            await purse.authenticate()

            async def worker(count: int) -> None:
                for _ in range(count):
                    await purse.payments.retrieve(PAYMENT_ID)

            await asyncio.gather(*(worker(c) for c in split(n, concurrency)))
        return n

    return lambda: asyncio.run(main())


def threaded(n: int, threads: int, make_call: Callable[[], Callable[[], Any]]) -> int:
    start = threading.Barrier(threads + 1)

    def worker(count: int) -> None:
        call = make_call()
        start.wait()
        for _ in range(count):
            call()

    pool = [threading.Thread(target=worker, args=(c,)) for c in split(n, threads)]
    for t in pool:
        t.start()
    start.wait()
    for t in pool:
        t.join()
    return n


def sdk_sync(purse: purse_sync.Purse, n: int, threads: int) -> Callable[[], int]:
    return lambda: threaded(n, threads, lambda: lambda: purse.payments.retrieve(PAYMENT_ID))


def requests_session(base: str, n: int, threads: int) -> Callable[[], int]:
    import requests

    url = f"{base}/payment/v2/payments/{PAYMENT_ID}"
    headers = {"Authorization": "Bearer bench-token", "x-api-key": "bench-key"}

    sessions: list[Any] = []

    def make() -> Callable[[], Any]:
        session = requests.Session()  # one per thread: Session is not documented thread-safe
        sessions.append(session)
        return lambda: session.get(url, headers=headers).json()

    def run() -> int:
        try:
            return threaded(n, threads, make)
        finally:
            # Closed, not left to the garbage collector: no sockets linger into the next run.
            for session in sessions:
                session.close()
            sessions.clear()

    return run


def private_ca(directory: Path) -> tuple[Path, Path, Path]:
    """A CA made for this run and a certificate it signed for 127.0.0.1 / localhost:
    (CA certificate, server certificate, server key) as PEM files in `directory`."""
    from purse_async.testing._tls import private_ca as make

    files = make(directory)
    return files.ca, files.cert, files.key


# The lean server's own handlers (benchmarks/_lean_server.py) served over TLS, in a process of
# its own: argv = payload, certificate, key[, CPU]; prints its port, stops on stdin EOF.
TLS_LEAN_SERVER = textwrap.dedent(
    """
    import asyncio, contextlib, os, ssl, sys
    sys.path.insert(0, {here!r})
    import _lean_server as lean
    from aiohttp import web

    async def main():
        if len(sys.argv) > 4:
            with contextlib.suppress(OSError):
                os.sched_setaffinity(0, {{int(sys.argv[4])}})
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(sys.argv[2], sys.argv[3])
        app = web.Application()
        app.router.add_post("/oauth/token", lean.token)
        app.router.add_get("/payment/v2/payments/{{id}}", lean.payment)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024, ssl_context=context)
        await site.start()
        print(site._server.sockets[0].getsockname()[1], flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
        await runner.cleanup()

    asyncio.run(main())
    """
).format(here=str(Path(__file__).resolve().parent))


@contextlib.contextmanager
def tls_lean_server(
    payload: str = "seed", cpu: int | None = None
) -> Iterator[tuple[str, ssl.SSLContext]]:
    """The lean server over TLS with a certificate from a private CA made for the run;
    yields its https:// base URL and a client context that trusts that CA only."""
    with tempfile.TemporaryDirectory(prefix="purse-bench-tls-") as tmp:
        ca, cert, key = private_ca(Path(tmp))
        proc = subprocess.Popen(
            [sys.executable, "-c", TLS_LEAN_SERVER, payload, str(cert), str(key)]
            + ([] if cpu is None else [str(cpu)]),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert proc.stdout is not None
            port = int(proc.stdout.readline())
            context = ssl.create_default_context(cafile=str(ca))
            yield f"https://127.0.0.1:{port}", context
        finally:
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.close()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
            proc.stdout.close()


def run(args: argparse.Namespace) -> dict[str, Any]:
    n = args.requests
    results: dict[str, list[dict[str, float]]] = {}
    cpus = pick_cpus() if args.pin else None
    if args.pin and cpus is None:
        print("--pin: this system cannot confine processes to CPUs here; running unpinned")
    with contextlib.ExitStack() as stack:
        base = stack.enter_context(lean_server(args.payload, None if cpus is None else cpus[1]))
        tls_base, tls = (
            stack.enter_context(tls_lean_server(args.payload, None if cpus is None else cpus[1]))
            if args.tls
            else ("", None)
        )
        # Before the bridge's loop thread and the worker threads exist: they inherit it.
        if cpus is not None and not pin_this_process(cpus[0]):
            print("--pin: the system refused to confine this process; running unpinned")
            cpus = None
        purse = purse_sync.Purse(**CREDS, base_url=base)
        purse.authenticate()
        # Compared variants run back to back, in alternating order from round to round: on a
        # shared machine drift between distant runs (or a heavy run just before) would
        # otherwise be billed to one side of a ratio.
        groups: list[dict[str, Callable[[], int]]] = [
            {
                f"raw aiohttp c={c}": raw_aiohttp(base, n, c),
                f"purse_async c={c}": sdk_async(base, n, c),
            }
            for c in (1, 10, 100)
        ]
        if tls is not None:
            # Both over TLS, verifying the same private CA: production is HTTPS.
            groups += [
                {
                    f"raw aiohttp TLS c={c}": raw_aiohttp(tls_base, n, c, tls),
                    f"purse_async TLS c={c}": sdk_async(tls_base, n, c, tls),
                }
                for c in (10, 100)
            ]
        groups.append(
            {"purse_async c=8": sdk_async(base, n, 8), "purse_sync t=8": sdk_sync(purse, n, 8)}
        )
        for t in (8, 1, 32):
            group = {} if t == 8 else {f"purse_sync t={t}": sdk_sync(purse, n, t)}
            if not args.no_requests:
                group[f"requests t={t}"] = requests_session(base, n, t)
            if group:
                groups.append(group)
        if args.sync_pair:
            groups = [g for g in groups if "purse_sync t=8" in g and "purse_async c=8" in g]
        if args.tls_only:
            groups = [g for g in groups if any(" TLS " in name for name in g)]
        for round_ in range(args.rounds):
            for group in groups:
                order = list(group.items())
                for name, fn in order if round_ % 2 == 0 else reversed(order):
                    results.setdefault(name, []).append(measure(fn))
        purse.close()
    med = {name: median_of(rs) for name, rs in results.items()}

    def ratio(a: str, b: str, key: str) -> float | None:
        if a not in med or b not in med:
            return None
        return med[a][key] / med[b][key]

    ratios = {
        "async/raw rps c=10": ratio("purse_async c=10", "raw aiohttp c=10", "rps"),
        "async/raw rps c=100": ratio("purse_async c=100", "raw aiohttp c=100", "rps"),
        "async/raw cpu c=10": ratio("purse_async c=10", "raw aiohttp c=10", "cpu_us"),
        "async/raw cpu c=100": ratio("purse_async c=100", "raw aiohttp c=100", "cpu_us"),
        "sync t=8 / async c=8 rps": ratio("purse_sync t=8", "purse_async c=8", "rps"),
        "sync/requests rps t=8": ratio("purse_sync t=8", "requests t=8", "rps"),
        "sync/requests rps t=32": ratio("purse_sync t=32", "requests t=32", "rps"),
        "TLS async/raw rps c=10": ratio("purse_async TLS c=10", "raw aiohttp TLS c=10", "rps"),
        "TLS async/raw rps c=100": ratio("purse_async TLS c=100", "raw aiohttp TLS c=100", "rps"),
        "TLS async/raw cpu c=10": ratio("purse_async TLS c=10", "raw aiohttp TLS c=10", "cpu_us"),
        "TLS async/raw cpu c=100": ratio(
            "purse_async TLS c=100", "raw aiohttp TLS c=100", "cpu_us"
        ),
    }
    return {
        "requests": n,
        "rounds": args.rounds,
        "payload": args.payload,
        "machine": machine(),
        "cpus": "any" if cpus is None else f"client on CPU {cpus[0]}, server on CPU {cpus[1]}",
        "median": med,
        "ratios": ratios,
    }


TARGETS = {
    "async/raw rps c=10": (">=", 0.85),
    "async/raw rps c=100": (">=", 0.85),
    "async/raw cpu c=10": ("<=", 1.25),
    "async/raw cpu c=100": ("<=", 1.25),
    "sync t=8 / async c=8 rps": (">=", 0.65),
    "sync/requests rps t=8": (">=", 2.0),
    "TLS async/raw rps c=10": (">=", 0.85),
    "TLS async/raw rps c=100": (">=", 0.85),
    "TLS async/raw cpu c=10": ("<=", 1.25),
    "TLS async/raw cpu c=100": ("<=", 1.25),
}


def report(data: dict[str, Any]) -> str:
    rows = []
    for name, value in data["ratios"].items():
        if value is None:
            continue
        op, bound = TARGETS.get(name, ("", None))
        ok = (
            ""
            if bound is None
            else ("met" if (value >= bound if op == ">=" else value <= bound) else "MISSED")
        )
        rows.append([name, value, f"{op} {bound}" if bound else "", ok])
    out = [
        f"machine: {data['machine']}",
        f"ratios (medians of rounds, same run, same server, payload {data['payload']!r}, "
        f"CPUs: {data['cpus']})",
        table(rows, ["ratio", "value", "target", ""]),
        "",
    ]
    rows = [[name, m["rps"], m["cpu_us"]] for name, m in data["median"].items()]
    out += [
        "absolute (noisy shared machine: compare ratios, not these)",
        table(rows, ["variant", "req/s", "client CPU µs/req"]),
    ]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="a smoke run: 200 requests, 1 round")
    parser.add_argument("--no-requests", action="store_true", help="skip requests.Session")
    parser.add_argument(
        "--sync-pair",
        action="store_true",
        help="only purse_async c=8 and purse_sync t=8, alternating (nothing else in the process)",
    )
    parser.add_argument(
        "--payload",
        choices=["seed", "full"],
        default="seed",
        help="the guide's GetPayment as printed (default), or with order/customer filled in",
    )
    parser.add_argument(
        "--pin",
        action="store_true",
        help="confine this process (every variant) to one CPU and the server to another (Linux)",
    )
    parser.add_argument(
        "--tls",
        action="store_true",
        help="also purse_async vs raw aiohttp both over TLS (private CA, c=10 and c=100)",
    )
    parser.add_argument(
        "--tls-only", action="store_true", help="only the TLS pairs (implies --tls)"
    )
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)
    args.tls = args.tls or args.tls_only
    if args.quick:
        args.requests, args.rounds = 200, 1
    if not args.no_requests:
        try:
            import requests  # noqa: F401
        except ImportError:
            print("requests is not installed (pip install -e '.[bench]'): skipping it")
            args.no_requests = True
    data = run(args)
    print(report(data))
    emit_json(args.json, data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
