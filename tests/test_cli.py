"""The command line: `python -m purse_async sandbox` serves until Ctrl-C; `demo` walks the guide."""

from __future__ import annotations

import signal
import subprocess
import sys
import urllib.request

import purse_async.__main__ as cli


def test_sandbox_command_serves_and_stops_on_ctrl_c() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "purse_async", "sandbox", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("Purse sandbox listening on http://127.0.0.1:")
        base = first.rsplit(" ", 1)[-1].strip()
        lines = [proc.stdout.readline() for _ in range(5)]
        assert any(line.strip().startswith("PURSE_CLIENT_SECRET=") for line in lines)
        with urllib.request.urlopen(f"{base}/payment/v2/signing-jwks", timeout=10) as resp:
            assert resp.status == 200
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()
        if proc.stderr:
            proc.stderr.close()


def test_demo_walks_the_guide(capsys: object) -> None:
    assert cli.main(["demo"]) == 0
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    for step in (
        "Create a client session",
        "Verify the signed redirection",
        "Capture 50.00 EUR",
        "Refund 20.00 EUR",
        "Void the rest",
        "Final amounts",
        "cascaded",
    ):
        assert step in out


def test_unknown_command_prints_usage() -> None:
    assert cli.main(["nope"]) == 2
