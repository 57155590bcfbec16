"""Partner transactions: what each PSP did, with its raw status and method-specific metadata.

`status` is Purse's normalized status; `partner_status` the PSP's own code, kept verbatim.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from ._enums import FAILED_AUTHORIZATION_STATUSES, AuthorizationStatus

__all__ = [
    "Card",
    "GiftCard",
    "PartnerAdditionalData",
    "PartnerTransaction",
    "ThreeDs",
    "Wallet",
]


@attrs.frozen(kw_only=True)
class ThreeDs:
    eci: str | None = None
    flow: str | None = None
    ds_transaction_id: str | None = None
    acs_transaction_id: str | None = None
    version: str | None = None
    status: str | None = None
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)


@attrs.frozen(kw_only=True)
class Card:
    bin: str | None = None
    last_four_digits: str | None = None
    holder_name: str | None = None
    expiry_month: str | None = None
    expiry_year: str | None = None
    selected_network: str | None = None
    type: str | None = None
    three_ds: ThreeDs | None = None
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)


@attrs.frozen(kw_only=True)
class Wallet:
    type: str | None = None
    provider: str | None = None
    email: str | None = None
    card: Card | None = None
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)


@attrs.frozen(kw_only=True)
class GiftCard:
    brand: str | None = None
    last_four_digits: str | None = None
    masked_number: str | None = None
    balance: int | None = None
    expiry_date: str | None = None
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)


@attrs.frozen(kw_only=True)
class PartnerAdditionalData:
    """PSP redirection details (3-D Secure or wallet pages) for the advanced flow."""

    redirect_url_post_params: str | None = None
    redirection_method: str | None = None
    redirection_url: str | None = None
    redirection_json: Any = None
    result_code: str | None = None
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)


@attrs.frozen(kw_only=True)
class PartnerTransaction:
    """One attempt at one PSP (partner) with one method, for part or all of the amount."""

    id: str
    partner: str | None = None
    method: str | None = None
    amount: int | None = None
    remaining_amount: int | None = None
    partner_reference: str | None = None
    partner_status: str | None = None
    partner_status_description: str | None = None
    status: AuthorizationStatus | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    card: Card | None = None
    wallet: Wallet | None = None
    gift_card: GiftCard | None = None
    partner_additional_data: PartnerAdditionalData | None = None
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)

    @property
    def is_authorized(self) -> bool:
        return self.status == AuthorizationStatus.AUTHORIZED

    @property
    def is_failed(self) -> bool:
        return self.status in FAILED_AUTHORIZATION_STATUSES

    @property
    def metadata(self) -> Card | Wallet | GiftCard | Mapping[str, Any] | None:
        """The method's own details: a Card, Wallet or GiftCard, or for a method the SDK does
        not model, the raw object found under the method's name (or the extra members)."""
        for known in (self.card, self.gift_card, self.wallet):
            if known is not None:
                return known
        if self.method and isinstance(self.extra.get(self.method), Mapping):
            raw: Mapping[str, Any] = self.extra[self.method]
            return raw
        return self.extra or None
