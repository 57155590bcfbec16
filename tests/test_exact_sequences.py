"""Narrow edge cases where an exact mocked sequence is clearer than a server: malformed 2xx
bodies and a precise retry sequence (aioresponses, through tests/_aioresponses_compat.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aioresponses import aioresponses

import purse_async as pa

BASE = "http://purse.test"
TOKEN = {"access_token": "t-1", "token_type": "Bearer", "expires_in": 3600}
PAYMENT_URL = f"{BASE}/payment/v2/payments/pay-1"


@pytest.fixture
async def purse(mocked: aioresponses) -> AsyncIterator[pa.AsyncPurse]:
    mocked.post(f"{BASE}/oauth/token", payload=TOKEN)
    async with pa.AsyncPurse(
        client_id="c", client_secret="s", api_key="k", base_url=BASE, allow_insecure_http=True
    ) as p:
        p._requester._sleep = _no_sleep
        yield p


async def _no_sleep(delay: float) -> None:
    return None


async def test_truncated_json_is_a_decode_error(
    mocked: aioresponses,
    purse: pa.AsyncPurse,
) -> None:
    mocked.get(PAYMENT_URL, status=200, body='{"id": "pay-1", "amount": 12')
    with pytest.raises(pa.DecodeError, match="not JSON"):
        await purse.payments.retrieve("pay-1")


async def test_float_amount_is_a_decode_error_naming_the_path(
    mocked: aioresponses,
    purse: pa.AsyncPurse,
) -> None:
    mocked.get(PAYMENT_URL, payload={"id": "pay-1", "amounts": {"total_captured": 12.5}})
    with pytest.raises(pa.DecodeError) as info:
        await purse.payments.retrieve("pay-1")
    assert info.value.path == "$.amounts.total_captured"


async def test_exact_retry_sequence(
    mocked: aioresponses,
    purse: pa.AsyncPurse,
) -> None:
    mocked.get(PAYMENT_URL, status=502, body="<html>bad gateway</html>")
    mocked.get(PAYMENT_URL, status=503, headers={"Retry-After": "0"})
    mocked.get(PAYMENT_URL, payload={"id": "pay-1"})
    payment = await purse.payments.retrieve("pay-1")
    assert payment.id == "pay-1"
    calls = [key for key in mocked.requests if str(key[1]) == PAYMENT_URL]
    assert len(mocked.requests[calls[0]]) == 3
