"""Shared fixtures: `purse_sandbox` and `purse_client` come from the installed plugin; here the
blocking face's `threaded_sandbox` and an order, shared by the async and sync tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from purse_async.testing import ThreadedSandbox

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
