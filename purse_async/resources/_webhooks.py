"""`purse.webhooks`: parse and vet a webhook delivery (the body is the Payment JSON).

Purse documents no signature: the SDK checks the source IP against the documented allowlist and,
optionally, an HMAC header; re-fetching the payment stays the authoritative answer.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .._converter import structure
from .._errors import (
    ConfigurationError,
    DecodeError,
    ResponseTooLargeError,
    SignatureVerificationError,
    WebhookError,
)
from .._json import DEFAULT_MAX_RESPONSE_SIZE, loads
from ..models.payment import Payment
from ._base import AsyncAPIResource

__all__ = ["SIGNATURE_HEADER", "WEBHOOK_SOURCE_IPS", "AsyncWebhooks", "compute_signature"]

SIGNATURE_HEADER = "x-purse-signature"

#: Documented source addresses of Purse's webhook calls, per environment.
WEBHOOK_SOURCE_IPS: Mapping[str, frozenset[str]] = {
    "production": frozenset({"34.22.174.22", "34.89.137.175", "34.155.54.71"}),
    "sandbox": frozenset({"35.195.66.77", "34.141.13.87"}),
}

_IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def compute_signature(body: bytes, secret: str) -> str:
    """The `x-purse-signature` value for `body`: `sha256=<hex HMAC-SHA256>`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _header(headers: Mapping[str, str] | None, name: str) -> str | None:
    if not headers:
        return None
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def _secrets(secret: object) -> tuple[str, ...]:
    """`secret` as a non-empty tuple of non-empty strings (one during a rotation, several)."""
    if isinstance(secret, str):
        secrets: tuple[object, ...] = (secret,)
    elif isinstance(secret, Sequence) and not isinstance(secret, (bytes, bytearray)):
        secrets = tuple(secret)
        if not secrets:
            raise ConfigurationError("secret must hold at least one secret, got an empty sequence")
    else:
        raise ConfigurationError(
            f"secret must be a str or a sequence of str, got {type(secret).__name__}"
        )
    checked: list[str] = []
    for item in secrets:
        if not isinstance(item, str):
            raise ConfigurationError(
                f"every secret in secret must be a str, got {type(item).__name__}"
            )
        if not item:
            # Anyone can compute an HMAC keyed with the empty string.
            raise ConfigurationError("secret must not be empty")
        checked.append(item)
    return tuple(checked)


def _unmapped(ip: _IPAddress) -> _IPAddress:
    """An IPv4-mapped IPv6 address (`::ffff:1.2.3.4`, how dual-stack sockets report IPv4
    peers) as its IPv4 address; any other address unchanged."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")


def _network(entry: object) -> _IPNetwork:
    if not isinstance(entry, str):
        raise ConfigurationError(
            f"allowlist entries must be IP address or network strings, got {entry!r:.80}"
        )
    try:
        network = ipaddress.ip_network(entry.strip(), strict=False)
    except ValueError:
        raise ConfigurationError(
            f"allowlist entry {entry!r:.80} is not an IP address or network"
        ) from None
    if isinstance(network, ipaddress.IPv6Network) and network.subnet_of(_MAPPED):
        # `::ffff:1.2.3.4` or `::ffff:1.2.3.0/120`: the IPv4 network it stands for.
        v4 = int(network.network_address) & 0xFFFFFFFF
        return ipaddress.IPv4Network((v4, network.prefixlen - 96))
    return network


class AsyncWebhooks(AsyncAPIResource):
    """Webhook helpers; nothing here does I/O."""

    def parse(
        self,
        body: bytes | str,
        *,
        headers: Mapping[str, str] | None = None,
        secret: str | Sequence[str] | None = None,
        max_size: int = DEFAULT_MAX_RESPONSE_SIZE,
    ) -> Payment:
        """Decode a webhook body into a `Payment`.

        With `secret`, the `x-purse-signature` header must hold the HMAC-SHA256 of the raw
        body (`SignatureVerificationError` otherwise); during a secret rotation pass every
        secret still in use (a list): a signature matching any of them is accepted. Pass the
        raw bytes, not re-encoded JSON.

        A body larger than `max_size` bytes, nested too deep, not JSON or not a JSON object
        raises `WebhookError`; a payment whose members have the wrong types, `DecodeError`.
        """
        if isinstance(max_size, bool) or not isinstance(max_size, int) or max_size <= 0:
            raise ConfigurationError(f"max_size must be a positive int, got {max_size!r:.80}")
        if isinstance(body, str):
            if len(body) > max_size:  # UTF-8 never has fewer bytes than characters
                raise WebhookError(
                    f"webhook body too large: at least {len(body)} bytes > {max_size}"
                )
            try:
                raw = body.encode()
            except UnicodeEncodeError:
                raise WebhookError("webhook body is not valid text (lone surrogates)") from None
        elif isinstance(body, (bytes, bytearray)):
            raw = bytes(body)
        else:
            raise WebhookError(f"body must be the raw bytes or text, got {type(body).__name__}")
        if len(raw) > max_size:
            raise WebhookError(f"webhook body too large: {len(raw)} bytes > {max_size}")
        if secret is not None:
            self.verify_signature(raw, _header(headers, SIGNATURE_HEADER), secret=secret)
        try:
            data: Any = loads(raw, what="webhook body")
        except ResponseTooLargeError as exc:
            raise WebhookError(f"webhook body too deeply nested: {exc}") from None
        except DecodeError as exc:
            raise WebhookError(str(exc)) from None
        if not isinstance(data, Mapping):
            raise WebhookError(f"webhook body is not a JSON object (got {type(data).__name__})")
        return structure(data, Payment)

    def verify_signature(
        self, body: bytes, signature: str | None, *, secret: str | Sequence[str]
    ) -> None:
        """Check an `x-purse-signature` header against the raw body, in constant time.

        `secret` is one secret or, during a rotation, a sequence of them: the signature is
        accepted if it matches any (each is compared, whichever matches).
        """
        secrets = _secrets(secret)
        if not signature:
            raise SignatureVerificationError(f"missing {SIGNATURE_HEADER} header")
        given = signature.strip().encode()
        data = bytes(body)
        matched = False
        for item in secrets:
            # No short-circuit: every secret is compared, so timing says nothing about which.
            matched |= hmac.compare_digest(compute_signature(data, item).encode(), given)
        if not matched:
            raise SignatureVerificationError(f"{SIGNATURE_HEADER} does not match the body")

    def is_trusted_source(self, remote_ip: str, *, allowlist: Iterable[str] | None = None) -> bool:
        """Does a delivery from `remote_ip` come from Purse? Uses the documented addresses of
        this client's environment unless `allowlist` is given (a custom base URL has none).

        An IPv4-mapped IPv6 address (`::ffff:1.2.3.4`, how dual-stack servers see IPv4 peers)
        counts as its IPv4 address. `remote_ip` that is not an IP address string raises
        `WebhookError`; an allowlist entry that is not an address or network,
        `ConfigurationError`.
        """
        if not isinstance(remote_ip, str):
            raise WebhookError(f"remote_ip must be an IP address string, got {remote_ip!r:.80}")
        try:
            ip = _unmapped(ipaddress.ip_address(remote_ip.strip()))
        except ValueError:
            raise WebhookError(f"remote_ip {remote_ip!r:.80} is not an IP address") from None
        if allowlist is None:
            allowlist = WEBHOOK_SOURCE_IPS.get(self._settings.environment or "", frozenset())
        elif isinstance(allowlist, str):
            raise ConfigurationError(
                f"allowlist must be a collection of addresses or networks, not a str "
                f"({allowlist!r:.80}): wrap it in a list"
            )
        networks = [_network(entry) for entry in allowlist]  # every entry vetted
        return any(ip in network for network in networks)
