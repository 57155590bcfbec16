"""Webhook parsing: the body is the Payment JSON; optional HMAC header; source-IP allowlist."""

from __future__ import annotations

import json

import pytest

import purse_async as pa
from purse_async.resources._webhooks import compute_signature

BODY = json.dumps(
    {
        "id": "pay-1",
        "version": 7,
        "amount": 12000,
        "currency": "EUR",
        "amounts": {"total_authorized": 12000, "available_to_capture": 7000},
    }
).encode()


@pytest.fixture
def purse() -> pa.AsyncPurse:
    return pa.AsyncPurse(client_id="c", client_secret="s", api_key="k", environment="production")


def test_parse_gives_the_payment(purse: pa.AsyncPurse) -> None:
    payment = purse.webhooks.parse(BODY)
    assert payment.id == "pay-1"
    assert payment.version == 7
    assert payment.amounts is not None and payment.amounts.available_to_capture == 7000


def test_hmac_signature_is_checked_when_a_secret_is_given(purse: pa.AsyncPurse) -> None:
    good = {"X-Purse-Signature": compute_signature(BODY, "whsec")}
    assert purse.webhooks.parse(BODY, headers=good, secret="whsec").id == "pay-1"
    with pytest.raises(pa.SignatureVerificationError, match="missing"):
        purse.webhooks.parse(BODY, headers={}, secret="whsec")
    with pytest.raises(pa.SignatureVerificationError, match="does not match"):
        purse.webhooks.parse(BODY.replace(b"7000", b"9000"), headers=good, secret="whsec")


@pytest.mark.parametrize("body", [b"not json", b"[1]", b"{"])
def test_unparseable_bodies_raise_webhook_error(purse: pa.AsyncPurse, body: bytes) -> None:
    with pytest.raises(pa.WebhookError):
        purse.webhooks.parse(body)


def test_wrongly_typed_payment_raises_decode_error(purse: pa.AsyncPurse) -> None:
    with pytest.raises(pa.DecodeError, match="amount"):
        purse.webhooks.parse(b'{"id": "p", "amount": 12.5}')


def test_source_ip_allowlist(purse: pa.AsyncPurse) -> None:
    assert purse.webhooks.is_trusted_source("34.22.174.22")
    assert not purse.webhooks.is_trusted_source("35.195.66.77")  # preprod address
    assert not purse.webhooks.is_trusted_source("not an ip")
    assert purse.webhooks.is_trusted_source("10.1.2.3", allowlist=["10.0.0.0/8"])
