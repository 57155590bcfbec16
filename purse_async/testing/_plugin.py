"""The pytest plugin (a `pytest11` entry point): `purse_sandbox`, a running Sandbox per test, and
`purse_client`, an AsyncPurse bound to it; `@pytest.mark.purse_sandbox(**kwargs)` configures it.

pytest loads this module in every run of every project that has the SDK installed, so it imports
nothing heavy: the sandbox (aiohttp.web, the emulated API, cryptography) is imported by the
fixtures, when a test first asks for one (tests/test_packaging.py checks it).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from pytest_asyncio import fixture as async_fixture

    from .._client import AsyncPurse
    from ._sandbox import Sandbox
else:
    try:
        from pytest_asyncio import fixture as async_fixture
    except ImportError:  # pragma: no cover
        # Without pytest-asyncio (`pip install 'purse-sdk[testing]'`) the fixtures can't run, but
        # loading this plugin must not break the runs that don't use them.
        async_fixture = pytest.fixture


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "purse_sandbox(**kwargs): Sandbox options for the purse_sandbox fixture "
        "(token_lifetime, session_ttl, webhook_secret, pending_delay, deduplicate_creates)",
    )


@async_fixture
async def purse_sandbox(request: pytest.FixtureRequest) -> AsyncIterator[Sandbox]:
    """A running embedded Purse sandbox on 127.0.0.1, fresh for each test."""
    from ._sandbox import Sandbox  # lazily: see the module's docstring

    marker = request.node.get_closest_marker("purse_sandbox")
    options: dict[str, Any] = dict(marker.kwargs) if marker is not None else {}
    async with Sandbox(**options) as sandbox:
        yield sandbox


@async_fixture
async def purse_client(purse_sandbox: Sandbox) -> AsyncIterator[AsyncPurse]:
    """An `AsyncPurse` with the sandbox's credentials, closed after the test."""
    async with purse_sandbox.client() as client:
        yield client
