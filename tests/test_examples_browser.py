"""The Django example as its README runs it, in headless Chromium: `python -m purse_async sandbox`
in one process, its exports in the environment of `manage.py runserver` in another, and a shopper
who presses the shop's button, pays on the hosted page and comes back to an order page that says
the payment was verified.

Needs Debian's chromium (`.ci/run` installs it), the playwright package (no browser download) and
Django (the dev extra).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shlex
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests._browser import BROWSER_MARKS, CHROMIUM, CHROMIUM_ARGS

playwright_api = pytest.importorskip("playwright.async_api")

DJANGO_SHOP = Path(__file__).resolve().parent.parent / "examples" / "django_shop"
pytestmark = [
    *BROWSER_MARKS,
    pytest.mark.skipif(importlib.util.find_spec("django") is None, reason="needs Django"),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def read_exports(path: Path) -> dict[str, str]:
    """What `eval "$(cat PATH)"` puts in a shell's environment (tests/test_cli.py runs bash)."""
    env = {}
    for line in path.read_text().splitlines():
        keyword, assignment = shlex.split(line)
        assert keyword == "export"
        name, _, value = assignment.partition("=")
        env[name] = value
    return env


def wait_until(
    ready: Callable[[], bool], proc: subprocess.Popen[bytes], what: str, log: Path
) -> None:
    deadline = time.monotonic() + 30
    while not ready():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"{what} did not start:\n{log.read_text(errors='replace')}")
        time.sleep(0.05)


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return bool(resp.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@contextlib.contextmanager
def running(
    args: list[str], log: Path, *, cwd: Path | None = None, env: dict[str, str], quiet: bool = False
) -> Iterator[subprocess.Popen[bytes]]:
    """Run `args`, its stderr (and stdout unless `quiet`) to `log`; terminate it on exit."""
    with log.open("wb") as err:
        stdout = subprocess.DEVNULL if quiet else err
        proc = subprocess.Popen(args, stdout=stdout, stderr=err, cwd=cwd, env=env)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
def django_shop(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The README's two terminals: the sandbox CLI, then runserver with its exports."""
    env_file = tmp_path / "purse.env"
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PURSE_", "SHOP_"))}
    sandbox_log, shop_log = tmp_path / "sandbox.log", tmp_path / "runserver.log"
    sandbox_cmd = [sys.executable, "-m", "purse_async", "sandbox", "--env-file", str(env_file)]
    # stdout (the exports) is not needed: they are in the env file.
    with running(sandbox_cmd, sandbox_log, env=clean, quiet=True) as sandbox:
        wait_until(env_file.exists, sandbox, "the sandbox", sandbox_log)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        exports = read_exports(env_file)
        env = {**clean, **exports, "SHOP_BASE_URL": base}
        runserver = [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"]
        with running(runserver, shop_log, cwd=DJANGO_SHOP, env=env) as shop:
            wait_until(lambda: answers(f"{base}/"), shop, "runserver", shop_log)
            yield base, shop_log
        # The sandbox logged each request (never a credential): the shop's, then the browser's.
        sandbox.terminate()
        sandbox.wait(timeout=10)
        log = sandbox_log.read_text()
        for line in ("POST /payment/v2/client-sessions 201", "POST /hosted/sessions/"):
            assert line in log, log
        for name in ("PURSE_CLIENT_SECRET", "PURSE_API_KEY"):
            assert exports[name] not in log


async def test_django_shop_checkout_in_a_real_browser(django_shop: tuple[str, Path]) -> None:
    base, shop_log = django_shop
    async with playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page()
            await page.goto(f"{base}/")
            await page.click("#buy")
            # Purse's hosted page (the sandbox's), on another origin.
            await page.wait_for_selector("#card-number")
            assert "/hosted/sessions/" in page.url
            await page.fill("#card-number", "4242424242424242")
            await page.fill("#expiry", "12/30")
            await page.fill("#holder", "Jane Doe")
            await page.fill("#cvc", "123")
            await page.click("#pay")
            # Back at the shop: the return view verified it and moved on to the order page.
            try:
                await page.wait_for_url(f"{base}/orders/*/", timeout=15_000)
            except playwright_api.TimeoutError:
                text = await page.text_content("body")
                raise AssertionError(
                    f"not on the order page but {page.url}: {text!r:.500}\n"
                    f"runserver:\n{shop_log.read_text(errors='replace')[-3000:]}"
                ) from None
            assert (await page.text_content("#status")) == "Paid"
            assert (await page.text_content("#payment-id") or "").strip()
            reference = await page.text_content("#reference")
            assert reference and reference.startswith("DJ-")
        finally:
            await browser.close()
