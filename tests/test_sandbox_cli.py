"""The sandbox CLI (`serve`, `main`, Ctrl-C in a real subprocess) and the pytest plugin fixtures."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
from typing import Any

import aiohttp
import pytest

from purse_async.testing import Sandbox
from purse_async.testing._cli import main, serve
from tests.test_sandbox_support import basic


def _settings(text: str) -> dict[str, str]:
    return dict(re.findall(r"^\s+PURSE_(\w+)=(\S+)$", text, re.MULTILINE))


async def test_serve_prints_url_and_credentials_then_stops_on_cancel(
    capsys: pytest.CaptureFixture[str],
) -> None:
    task = asyncio.create_task(serve(None))
    for _ in range(200):
        await asyncio.sleep(0.01)
        out = capsys.readouterr().out if not task.done() else ""
        if "listening" in out:
            break
    settings = _settings(out)
    assert set(settings) == {"BASE_URL", "CLIENT_ID", "CLIENT_SECRET", "API_KEY", "ENTITY_ID"}
    assert "4242424242424242" in out
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{settings['BASE_URL']}/oauth/token",
            data={"grant_type": "client_credentials"},
            headers={
                "Authorization": basic(settings["CLIENT_ID"], settings["CLIENT_SECRET"]),
                "x-api-key": settings["API_KEY"],
            },
        ) as resp:
            assert resp.status == 200
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        with pytest.raises(aiohttp.ClientConnectionError):
            async with http.get(f"{settings['BASE_URL']}/payment/v2/signing-jwks"):
                pass


def test_main_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    assert "--port" in capsys.readouterr().out


def test_main_runs_until_ctrl_c() -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; from purse_async.testing._cli import main; "
         "sys.exit(main(['--port', '0', '--host', '127.0.0.1']))"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline()]
        assert lines[0].startswith("Purse sandbox listening on http://127.0.0.1:")
        while "Ctrl-C" not in lines[-1]:
            lines.append(proc.stdout.readline())
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert "PURSE_ENTITY_ID=" in "".join(lines) and out == ""


async def test_plugin_fixtures(purse_sandbox: Sandbox, purse_client: Any) -> None:
    assert purse_sandbox.base_url.startswith("http://127.0.0.1:")
    assert type(purse_client).__name__ == "AsyncPurse"
    assert purse_client.settings.base_url == purse_sandbox.base_url
