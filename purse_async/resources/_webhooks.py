"""`purse.webhooks`: parse and vet a webhook delivery (the body is the Payment JSON).

Purse documents no signature: the SDK checks the source IP against the documented allowlist and,
optionally, an HMAC header; re-fetching the payment stays the authoritative answer.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
from collections.abc import Iterable, Mapping
from typing import Any

from .._converter import structure
from .._errors import SignatureVerificationError, WebhookError
from ..models.payment import Payment
from ._base import AsyncAPIResource

__all__ = ["SIGNATURE_HEADER", "WEBHOOK_SOURCE_IPS", "AsyncWebhooks", "compute_signature"]

SIGNATURE_HEADER = "x-purse-signature"

#: Documented source addresses of Purse's webhook calls, per environment.
WEBHOOK_SOURCE_IPS: Mapping[str, frozenset[str]] = {
    "production": frozenset({"34.22.174.22", "34.89.137.175", "34.155.54.71"}),
    "sandbox": frozenset({"35.195.66.77", "34.141.13.87"}),
}


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


class AsyncWebhooks(AsyncAPIResource):
    """Webhook helpers; nothing here does I/O."""

    def parse(
        self,
        body: bytes | str,
        *,
        headers: Mapping[str, str] | None = None,
        secret: str | None = None,
    ) -> Payment:
        """Decode a webhook body into a `Payment`.

        With `secret`, the `x-purse-signature` header must hold the HMAC-SHA256 of the raw
        body (`SignatureVerificationError` otherwise). Pass the raw bytes, not re-encoded JSON.
        """
        raw = body.encode() if isinstance(body, str) else body
        if not isinstance(raw, (bytes, bytearray)):
            raise WebhookError(f"body must be the raw bytes or text, got {type(body).__name__}")
        if secret is not None:
            self.verify_signature(raw, _header(headers, SIGNATURE_HEADER), secret=secret)
        try:
            data: Any = json.loads(raw)
        except ValueError as exc:
            raise WebhookError(f"webhook body is not JSON: {exc}") from None
        if not isinstance(data, Mapping):
            raise WebhookError("webhook body is not a JSON object")
        return structure(data, Payment)

    def verify_signature(self, body: bytes, signature: str | None, *, secret: str) -> None:
        """Check an `x-purse-signature` header against the raw body, in constant time."""
        if not signature:
            raise SignatureVerificationError(f"missing {SIGNATURE_HEADER} header")
        expected = compute_signature(bytes(body), secret)
        if not hmac.compare_digest(expected.encode(), signature.strip().encode()):
            raise SignatureVerificationError(f"{SIGNATURE_HEADER} does not match the body")

    def is_trusted_source(self, remote_ip: str, *, allowlist: Iterable[str] | None = None) -> bool:
        """Does a delivery from `remote_ip` come from Purse? Uses the documented addresses of
        this client's environment unless `allowlist` is given (a custom base URL has none)."""
        if allowlist is None:
            allowlist = WEBHOOK_SOURCE_IPS.get(self._settings.environment or "", frozenset())
        try:
            ip = ipaddress.ip_address(remote_ip.strip())
        except ValueError:
            return False
        for entry in allowlist:
            try:
                if ip in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                continue
        return False
