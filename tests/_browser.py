"""What the headless-Chromium tests share: Debian's chromium, its flags, and the shop's page.

Needs Debian's chromium (`.ci/run` installs it) and the playwright package (no browser download).
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from aiohttp import web

from tests._scripted import serve

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

#: The marks of every browser test: skipped, not failed, where chromium is missing.
BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed"),
]

# Headless on a CI machine: no sandboxing (root in a container), and nothing that phones home.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@asynccontextmanager
async def shop_page(text: str) -> AsyncIterator[str]:
    """The merchant's return page on loopback (its URL), showing `text` in a heading."""

    async def back(request: web.Request) -> web.Response:
        return web.Response(text=f"<h1>{text}</h1>", content_type="text/html")

    app = web.Application()
    app.router.add_get("/back", back)
    async with serve(app) as base:
        yield f"{base}/back"
