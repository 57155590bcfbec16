"""`purse.webhooks`: parse and vet a webhook delivery (the Payment JSON, or with Pay by Link the
PaymentLink JSON of the link-status stream: `parse_any` / `process_any` tell them apart).

Purse documents no signature: the SDK checks the source IP against the documented allowlist and,
optionally, an HMAC header; re-fetching the payment stays the authoritative answer.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from .. import models as _models
from .._config import Settings
from .._converter import structure
from .._errors import (
    ConfigurationError,
    DecodeError,
    ResponseTooLargeError,
    SignatureVerificationError,
    ValidationError,
    WebhookError,
)
from .._json import DEFAULT_MAX_RESPONSE_SIZE, loads
from .._requester import Requester
from ._base import PAYMENT_ONLY_MEMBERS, AsyncAPIResource, check_id
from ._webhook_events import (
    MemoryWebhookStore,
    PaymentLinkEvent,
    WebhookEvent,
    WebhookStore,
    check_store,
    dedupe,
    dedupe_link,
)

if TYPE_CHECKING:
    from ..models.payment import Payment
    from ..models.payment_link import PaymentLink

__all__ = [
    "SIGNATURE_HEADER",
    "WEBHOOK_SOURCE_IPS",
    "AsyncWebhooks",
    "compute_signature",
    "webhook_stream",
]

SIGNATURE_HEADER = "x-purse-signature"

#: Documented source addresses of Purse's webhook calls, per environment.
WEBHOOK_SOURCE_IPS: Mapping[str, frozenset[str]] = {
    "production": frozenset({"34.22.174.22", "34.89.137.175", "34.155.54.71"}),
    "sandbox": frozenset({"35.195.66.77", "34.141.13.87"}),
}

_IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


WebhookStream = Literal["payment", "payment_link"]


def webhook_stream(data: Mapping[str, Any]) -> WebhookStream:
    """Which stream a decoded webhook body belongs to (assumption, docs/payment-links.md):
    a top-level `status` and none of a payment's own members (`authorization`, `amounts`,
    `overview`, `split`, `captures`, `refunds`, `voids`) is a payment link's status; any other
    body with an `id` is a payment (whose status is `authorization.status`). `WebhookError`
    for a body that is neither (no `id`)."""
    if "id" not in data:
        members = ", ".join(sorted(str(key) for key in data)[:8]) or "none"
        raise WebhookError(
            f"webhook body is neither a payment nor a payment link: no id (members: {members:.200})"
        )
    if "status" in data and PAYMENT_ONLY_MEMBERS.isdisjoint(data):
        return "payment_link"
    return "payment"


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


# Parsed once: every delivery is checked against them.
_DOCUMENTED_NETWORKS: Mapping[str, tuple[_IPNetwork, ...]] = {
    environment: tuple(_network(ip) for ip in sorted(ips))
    for environment, ips in WEBHOOK_SOURCE_IPS.items()
}


def _check_delivered_id(what: str, value: str) -> None:
    try:
        check_id(f"{what} id", value)
    except ValidationError:
        raise WebhookError(f"webhook {what} id {value!r:.80} is not a valid id") from None


class AsyncWebhooks(AsyncAPIResource):
    """Webhook helpers: parse and vet a delivery (no I/O), or `process` it once and in order."""

    def __init__(self, requester: Requester, settings: Settings) -> None:
        super().__init__(requester, settings)
        # Made now, not on first use: clients made by `with_options` share it.
        self._memory_store = MemoryWebhookStore()

    async def process(
        self,
        body: bytes | str,
        *,
        headers: Mapping[str, str] | None = None,
        remote_ip: str | None = None,
        secret: str | Sequence[str] | None = None,
        allowlist: Iterable[str] | None = None,
        store: WebhookStore | None = None,
        refetch: bool = False,
        max_size: int = DEFAULT_MAX_RESPONSE_SIZE,
    ) -> WebhookEvent:
        """Vet, parse and deduplicate a webhook delivery: act on it only if `event.is_new`.

        Pass the raw body, the request headers and the peer address. With `remote_ip`, the
        source must be a documented Purse address of this client's environment (or in
        `allowlist`): `WebhookError` otherwise. With `secret`, the `x-purse-signature` header
        must match (`SignatureVerificationError`). The body is decoded as in `parse`.

        Per payment the highest `version` wins: a version already handled comes back as
        `reason="duplicate"`, an older one as `"stale"`, both with `is_new=False` (answer 2xx
        and ignore them). The versions live in `store` (default: this client's in-memory
        `MemoryWebhookStore`; share one `WebhookStore` between processes). A new version is
        recorded when this returns: if handling it then fails, its redelivery counts as a
        duplicate, so make handling idempotent or reconcile with `payments.retrieve`. With
        `refetch=True`, a new delivery's payment is re-read from the API (`event.payment`,
        the authoritative state) before it is recorded.
        """
        checked = self._vet(remote_ip, allowlist, refetch, store)
        delivered = self.parse(body, headers=headers, secret=secret, max_size=max_size)
        _check_delivered_id("payment", delivered.id)
        return await dedupe(delivered, checked, self._refetch if refetch else None)

    async def process_any(
        self,
        body: bytes | str,
        *,
        headers: Mapping[str, str] | None = None,
        remote_ip: str | None = None,
        secret: str | Sequence[str] | None = None,
        allowlist: Iterable[str] | None = None,
        store: WebhookStore | None = None,
        refetch: bool = False,
        max_size: int = DEFAULT_MAX_RESPONSE_SIZE,
    ) -> WebhookEvent | PaymentLinkEvent:
        """`process` for an endpoint that receives both streams of Pay by Link: a payment body
        gives a `WebhookEvent` (as `process`), a link-status body a `PaymentLinkEvent` (its
        `payment_link`, per link the highest `version` wins, in the same `store`; `refetch`
        re-reads it with `payment_links.retrieve`). Told apart as `parse_any` does; the checks
        (source, signature, size) are `process`'s.
        """
        checked = self._vet(remote_ip, allowlist, refetch, store)
        delivered = self.parse_any(body, headers=headers, secret=secret, max_size=max_size)
        if isinstance(delivered, _models.PaymentLink):
            _check_delivered_id("payment link", delivered.id)
            return await dedupe_link(delivered, checked, self._refetch_link if refetch else None)
        _check_delivered_id("payment", delivered.id)
        return await dedupe(delivered, checked, self._refetch if refetch else None)

    def _vet(
        self,
        remote_ip: str | None,
        allowlist: Iterable[str] | None,
        refetch: object,
        store: WebhookStore | None,
    ) -> WebhookStore:
        """The source and option checks of `process`; the store to use."""
        if remote_ip is not None:
            if not self.is_trusted_source(remote_ip, allowlist=allowlist):
                known = allowlist is not None or self._settings.environment in WEBHOOK_SOURCE_IPS
                raise WebhookError(
                    f"webhook from {remote_ip.strip()!r:.80} refused: not a Purse source address"
                    + ("" if known else " (this base URL has no documented ones: pass allowlist)")
                )
        elif allowlist is not None:
            raise ConfigurationError(
                "allowlist is only checked against remote_ip: pass remote_ip too"
            )
        if not isinstance(refetch, bool):
            raise ConfigurationError(f"refetch must be True or False, got {refetch!r:.80}")
        return self._default_store() if store is None else check_store(store)

    def _default_store(self) -> MemoryWebhookStore:
        return self._memory_store

    async def _refetch(self, payment_id: str) -> Payment:
        # Imported here: the payments resource is not needed by anything else in this module.
        from ._payments import AsyncPayments

        return await AsyncPayments(self._requester, self._settings).retrieve(payment_id)

    async def _refetch_link(self, payment_link_id: str) -> PaymentLink:
        from ._payment_links import AsyncPaymentLinks

        return await AsyncPaymentLinks(self._requester, self._settings).retrieve(payment_link_id)

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
        raises `WebhookError`; a payment whose members have the wrong types, `DecodeError`. A
        payment link's status (the Pay by Link stream, see `webhook_stream`) is not decoded as
        a payment: `WebhookError` (use `parse_any` where both streams arrive).
        """
        data = self._load(body, headers, secret, max_size)
        if "id" in data and webhook_stream(data) == "payment_link":
            raise WebhookError(
                f"webhook body is a payment link's status ({str(data.get('status'))!r:.40}), "
                "not a payment: use webhooks.parse_any / process_any where both Pay by Link "
                "streams arrive"
            )
        return structure(data, _models.Payment)

    def parse_any(
        self,
        body: bytes | str,
        *,
        headers: Mapping[str, str] | None = None,
        secret: str | Sequence[str] | None = None,
        max_size: int = DEFAULT_MAX_RESPONSE_SIZE,
    ) -> Payment | PaymentLink:
        """Decode a webhook body of either Pay by Link stream: a `Payment` (each attempt's
        payment, as `parse`) or a `PaymentLink` (the link-status stream); check which with
        `isinstance`. Told apart by `webhook_stream` (an assumption: docs/payment-links.md).

        The checks are `parse`'s (size, nesting, JSON object, `secret`); a body that is
        neither (no `id`, not a link status) raises `WebhookError`, members of the wrong types
        `DecodeError`.
        """
        data = self._load(body, headers, secret, max_size)
        if webhook_stream(data) == "payment_link":
            return structure(data, _models.PaymentLink)
        return structure(data, _models.Payment)

    def _load(
        self,
        body: bytes | str,
        headers: Mapping[str, str] | None,
        secret: str | Sequence[str] | None,
        max_size: int,
    ) -> Mapping[str, Any]:
        """The body checked (size, signature) and read as a JSON object."""
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
        return data

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
            networks = _DOCUMENTED_NETWORKS.get(self._settings.environment or "", ())
        elif isinstance(allowlist, str):
            raise ConfigurationError(
                f"allowlist must be a collection of addresses or networks, not a str "
                f"({allowlist!r:.80}): wrap it in a list"
            )
        else:
            networks = tuple(_network(entry) for entry in allowlist)  # every entry vetted
        return any(ip in network for network in networks)
