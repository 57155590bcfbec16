"""`python -m purse_async sandbox`: run the emulated Purse API in the foreground until Ctrl-C.

stdout gets only shell `export PURSE_...=...` lines (the base URL and the fake, sandbox-only
credentials), so they can be evaluated; `--env-file PATH` also writes them to PATH (mode 0600,
removed on exit) for another terminal to `eval "$(cat PATH)"` while this one keeps serving.
stderr gets the banner, the magic cards and one line per request (time, method, path without
its query, status, duration: never a header, a body, a credential or a token).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shlex
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TextIO

from aiohttp import web

from ._psp import MagicCards
from ._sandbox import Sandbox

__all__ = ["export_lines", "main", "serve"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def export_lines(sandbox: Sandbox) -> str:
    """The `export PURSE_...=...` lines (shell-quoted) pointing an SDK at `sandbox`."""
    creds = sandbox.credentials
    values = {
        "PURSE_BASE_URL": sandbox.base_url,
        "PURSE_CLIENT_ID": creds.client_id,
        "PURSE_CLIENT_SECRET": creds.client_secret,
        "PURSE_API_KEY": creds.api_key,
        "PURSE_ENTITY_ID": creds.entity_id,
        "PURSE_MERCHANT_ID": sandbox.merchant_id,
    }
    return "".join(f"export {name}={shlex.quote(value)}\n" for name, value in values.items())


def _printable(text: str) -> str:
    """`text` safe for one terminal line (no control characters from a hostile request)."""
    return text if text.isprintable() else text.encode("unicode_escape").decode("ascii")


class _LoggingSandbox(Sandbox):
    """A sandbox that writes one line per request to `log` (outermost: faults included)."""

    def __init__(self, log: TextIO | None, **options: Any) -> None:
        super().__init__(**options)
        self._log = log

    def _app(self) -> web.Application:
        app = super()._app()
        if self._log is not None:
            app.middlewares.insert(0, self._log_request)
        return app

    @web.middleware
    async def _log_request(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        start = time.perf_counter()
        status = "500"
        try:
            response = await handler(request)
            status = str(response.status)
            return response
        except web.HTTPException as exc:
            status = str(exc.status)
            raise
        except asyncio.CancelledError:
            status = "---"  # the client went away, or an injected dropped connection
            raise
        finally:
            elapsed = (time.perf_counter() - start) * 1000
            # The path only: no query string, header or body can carry a secret into the log.
            path = _printable(request.rel_url.raw_path)
            assert self._log is not None
            print(
                f"{time.strftime('%H:%M:%S')} {_printable(request.method)} {path} {status} "
                f"{elapsed:.1f}ms",
                file=self._log,
                flush=True,
            )


def _write_env_file(path: Path, text: str) -> None:
    """Write `text` to `path` atomically, readable by this user only (it holds credentials)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _remove_env_file(path: Path, text: str) -> None:
    """Remove `path` if it still holds this sandbox's exports (not another sandbox's)."""
    with contextlib.suppress(OSError):
        if path.read_text(encoding="utf-8") == text:
            path.unlink()


async def serve(
    port: int | None = None,
    host: str = "127.0.0.1",
    *,
    webhook_secret: str | None = None,
    pending_delay: float | None = None,
    env_file: str | os.PathLike[str] | None = None,
    log_requests: bool = True,
) -> None:
    """Run a sandbox on `host:port` (port None or 0: any free port) until cancelled.

    Prints the exports on stdout (and writes them to `env_file`, removed on exit), the banner
    and, unless `log_requests` is False, one line per request on stderr.
    """
    sandbox = _LoggingSandbox(
        sys.stderr if log_requests else None,
        host=host,
        port=port or 0,
        webhook_secret=webhook_secret,
        pending_delay=pending_delay,
    )
    async with sandbox:
        # These credentials open nothing but this process: printing them is the point.
        exports = export_lines(sandbox)
        target = Path(env_file) if env_file is not None else None
        if target is not None:
            _write_env_file(target, exports)
        try:
            sys.stdout.write(exports)
            sys.stdout.flush()
            where = f"; exports in {target}" if target is not None else ""
            print(
                f"Purse sandbox listening on {sandbox.base_url}{where}\n"
                f"Test cards: {MagicCards.AUTHORIZED} authorized, {MagicCards.REFUSED} refused, "
                f"{MagicCards.SOFT_DECLINE_CASCADE} cascade, {MagicCards.PENDING} pending "
                "(all of them, per partner: docs/sandbox.md). Ctrl-C to stop.",
                file=sys.stderr,
                flush=True,
            )
            await asyncio.Event().wait()
        finally:
            if target is not None:
                _remove_env_file(target, exports)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m purse_async sandbox",
        description=(
            "Run the emulated Purse Payment API v2 on loopback until Ctrl-C. stdout: "
            "`export PURSE_...=...` lines to eval; stderr: the banner and one line per request."
        ),
        epilog=(
            "Another terminal: `python -m purse_async sandbox --env-file purse.env` here, then "
            '`eval "$(cat purse.env)"` there (or `python -m purse_async sandbox > purse.env`).'
        ),
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help="port (default: any free port)")
    parser.add_argument(
        "--env-file",
        default=None,
        metavar="PATH",
        help="also write the export lines to PATH (mode 0600) once listening; removed on exit",
    )
    parser.add_argument("--quiet", action="store_true", help="do not log requests on stderr")
    parser.add_argument("--webhook-secret", default=None, help="sign webhooks with this secret")
    parser.add_argument(
        "--pending-delay", type=float, default=None, help="settle PENDING payments after N s"
    )
    args = parser.parse_args(argv)
    # SIGTERM (kill, a process manager) stops it as Ctrl-C does: the env file is removed.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(
                serve(
                    args.port,
                    args.host,
                    webhook_secret=args.webhook_secret,
                    pending_delay=args.pending_delay,
                    env_file=args.env_file,
                    log_requests=not args.quiet,
                )
            )
    finally:
        signal.signal(signal.SIGTERM, previous)
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
