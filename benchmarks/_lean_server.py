"""A lean aiohttp.web server for benchmarks: a token endpoint and GET payment answering the seed's
GetPayment JSON. Run in its own process; prints its port on stdout, stops on stdin EOF."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from pathlib import Path

from aiohttp import web

PAYLOADS = {
    # The guide's GetPayment Response as printed (its elided `[...]` parts left empty).
    "seed": Path(__file__).resolve().parent / "data" / "seed_get_payment.json",
    # The same with order, shipments and customer filled in (the decoding test's fixture).
    "full": Path(__file__).resolve().parent.parent / "tests" / "data" / "seed_get_payment.json",
}
PAYLOAD = PAYLOADS[sys.argv[1] if len(sys.argv) > 1 else "seed"]
BODY_BYTES = json.dumps(json.loads(PAYLOAD.read_text())).encode()
TOKEN = json.dumps(
    {"access_token": "bench-token", "token_type": "Bearer", "expires_in": 3600}
).encode()


async def token(request: web.Request) -> web.Response:
    await request.read()
    return web.Response(body=TOKEN, content_type="application/json")


async def payment(request: web.Request) -> web.Response:
    return web.Response(body=BODY_BYTES, content_type="application/json")


async def main() -> None:
    if len(sys.argv) > 2:  # a CPU of its own (overhead.py --pin), where the system allows
        with contextlib.suppress(OSError):
            os.sched_setaffinity(0, {int(sys.argv[2])})
    app = web.Application()
    app.router.add_post("/oauth/token", token)
    app.router.add_get("/payment/v2/payments/{id}", payment)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    print(port, flush=True)
    # Stop when the parent closes our stdin (or dies): never outlive the benchmark.
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
