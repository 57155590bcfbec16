"""Objects shared by several resources: order, customer, addresses, browser, split items.

They serve both ways: decoded from answers, and accepted (like plain dicts) in request bodies.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import attrs

from ._enums import ChallengeIndicator

__all__ = [
    "Address",
    "Browser",
    "Customer",
    "CustomerAccount",
    "ItemLine",
    "Order",
    "Priority",
    "Shipment",
    "SplitItem",
    "ThreeDsAuthenticationOptions",
    "Webhook",
]


@attrs.frozen(kw_only=True)
class Address:
    gender: str | None = None
    first_name: str | None = None
    middle_name: str | None = None
    last_name: str | None = None
    address_lines: tuple[str, ...] = ()
    city: str | None = None
    postal_code: str | None = None
    country_code: str | None = None
    phone_number: str | None = None
    mobile_phone_number: str | None = None
    delivery_point_name: str | None = None
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)


@attrs.frozen(kw_only=True)
class ItemLine:
    """One line of an order; prices are ints in minor units."""

    type: str | None = None
    sku_reference: str | None = None
    name: str | None = None
    brand: str | None = None
    unit_gross_price: int | None = None
    net_amount: int | None = None
    quantity: int | None = None
    tax_amount: int | None = None
    tax_rate: float | None = None
    seller_reference: str | None = None
    seller_name: str | None = None
    is_marketplace_seller: bool | None = None
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)


@attrs.frozen(kw_only=True)
class Shipment:
    net_amount: int | None = None
    estimated_delivery_date_time: datetime | None = None
    shipping_address: Address | None = None
    item_lines: tuple[ItemLine, ...] = ()
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)


@attrs.frozen(kw_only=True)
class Order:
    """The order being paid: `net_amount` is the full payable total, `tax_amount` its tax part."""

    reference: str | None = None
    net_amount: int | None = None
    discount_amount: int | None = None
    tax_amount: int | None = None
    billing_address: Address | None = None
    shipments: tuple[Shipment, ...] = ()
    item_lines: tuple[ItemLine, ...] = ()
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)


@attrs.frozen(kw_only=True)
class CustomerAccount:
    creation_date_time: datetime | None = None
    update_date_time: datetime | None = None
    password_update_date_time: datetime | None = None
    purchase_count_last_day: int | None = None
    purchase_count_last_six_months: int | None = None
    purchase_count_last_year: int | None = None
    authentication_method: str | None = None
    authentication_date_time: datetime | None = None
    age_indicator: str | None = None
    change_indicator: str | None = None
    password_change_indicator: str | None = None
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)


@attrs.frozen(kw_only=True)
class Customer:
    reference: str | None = None
    type: str | None = None
    email: str | None = None
    gender: str | None = None
    first_name: str | None = None
    middle_name: str | None = None
    last_name: str | None = None
    national_identifier: str | None = None
    birth_date: date | None = None
    ip_address: str | None = None
    locale: str | None = None
    account: CustomerAccount | None = None
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)


@attrs.frozen(kw_only=True)
class ThreeDsAuthenticationOptions:
    challenge_indicator: ChallengeIndicator | None = None
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)


@attrs.frozen(kw_only=True)
class Webhook:
    """Where Purse POSTs the payment JSON whenever its amounts change."""

    url: str | None = None
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)


@attrs.frozen(kw_only=True)
class Browser:
    """The shopper's browser, required by the advanced flow for 3-D Secure."""

    user_agent: str | None = None
    accept_header: str | None = None
    color_depth: int | None = None
    java_enabled: bool | None = None
    javascript_enabled: bool | None = None
    locale: str | None = None
    screen_height: int | None = None
    screen_width: int | None = None
    utc_time_zone: int | None = None
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)


@attrs.frozen(kw_only=True)
class Priority:
    """One entry of an operation's processing order; `*` matches any partner or method."""

    partner: str = "*"
    method: str = "*"
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)


@attrs.frozen(kw_only=True)
class SplitItem:
    """A share of a payment: in answers {partner, method, amount}; in the advanced flow's
    requests a SecureFields `vault_form_token` or a saved `wallet_token`."""

    partner: str | None = None
    method: str | None = None
    amount: int | None = None
    vault_form_token: str | None = attrs.field(default=None, repr=False)
    save_token: bool | None = None
    wallet_token: str | None = attrs.field(default=None, repr=False)
    three_ds_server_trans_id: str | None = None
    three_ds_authentication_options: ThreeDsAuthenticationOptions | None = None
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)
