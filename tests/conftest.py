"""Shared fixtures: the sandbox fixtures come from the installed plugin (`purse_sandbox`,
`purse_client`); helpers here build orders and pay sessions."""

from __future__ import annotations

from typing import Any

import pytest

ORDER: dict[str, Any] = {"reference": "ORDER-1", "net_amount": 12000, "tax_amount": 2000}


@pytest.fixture
def order() -> dict[str, Any]:
    return dict(ORDER)
