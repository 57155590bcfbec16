"""A fleet of client processes against one server: what each process gets when N of them share
it, and how many token requests a fleet makes with and without `RedisTokenStore`.

    python benchmarks/fleet.py [--server sandbox|lean] [--tls] [--procs 1,2,4] [--concurrency 10]
                               [--requests 2000] [--rounds 1] [--token-procs 8]
                               [--token-calls 50] [--redis-url URL] [--quick] [--json out.json]

Throughput: N processes (each one `purse_async.AsyncPurse`, `--concurrency` coroutines) all
retrieve a payment `--requests` times, started together; per-process and total requests/s
against one process alone. The server is one process: the embedded sandbox (the default:
the whole emulated API, so the server is usually the bottleneck) or the lean server of
overhead.py (a canned answer: closer to the clients' own limit). `--tls`: the server over https
with a certificate from a private CA made for the run, which every client verifies.

Tokens: `--token-procs` processes start at once with no token, each makes `--token-calls`
calls; token requests counted by the sandbox (and by the clients), first with each process's
own memory store, then with one `RedisTokenStore` (a private `redis-server` on a free loopback
port when one is installed, or `--redis-url`). Expected: one per process, then 1 in all.

Only 127.0.0.1 is contacted; every run is bounded by its request counts.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import emit_json, lean_server, machine, table

PAYMENT_ID = "bcb2c3ff-f9a2-4f60-8913-fa94e4d41f27"
LEAN_CREDS = {
    "PURSE_CLIENT_ID": "bench",
    "PURSE_CLIENT_SECRET": "bench-secret",
    "PURSE_API_KEY": "bench-key",
    "PURSE_ENTITY_ID": "bench-entity",
}

# The sandbox in a process of its own: prints its PURSE_* variables and an authorized payment
# as one JSON line, serves until its stdin closes.
SANDBOX_SERVER = textwrap.dedent(
    """
    import asyncio, json, ssl, sys
    from purse_async.testing import MagicCards, Sandbox

    async def main():
        server_tls = client_tls = None
        if len(sys.argv) > 1:  # CA certificate, server certificate, server key
            server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            server_tls.load_cert_chain(sys.argv[2], sys.argv[3])
            client_tls = ssl.create_default_context(cafile=sys.argv[1])
        async with Sandbox(ssl_context=server_tls) as sandbox:
            creds = sandbox.credentials
            async with sandbox.client(**({"ssl": client_tls} if client_tls else {})) as purse:
                payment = await purse.payments.create(
                    amount=1000, currency="EUR", order={"reference": "fleet"},
                    split=[{"vault_form_token": "tok_" + MagicCards.AUTHORIZED, "amount": 1000}],
                    browser={"user_agent": "fleet"},
                )
            sandbox.stats.token_requests = 0
            print(json.dumps({
                "PURSE_BASE_URL": sandbox.base_url,
                "PURSE_CLIENT_ID": creds.client_id,
                "PURSE_CLIENT_SECRET": creds.client_secret,
                "PURSE_API_KEY": creds.api_key,
                "PURSE_ENTITY_ID": creds.entity_id,
                "payment_id": payment.id,
            }), flush=True)
            await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)

    asyncio.run(main())
    """
)


# -- the child: one client process of the fleet ------------------------------------------


async def child_main(args: argparse.Namespace) -> dict[str, Any]:
    import purse_async

    options: dict[str, Any] = {}
    if args.ca:
        import ssl

        options["ssl"] = ssl.create_default_context(cafile=args.ca)
    store = None
    if args.redis_url:
        from purse_async.contrib.redis import RedisTokenStore

        store = RedisTokenStore(args.redis_url, prefix=args.redis_prefix)
    async with purse_async.AsyncPurse.from_env(token_store=store, **options) as purse:
        print("ready", flush=True)
        sys.stdin.readline()  # "go": every process of the fleet starts together
        start, cpu0 = time.monotonic(), time.process_time()
        per_worker = [
            args.requests // args.concurrency + (1 if i < args.requests % args.concurrency else 0)
            for i in range(args.concurrency)
        ]

        async def worker(count: int) -> None:
            for _ in range(count):
                await purse.payments.retrieve(args.payment_id)

        await asyncio.gather(*(worker(n) for n in per_worker))
        end, cpu = time.monotonic(), time.process_time() - cpu0
        tokens = purse.token_requests
    if store is not None:
        await store.aclose()
    return {"requests": args.requests, "start": start, "end": end, "cpu": cpu, "tokens": tokens}


# -- the parent ------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextlib.contextmanager
def sandbox_server(tls: tuple[Path, Path, Path] | None = None) -> Iterator[dict[str, str]]:
    proc = subprocess.Popen(
        [sys.executable, "-c", SANDBOX_SERVER, *(str(path) for path in tls or ())],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    try:
        assert proc.stdout is not None
        yield json.loads(proc.stdout.readline())
    finally:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()


@contextlib.contextmanager
def redis_server(url: str | None) -> Iterator[str | None]:
    """`url`, or a private redis-server on a free port (None if none is installed)."""
    if url:
        yield url
        return
    binary = shutil.which("redis-server")
    if binary is None:
        yield None
        return
    port = _free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port)) as c:
                c.sendall(b"PING\r\n")
                if c.recv(16).startswith(b"+PONG"):
                    break
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _token_requests(env: dict[str, str]) -> int | None:
    """What the sandbox counted (None for the lean server, which counts nothing)."""
    if "payment_id" not in env:
        return None
    from purse_async.testing._admin import SandboxAdmin

    context = None
    if env.get("ca"):
        import ssl

        context = ssl.create_default_context(cafile=env["ca"])
    count: int = SandboxAdmin(env["PURSE_BASE_URL"], context=context).stats()["token_requests"]
    return count


def run_fleet(
    env: dict[str, str],
    procs: int,
    concurrency: int,
    requests: int,
    redis_url: str | None = None,
    redis_prefix: str = "purse:",
) -> dict[str, Any]:
    """N child processes, started together; what each did, and the fleet's totals."""
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("PURSE_")}
    child_env.update({k: v for k, v in env.items() if k.startswith("PURSE_")})
    command = [sys.executable, __file__, "--child", "--concurrency", str(concurrency)]
    command += ["--requests", str(requests), "--payment-id", env.get("payment_id", PAYMENT_ID)]
    if redis_url:
        command += ["--redis-url", redis_url, "--redis-prefix", redis_prefix]
    if env.get("ca"):
        command += ["--ca", env["ca"]]
    tokens_before = _token_requests(env)
    children = [
        subprocess.Popen(
            command, env=child_env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        for _ in range(procs)
    ]
    try:
        for child in children:
            assert child.stdout is not None
            line = child.stdout.readline()
            if line.strip() != "ready":
                raise RuntimeError(f"a fleet process did not start: {line!r}")
        for child in children:
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()
        results = []
        for child in children:
            out, _ = child.communicate(timeout=600)
            if child.returncode != 0:
                raise RuntimeError(f"a fleet process failed ({child.returncode})")
            results.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()
    tokens_after = _token_requests(env)
    wall = max(r["end"] for r in results) - min(r["start"] for r in results)
    total = sum(r["requests"] for r in results)
    per_process = [r["requests"] / (r["end"] - r["start"]) for r in results]
    return {
        "procs": procs,
        "concurrency": concurrency,
        "requests": total,
        "total_rps": total / wall,
        "per_process_rps": sum(per_process) / len(per_process),
        "cpu_us": sum(r["cpu"] for r in results) / total * 1e6,
        "tokens_clients": sum(r["tokens"] for r in results),
        "tokens_server": None
        if tokens_before is None or tokens_after is None
        else tokens_after - tokens_before,
    }


@contextlib.contextmanager
def serve(kind: str, tls: bool) -> Iterator[dict[str, str]]:
    """The server for the fleet: its PURSE_* variables (+ `payment_id` for the sandbox, + `ca`
    with --tls)."""
    if kind == "sandbox" and not tls:
        with sandbox_server() as env:
            yield env
    elif not tls:
        with lean_server() as base:
            yield {"PURSE_BASE_URL": base, **LEAN_CREDS}
    else:
        from benchmarks.overhead import TLS_LEAN_SERVER, private_ca

        with tempfile.TemporaryDirectory(prefix="purse-fleet-tls-") as tmp:
            ca, cert, key = paths = private_ca(Path(tmp))
            if kind == "sandbox":
                with sandbox_server(paths) as env:
                    yield {**env, "ca": str(ca)}
                return
            # The lean server's handlers over TLS, as overhead.py --tls serves them.
            proc = subprocess.Popen(
                [sys.executable, "-c", TLS_LEAN_SERVER, "seed", str(cert), str(key)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            try:
                assert proc.stdout is not None
                port = int(proc.stdout.readline())
                yield {"PURSE_BASE_URL": f"https://127.0.0.1:{port}", **LEAN_CREDS, "ca": str(ca)}
            finally:
                assert proc.stdin is not None and proc.stdout is not None
                proc.stdin.close()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                proc.stdout.close()


def run(args: argparse.Namespace) -> dict[str, Any]:
    throughput: list[dict[str, Any]] = []
    tokens: dict[str, Any] = {}
    with serve(args.server, args.tls) as env:
        for _ in range(args.rounds):
            for procs in args.procs:
                throughput.append(run_fleet(env, procs, args.concurrency, args.requests))
        tokens["memory"] = run_fleet(env, args.token_procs, 1, args.token_calls)
        with redis_server(args.redis_url) as url:
            if url is None:
                tokens["redis"] = None
            else:
                prefix = f"purse-fleet-{os.getpid()}-{time.monotonic_ns()}:"
                tokens["redis"] = run_fleet(
                    env, args.token_procs, 1, args.token_calls, url, redis_prefix=prefix
                )
    # Medians over the rounds, per fleet size.
    by_size: dict[int, list[dict[str, Any]]] = {}
    for row in throughput:
        by_size.setdefault(row["procs"], []).append(row)
    med = {}
    for procs, rows in by_size.items():
        rows.sort(key=lambda r: r["total_rps"])
        med[procs] = rows[len(rows) // 2]
    return {
        "server": args.server,
        "tls": args.tls,
        "machine": machine(),
        "concurrency": args.concurrency,
        "requests_per_process": args.requests,
        "rounds": args.rounds,
        "throughput": med,
        "tokens": tokens,
        "token_procs": args.token_procs,
        "token_calls": args.token_calls,
    }


def report(data: dict[str, Any]) -> str:
    med = data["throughput"]
    alone = med[min(med)]["per_process_rps"]
    rows = [
        [
            procs,
            row["total_rps"],
            row["per_process_rps"],
            row["per_process_rps"] / alone,
            row["cpu_us"],
        ]
        for procs, row in sorted(med.items())
    ]
    out = [
        f"machine: {data['machine']}",
        f"fleet against one {data['server']} server{' over TLS' if data['tls'] else ''}: "
        f"each process c={data['concurrency']}, "
        f"{data['requests_per_process']} retrieve-payment calls, medians of {data['rounds']} "
        "round(s)",
        table(
            rows,
            ["processes", "total req/s", "req/s per process", "per process / alone", "CPU µs/req"],
        ),
        "",
        f"token requests, {data['token_procs']} processes x {data['token_calls']} calls, "
        "started together with no token:",
    ]
    for name, label in (("memory", "memory store"), ("redis", "RedisTokenStore")):
        row = data["tokens"].get(name)
        if row is None:
            out.append(f"  {label}: skipped (no redis-server here; --redis-url URL)")
            continue
        server = row["tokens_server"]
        counted = f"server counted {server}, " if server is not None else ""
        out.append(f"  {label}: {counted}clients fetched {row['tokens_clients']}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--server", choices=["sandbox", "lean"], default="sandbox")
    parser.add_argument("--tls", action="store_true", help="https with a private CA")
    parser.add_argument("--procs", default="1,2,4", help="fleet sizes, comma-separated")
    parser.add_argument("--concurrency", type=int, default=10, help="coroutines per process")
    parser.add_argument("--requests", type=int, default=2000, help="calls per process")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--token-procs", type=int, default=8)
    parser.add_argument("--token-calls", type=int, default=50)
    parser.add_argument("--redis-url", help="an existing Redis (default: a private one)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 1,2 procs x 100")
    parser.add_argument("--json", help="also write the results to this file")
    # The child side (one process of the fleet), started by the parent.
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--payment-id", default=PAYMENT_ID, help=argparse.SUPPRESS)
    parser.add_argument("--redis-prefix", default="purse:", help=argparse.SUPPRESS)
    parser.add_argument("--ca", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(asyncio.run(child_main(args))), flush=True)
        return 0
    args.procs = [int(p) for p in str(args.procs).split(",") if p.strip()]
    if args.quick:
        args.procs, args.requests, args.concurrency = [1, 2], 100, 5
        args.token_procs, args.token_calls, args.rounds = 2, 5, 1
    data = run(args)
    print(report(data))
    emit_json(args.json, data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
