"""The `purse` logger and the redaction of credentials wherever headers or values are shown.

Nothing the SDK logs, reprs or raises may contain a secret, an api key or a bearer token.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

__all__ = ["REDACTED", "SENSITIVE_HEADERS", "logger", "redact_headers"]

logger = logging.getLogger("purse")

REDACTED = "***"

SENSITIVE_HEADERS = frozenset(
    {"authorization", "x-api-key", "proxy-authorization", "cookie", "set-cookie"}
)


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """A copy of `headers` safe to log: credential-bearing values replaced by ***."""
    return {
        name: (REDACTED if name.lower() in SENSITIVE_HEADERS else value)
        for name, value in headers.items()
    }
