"""Checks of the headers a caller adds (per client or per call): valid names, no control
characters (header injection), and none of the headers the SDK itself owns."""

from __future__ import annotations

import re
from collections.abc import Mapping

from ._errors import ValidationError

__all__ = ["RESERVED_HEADERS", "check_headers"]

# RFC 9110 field names are tokens; values may not hold CR, LF or NUL (header injection).
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")

#: Headers the SDK owns: a caller's copy would undo idempotency or authentication, or change
#: the framing of the body (aiohttp sends a caller's `Content-Length: 0` as given: the server
#: reads an empty capture, i.e. "capture everything", and the body becomes the next request).
RESERVED_HEADERS = frozenset(
    {
        "x-idempotency-key",
        "authorization",
        "x-api-key",
        "content-type",
        "content-length",
        "transfer-encoding",
    }
)


def check_headers(headers: Mapping[str, str], field: str) -> None:
    """Refuse header names and values that would break or inject into the request."""
    for name, value in headers.items():
        if not isinstance(name, str) or _HEADER_NAME.fullmatch(name) is None:
            raise ValidationError(f"{field}: invalid header name {name!r}", field=field, value=name)
        if not isinstance(value, str) or _BAD_VALUE.search(value) is not None:
            raise ValidationError(
                f"{field}: the value of {name!r} must be a string without control characters",
                field=field,
                value=name,
            )
        if name.lower() in RESERVED_HEADERS:
            raise ValidationError(
                f"{field}: {name!r} is set by the SDK (use idempotency_key= for the key)",
                field=field,
                value=name,
            )
