"""The sandbox CLI (`serve`, `main`, Ctrl-C in a real subprocess): exports on stdout, a request
log on stderr, the env file; and the pytest plugin fixtures."""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import signal
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import attrs
import pytest

from purse_async.testing import Sandbox
from purse_async.testing._cli import export_lines, main, serve
from tests.test_sandbox_support import basic


def _exports(text: str) -> dict[str, str]:
    """The `export PURSE_X=value` lines of `text`, unquoted as a shell would."""
    found = {}
    for line in text.splitlines():
        words = shlex.split(line)
        assert words[0] == "export", line
        name, _, value = words[1].partition("=")
        found[name] = value
    return found


async def _until(predicate: Any, what: str) -> None:
    for _ in range(500):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


async def _token(http: aiohttp.ClientSession, env: dict[str, str], query: str = "") -> str:
    async with http.post(
        f"{env['PURSE_BASE_URL']}/oauth/token{query}",
        data={"grant_type": "client_credentials"},
        headers={
            "Authorization": basic(env["PURSE_CLIENT_ID"], env["PURSE_CLIENT_SECRET"]),
            "x-api-key": env["PURSE_API_KEY"],
        },
    ) as resp:
        assert resp.status == 200
        token: str = (await resp.json())["access_token"]
        return token


async def test_serve_prints_exports_logs_requests_then_stops_on_cancel(
    capsys: pytest.CaptureFixture[str],
) -> None:
    task = asyncio.create_task(serve(None))
    out = err = ""

    def read(until: str) -> bool:
        nonlocal out, err
        captured = capsys.readouterr()
        out, err = out + captured.out, err + captured.err
        return until in err

    await _until(lambda: read("Ctrl-C"), "the banner")
    # stdout holds nothing but the exports, shell-quoted: `eval "$(...)"` takes it as it is.
    env = _exports(out)
    assert set(env) == {
        "PURSE_BASE_URL",
        "PURSE_CLIENT_ID",
        "PURSE_CLIENT_SECRET",
        "PURSE_API_KEY",
        "PURSE_ENTITY_ID",
        "PURSE_MERCHANT_ID",
    }
    assert f"Purse sandbox listening on {env['PURSE_BASE_URL']}" in err
    assert "4242424242424242" in err
    async with aiohttp.ClientSession() as http:
        token = await _token(http, env, query="?client_secret=in-the-query")
        async with http.get(
            f"{env['PURSE_BASE_URL']}/payment/v2/payments/nope",
            headers={"Authorization": f"Bearer {token}", "x-api-key": env["PURSE_API_KEY"]},
        ) as resp:
            assert resp.status == 404
        await _until(lambda: read("/nope"), "the log line")
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        with pytest.raises(aiohttp.ClientConnectionError):
            async with http.get(f"{env['PURSE_BASE_URL']}/payment/v2/signing-jwks"):
                pass
    log = [line for line in err.splitlines() if re.match(r"^\d\d:\d\d:\d\d ", line)]
    assert re.fullmatch(r"\d\d:\d\d:\d\d POST /oauth/token 200 \d+\.\dms", log[0]), log
    assert re.fullmatch(r"\d\d:\d\d:\d\d GET /payment/v2/payments/nope 404 \d+\.\dms", log[1]), log
    # Never a credential, a token nor a query string in the log.
    for secret in (token, env["PURSE_CLIENT_SECRET"], env["PURSE_API_KEY"], "in-the-query"):
        assert secret not in err


async def test_serve_logs_nothing_when_quiet(capsys: pytest.CaptureFixture[str]) -> None:
    task = asyncio.create_task(serve(None, log_requests=False))
    out = ""

    def started() -> bool:
        nonlocal out
        out += capsys.readouterr().out
        return "PURSE_ENTITY_ID" in out

    await _until(started, "the exports")
    env = _exports(out)
    async with aiohttp.ClientSession() as http:
        await _token(http, env)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert "/oauth/token" not in capsys.readouterr().err


async def test_serve_writes_the_env_file_then_removes_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env_file = tmp_path / "purse.env"
    task = asyncio.create_task(serve(None, env_file=env_file))
    await _until(env_file.exists, "the env file")
    text = env_file.read_text()
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600  # it holds the (sandbox) secrets
    assert text == capsys.readouterr().out
    env = _exports(text)
    async with aiohttp.ClientSession() as http:
        await _token(http, env)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not env_file.exists()
    assert not os.listdir(tmp_path)  # no temporary file left either


async def test_serve_leaves_another_sandboxs_env_file(tmp_path: Path) -> None:
    env_file = tmp_path / "purse.env"
    task = asyncio.create_task(serve(None, env_file=env_file, log_requests=False))
    await _until(env_file.exists, "the env file")
    env_file.write_text("export PURSE_BASE_URL=http://127.0.0.1:1\n")  # a newer sandbox's
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert env_file.read_text() == "export PURSE_BASE_URL=http://127.0.0.1:1\n"


def test_exports_are_shell_quoted() -> None:
    box = Sandbox()
    box.state.base_url = "http://127.0.0.1:1"
    box.state.credentials = attrs.evolve(box.credentials, client_secret="it's $HOME `x`")
    lines = export_lines(box).splitlines()
    assert lines[0] == "export PURSE_BASE_URL=http://127.0.0.1:1"
    assert lines[2] == "export PURSE_CLIENT_SECRET='it'\"'\"'s $HOME `x`'"
    assert _exports(export_lines(box))["PURSE_CLIENT_SECRET"] == "it's $HOME `x`"


def test_main_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "--port" in out and "--env-file" in out and "--quiet" in out


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
        assert proc.stdout is not None and proc.stderr is not None
        lines = [proc.stdout.readline() for _ in range(5)]
        assert lines[0].startswith("export PURSE_BASE_URL=http://127.0.0.1:")
        banner = [proc.stderr.readline()]
        while "Ctrl-C" not in banner[-1]:
            banner.append(proc.stderr.readline())
        assert banner[0].startswith("Purse sandbox listening on http://127.0.0.1:")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert "export PURSE_ENTITY_ID=" in "".join(lines) and out == ""


async def test_plugin_fixtures(purse_sandbox: Sandbox, purse_client: Any) -> None:
    assert purse_sandbox.base_url.startswith("http://127.0.0.1:")
    assert type(purse_client).__name__ == "AsyncPurse"
    assert purse_client.settings.base_url == purse_sandbox.base_url
