"""The pytest plugin (entry point `pytest11`): fixtures with a running sandbox and a client.

`purse_sandbox` starts a fresh Sandbox per test; `purse_client` is an AsyncPurse bound to it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import pytest_asyncio

from ._sandbox import Sandbox

if TYPE_CHECKING:
    from .._client import AsyncPurse


@pytest_asyncio.fixture
async def purse_sandbox() -> AsyncIterator[Sandbox]:
    """A running embedded Purse sandbox on 127.0.0.1."""
    async with Sandbox() as sandbox:
        yield sandbox


@pytest_asyncio.fixture
async def purse_client(purse_sandbox: Sandbox) -> AsyncIterator[AsyncPurse]:
    """An `AsyncPurse` with the sandbox's credentials, closed after the test."""
    async with purse_sandbox.client() as client:
        yield client
