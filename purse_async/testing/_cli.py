"""`python -m purse_async sandbox`: run the emulated Purse API in the foreground until Ctrl-C,
printing the base URL and the (fake, sandbox-only) credentials to point an SDK or curl at."""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from ._psp import MagicCards
from ._sandbox import Sandbox

__all__ = ["main", "serve"]


async def serve(
    port: int | None = None,
    host: str = "127.0.0.1",
    *,
    webhook_secret: str | None = None,
    pending_delay: float | None = None,
) -> None:
    """Run a sandbox on `host:port` (port None or 0: any free port) until cancelled."""
    async with Sandbox(
        host=host, port=port or 0, webhook_secret=webhook_secret, pending_delay=pending_delay
    ) as sandbox:
        creds = sandbox.credentials
        # These credentials open nothing but this process: printing them is the point.
        print(f"Purse sandbox listening on {sandbox.base_url}")
        print(f"  PURSE_BASE_URL={sandbox.base_url}")
        print(f"  PURSE_CLIENT_ID={creds.client_id}")
        print(f"  PURSE_CLIENT_SECRET={creds.client_secret}")
        print(f"  PURSE_API_KEY={creds.api_key}")
        print(f"  PURSE_ENTITY_ID={creds.entity_id}")
        print(
            f"Test cards: {MagicCards.AUTHORIZED} authorized, {MagicCards.REFUSED} refused, "
            f"{MagicCards.SOFT_DECLINE_CASCADE} cascade, {MagicCards.PENDING} pending "
            "(all of them, per partner: docs/sandbox.md). Ctrl-C to stop.",
            flush=True,
        )
        await asyncio.Event().wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m purse_async sandbox",
        description="Run the emulated Purse Payment API v2 on loopback until Ctrl-C.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help="port (default: any free port)")
    parser.add_argument("--webhook-secret", default=None, help="sign webhooks with this secret")
    parser.add_argument(
        "--pending-delay", type=float, default=None, help="settle PENDING payments after N s"
    )
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(
            serve(
                args.port,
                args.host,
                webhook_secret=args.webhook_secret,
                pending_delay=args.pending_delay,
            )
        )
    return 0
