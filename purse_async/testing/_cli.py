"""`python -m purse_async sandbox`: run the emulated Purse API in the foreground until Ctrl-C.

Prints the base URL and the (fake) credentials to point an SDK or `curl` at.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from ._sandbox import Sandbox

__all__ = ["main", "serve"]


async def serve(host: str = "127.0.0.1", port: int | None = None) -> None:
    async with Sandbox(host=host, port=port or 0) as sandbox:
        creds = sandbox.credentials
        print(f"Purse sandbox listening on {sandbox.base_url}", flush=True)
        print(f"  PURSE_BASE_URL={sandbox.base_url}")
        print(f"  PURSE_CLIENT_ID={creds.client_id}")
        print(f"  PURSE_CLIENT_SECRET={creds.client_secret}")
        print(f"  PURSE_API_KEY={creds.api_key}")
        print(f"  PURSE_ENTITY_ID={creds.entity_id}")
        print("Magic cards: see purse_async.testing.MagicCards. Ctrl-C to stop.", flush=True)
        await asyncio.Event().wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m purse_async sandbox")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.host, args.port))
    return 0
