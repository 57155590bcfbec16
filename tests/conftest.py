"""Shared fixtures: `purse_sandbox` and `purse_client` come from the installed plugin; here the
blocking face's `threaded_sandbox`, an order, and a scripted loopback `server` (modules that
need routes set up front override it)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from purse_async.testing import ThreadedSandbox
from tests._scripted import ScriptedServer

# The aioresponses compatibility fixture (`mocked`), until aioresponses supports aiohttp 3.14.
pytest_plugins = ["tests._aioresponses_compat"]

ORDER: dict[str, Any] = {"reference": "ORDER-1", "net_amount": 12000, "tax_amount": 2000}


@pytest.fixture
def order() -> dict[str, Any]:
    return dict(ORDER)


@pytest.fixture
def threaded_sandbox() -> Iterator[ThreadedSandbox]:
    box = ThreadedSandbox()
    yield box
    box.close()


@pytest.fixture
async def server() -> AsyncIterator[ScriptedServer]:
    async with ScriptedServer() as srv:
        yield srv
