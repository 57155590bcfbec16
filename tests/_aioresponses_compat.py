"""aioresponses 0.7.9 builds ClientResponse without the `stream_writer` aiohttp 3.14 requires
(pnuckowski/aioresponses#289, fix in the unmerged PR #288). aiohttp only reads its
`output_size`, so a stub is enough. Delete this module once aioresponses ships the fix."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import aioresponses.core as aioresponses_core
import pytest
from aiohttp import ClientResponse
from aioresponses import aioresponses


class _CompatResponse(ClientResponse):
    def __init__(self, method: str, url: Any, **kwargs: Any) -> None:
        kwargs.setdefault("stream_writer", SimpleNamespace(output_size=0))
        super().__init__(method, url, **kwargs)


@pytest.fixture
def mocked(monkeypatch: pytest.MonkeyPatch) -> Iterator[aioresponses]:
    """aioresponses with the compatibility response class; nothing reaches the network."""
    monkeypatch.setattr(aioresponses_core, "ClientResponse", _CompatResponse)
    with aioresponses() as mock:
        yield mock
