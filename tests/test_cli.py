"""The command line: `python -m purse_async sandbox` serves until Ctrl-C; `demo` walks the guide."""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

import purse_async.__main__ as cli


def test_sandbox_command_serves_and_stops_on_ctrl_c() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "purse_async", "sandbox", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stderr is not None
        first = proc.stdout.readline()
        assert first.startswith("export PURSE_BASE_URL=http://127.0.0.1:")
        base = first.split("=", 1)[1].strip()
        lines = [proc.stdout.readline() for _ in range(4)]
        assert any(line.startswith("export PURSE_CLIENT_SECRET=") for line in lines)
        assert proc.stderr.readline().startswith(f"Purse sandbox listening on {base}")
        with urllib.request.urlopen(f"{base}/payment/v2/signing-jwks", timeout=10) as resp:
            assert resp.status == 200
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=15) == 0
        assert "GET /payment/v2/signing-jwks 200" in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()
        if proc.stderr:
            proc.stderr.close()


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_sandbox_exports_are_evaluated_by_a_shell_in_another_process(tmp_path: Path) -> None:
    """As the examples' READMEs say: serve in one terminal, `eval "$(cat FILE)"` in another."""
    env_file = tmp_path / "purse.env"
    proc = subprocess.Popen(
        [sys.executable, "-m", "purse_async", "sandbox", "--env-file", str(env_file)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not env_file.exists():
            assert proc.poll() is None and time.monotonic() < deadline, "no env file"
            time.sleep(0.02)
        client = (
            "import purse_sync\n"
            "with purse_sync.Purse.from_env() as purse:\n"
            "    session = purse.client_sessions.create(amount=100, currency='EUR',\n"
            "        shopper_redirection_url='http://127.0.0.1:8000/back',\n"
            "        order={'reference': 'EVAL-1'})\n"
            "    print(session.id)\n"
        )
        clean = {k: v for k, v in os.environ.items() if not k.startswith("PURSE_")}
        done = subprocess.run(
            ["bash", "-c", f'eval "$(cat {shlex.quote(str(env_file))})" && exec "$0" -c "$1"',
             sys.executable, client],
            env=clean,
            capture_output=True,
            text=True,
            timeout=60,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip()
        # SIGTERM stops it as Ctrl-C does: the env file (it holds credentials) is removed.
        proc.terminate()
        assert proc.wait(timeout=15) == 0
        assert not env_file.exists()
        assert proc.stderr is not None
        err = proc.stderr.read()
        assert "POST /oauth/token 200" in err
        assert "POST /payment/v2/client-sessions 201" in err
        assert "Traceback" not in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
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
