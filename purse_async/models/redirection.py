"""The verified content of `purse-redirection-data`: which session and payment, and their status.

Only `purse.redirections.verify(...)` builds it, after the signature held.
"""

from __future__ import annotations

from typing import Any

import attrs

from ._enums import AuthorizationStatus, ClientSessionStatus

__all__ = ["RedirectionResult"]


@attrs.frozen(kw_only=True)
class RedirectionResult:
    """Claims of a verified redirection (`payment_id` is None when no payment was made)."""

    client_session_id: str
    payment_id: str | None = None
    authorization_status: AuthorizationStatus | None = None
    client_session_status: ClientSessionStatus | None = None
    iat: int | None = None
    exp: int | None = None
    token: str = attrs.field(default="", repr=False)
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)
