"""Saved payment tokens of a customer, as the Wallet API v3 lists them (`purse.wallet`).

`WalletToken.id` is what a payment's `split[].wallet_token` names; unknown members go to `extra`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

from ._enums import WalletTokenStatus

__all__ = ["WalletToken", "WalletTokenDescription", "WalletTokenList", "WalletTokenPaymentId"]


@attrs.frozen(kw_only=True)
class WalletTokenDescription:
    """What to show the customer: `brand_name` ("VISA", "PAYPAL") and `display_token` (a masked
    number or an email) are documented; `holder_name` and `masked_pan` appear in Purse's SDKs."""

    brand_name: str | None = None
    display_token: str | None = None
    holder_name: str | None = None
    masked_pan: str | None = None
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)


@attrs.frozen(kw_only=True)
class WalletTokenPaymentId:
    """The payment solution the token was saved with (seen in Purse's SDK types, undocumented)."""

    origin: str | None = None
    partner: str | None = None
    method: str | None = None
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)


@attrs.frozen(kw_only=True)
class WalletToken:
    """One saved payment method of a customer.

    Documented members: `id` (pass it as `split[].wallet_token`), `value` (the token at the
    PSP), `expiration_date`, `owner_reference` (the customer reference), `merchant`,
    `description` and `status`. The others come from Purse's SDK types and may be absent.
    """

    id: str
    value: str | None = attrs.field(default=None, repr=False)
    expiration_date: datetime | None = None
    owner_reference: str | None = None
    merchant: str | None = None
    description: WalletTokenDescription | None = None
    status: WalletTokenStatus | None = None
    uniqueness_token: str | None = attrs.field(default=None, repr=False)
    favorite: bool | None = None
    payment_id: WalletTokenPaymentId | None = None
    name: str | None = None
    source: str | None = None
    created_at: datetime | None = None
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)

    @property
    def is_active(self) -> bool:
        """Usable for a payment as far as its status says (`ACTIVE`)."""
        return self.status == WalletTokenStatus.ACTIVE


@attrs.frozen(kw_only=True)
class WalletTokenList:
    """The documented answer's wrapper, `{"integrated_tokens": [...]}`."""

    integrated_tokens: tuple[WalletToken, ...]
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)
