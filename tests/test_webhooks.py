"""Webhook parsing: the body is the Payment JSON; optional HMAC header; source-IP allowlist."""

from __future__ import annotations

import hmac
import json
from collections.abc import Iterator
from typing import Any

import pytest

import purse_async as pa
import purse_sync
from purse_async._json import DEFAULT_MAX_RESPONSE_SIZE
from purse_async.resources._webhooks import compute_signature

SIGNATURE = "x-purse-signature"
BODY = json.dumps(
    {
        "id": "pay-1",
        "version": 7,
        "amount": 12000,
        "currency": "EUR",
        "amounts": {"total_authorized": 12000, "available_to_capture": 7000},
    }
).encode()


CREDENTIALS: dict[str, Any] = {"client_id": "c", "client_secret": "s", "api_key": "k"}


@pytest.fixture
def purse() -> pa.AsyncPurse:
    return pa.AsyncPurse(**CREDENTIALS, environment="production")


@pytest.fixture(params=["async", "sync"])
def webhooks(request: pytest.FixtureRequest) -> Iterator[Any]:
    """`purse.webhooks` of a production client, on either face (the sync one is generated)."""
    if request.param == "async":
        yield pa.AsyncPurse(**CREDENTIALS, environment="production").webhooks
    else:
        with purse_sync.Purse(**CREDENTIALS, environment="production") as client:
            yield client.webhooks


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
    assert purse.webhooks.is_trusted_source("10.1.2.3", allowlist=["10.0.0.0/8"])


# --- secret rotation -------------------------------------------------------------------------


@pytest.mark.parametrize("secrets", [["old", "new"], ("new", "old"), ["new"]])
def test_a_signature_matching_any_of_the_secrets_is_accepted(
    webhooks: Any, secrets: list[str]
) -> None:
    signed = {SIGNATURE: compute_signature(BODY, "new")}
    assert webhooks.parse(BODY, headers=signed, secret=secrets).id == "pay-1"
    webhooks.verify_signature(BODY, signed[SIGNATURE], secret=secrets)


def test_a_signature_matching_none_of_the_secrets_is_refused(webhooks: Any) -> None:
    signed = {SIGNATURE: compute_signature(BODY, "retired")}
    with pytest.raises(pa.SignatureVerificationError, match="does not match"):
        webhooks.parse(BODY, headers=signed, secret=["old", "new"])
    with pytest.raises(pa.SignatureVerificationError, match="does not match"):
        webhooks.verify_signature(BODY, signed[SIGNATURE], secret=("old", "new"))
    with pytest.raises(pa.SignatureVerificationError, match="missing"):
        webhooks.parse(BODY, headers={}, secret=["old", "new"])


def test_every_secret_is_compared_even_after_a_match(
    purse: pa.AsyncPurse, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No short-circuit: how long verification takes does not tell which secret matched.
    compared: list[bool] = []
    real = hmac.compare_digest

    def counting(a: bytes, b: bytes) -> bool:
        compared.append(real(a, b))
        return compared[-1]

    monkeypatch.setattr(hmac, "compare_digest", counting)
    signature = compute_signature(BODY, "first")
    purse.webhooks.verify_signature(BODY, signature, secret=["first", "second", "third"])
    assert compared == [True, False, False]


@pytest.mark.parametrize(
    ("secret", "why"),
    [
        ([], "empty sequence"),
        ((), "empty sequence"),
        ([b"whsec"], "got bytes"),
        (["whsec", None], "got NoneType"),
        (b"whsec", "got bytes"),
        (42, "got int"),
        ({"whsec"}, "got set"),
        ("", "must not be empty"),
        (["whsec", ""], "must not be empty"),
    ],
)
def test_a_bad_secret_is_a_configuration_error(webhooks: Any, secret: Any, why: str) -> None:
    signed = {SIGNATURE: compute_signature(BODY, "whsec")}
    with pytest.raises(pa.ConfigurationError, match="secret") as info:
        webhooks.parse(BODY, headers=signed, secret=secret)
    assert why in str(info.value)
    with pytest.raises(pa.ConfigurationError, match=why):
        webhooks.verify_signature(BODY, signed[SIGNATURE], secret=secret)


# --- source addresses ------------------------------------------------------------------------


def test_ipv4_mapped_ipv6_peers_count_as_their_ipv4_address(webhooks: Any) -> None:
    # What a dual-stack socket (bound to ::) reports for an IPv4 peer.
    assert webhooks.is_trusted_source("::ffff:34.22.174.22")
    assert webhooks.is_trusted_source("::FFFF:34.22.174.22 ")
    assert not webhooks.is_trusted_source("::ffff:35.195.66.77")  # preprod address
    assert webhooks.is_trusted_source("::ffff:35.195.66.77", allowlist=["35.195.66.77"])
    assert webhooks.is_trusted_source("::ffff:10.1.2.3", allowlist=["10.0.0.0/8"])
    assert not webhooks.is_trusted_source("::ffff:11.1.2.3", allowlist=["10.0.0.0/8"])


def test_the_sandbox_environment_allowlist_takes_mapped_addresses() -> None:
    webhooks = pa.AsyncPurse(**CREDENTIALS, environment="sandbox").webhooks
    assert webhooks.is_trusted_source("35.195.66.77")
    assert webhooks.is_trusted_source("::ffff:35.195.66.77")
    assert not webhooks.is_trusted_source("::ffff:34.22.174.22")


def test_mapped_allowlist_entries_match_both_spellings(webhooks: Any) -> None:
    for ip in ("10.1.2.3", "::ffff:10.1.2.3"):
        assert webhooks.is_trusted_source(ip, allowlist=["::ffff:10.1.2.3"])
        assert webhooks.is_trusted_source(ip, allowlist=["::ffff:10.0.0.0/104"])
        assert not webhooks.is_trusted_source(ip, allowlist=["::ffff:10.1.2.4"])


def test_plain_ipv6_addresses_and_networks(webhooks: Any) -> None:
    assert webhooks.is_trusted_source("2001:db8::1", allowlist=["2001:db8::/32"])
    assert not webhooks.is_trusted_source("2001:db9::1", allowlist=["2001:db8::/32"])
    assert not webhooks.is_trusted_source("::1", allowlist=["127.0.0.0/8"])
    # An IPv4-compatible (not mapped) address is an IPv6 address: no IPv4 match.
    assert not webhooks.is_trusted_source("::34.22.174.22")


@pytest.mark.parametrize(
    "remote_ip", [None, 3, b"34.22.174.22", "", "not an ip", "34.22.174.22:443", "[::1]"]
)
def test_a_remote_ip_that_is_not_an_address_is_a_webhook_error(
    webhooks: Any, remote_ip: Any
) -> None:
    with pytest.raises(pa.WebhookError, match="remote_ip") as info:
        webhooks.is_trusted_source(remote_ip)
    assert repr(remote_ip) in str(info.value)
    assert info.value.__cause__ is None
    assert info.value.__context__ is None or info.value.__suppress_context__


@pytest.mark.parametrize("allowlist", ["10.0.0.0/8", ["10.0.0.0/8", "nope"], [None]])
def test_a_bad_allowlist_is_a_configuration_error(webhooks: Any, allowlist: Any) -> None:
    with pytest.raises(pa.ConfigurationError, match="allowlist"):
        webhooks.is_trusted_source("10.1.2.3", allowlist=allowlist)


# --- hostile bodies --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"id": "p", "extra": ' + b"[" * 5_000 + b"]" * 5_000 + b"}",
        b'{"a": ' * 70 + b"1" + b"}" * 70,
    ],
    ids=["deep-array", "deep-member", "just-past-the-cap"],
)
def test_deeply_nested_bodies_are_a_webhook_error(webhooks: Any, body: bytes) -> None:
    with pytest.raises(pa.WebhookError, match="nested") as info:
        webhooks.parse(body)
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_nesting_within_the_cap_parses(webhooks: Any) -> None:
    body = b'{"id": "p", "extra": ' + b"[" * 60 + b"]" * 60 + b"}"
    assert webhooks.parse(body).id == "p"


def test_a_body_over_the_size_cap_is_refused_before_parsing(webhooks: Any) -> None:
    assert webhooks.parse(BODY, max_size=len(BODY)).id == "pay-1"
    with pytest.raises(pa.WebhookError, match=f"too large: {len(BODY)} bytes > {len(BODY) - 1}"):
        webhooks.parse(BODY, max_size=len(BODY) - 1)
    with pytest.raises(pa.WebhookError, match="too large"):
        webhooks.parse(BODY.decode(), max_size=len(BODY) - 1)
    # Refused before anything else is done with it: a signature check included.
    with pytest.raises(pa.WebhookError, match="too large"):
        webhooks.parse(BODY, max_size=10, headers={}, secret="whsec")


def test_the_default_size_cap(webhooks: Any) -> None:
    huge = BODY[:-1] + b" " * (DEFAULT_MAX_RESPONSE_SIZE - len(BODY) + 1) + b"}"
    with pytest.raises(pa.WebhookError, match=f"> {DEFAULT_MAX_RESPONSE_SIZE}"):
        webhooks.parse(huge)
    assert webhooks.parse(huge[: DEFAULT_MAX_RESPONSE_SIZE - 1] + b"}").id == "pay-1"


@pytest.mark.parametrize("max_size", [0, -1, True, 1.5, "10"])
def test_a_bad_max_size_is_a_configuration_error(webhooks: Any, max_size: Any) -> None:
    with pytest.raises(pa.ConfigurationError, match="max_size"):
        webhooks.parse(BODY, max_size=max_size)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "not JSON"),
        (b"{", "not JSON"),
        (b"\xff\xfe{}", "not JSON"),
        (b"[1]", "not a JSON object"),
        ("\ud800", "not valid text"),
        (12, "got int"),
    ],
)
def test_every_body_failure_is_a_chain_free_webhook_error(
    webhooks: Any, body: Any, message: str
) -> None:
    with pytest.raises(pa.WebhookError, match=message) as info:
        webhooks.parse(body)
    assert info.value.__cause__ is None
    assert info.value.__context__ is None or info.value.__suppress_context__


def test_a_mistyped_payment_keeps_its_path_on_both_faces(webhooks: Any) -> None:
    with pytest.raises(pa.DecodeError, match="amount") as info:
        webhooks.parse(b'{"id": "p", "amounts": {"total_authorized": "lots"}}')
    assert info.value.path is not None and "total_authorized" in info.value.path
