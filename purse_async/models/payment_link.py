"""The payment link (Pay by Link): a shareable URL to a Hosted Page, reusable until one payment
attempt is authorized; also the body of the link-status webhook stream.

Documented members are the create request's (`entity_id`, `amount`, `currency`,
`shopper_redirection_url`, `order`) and the statuses `OPENED` / `PAID`; the rest is an assumption
(docs/payment-links.md), and any member Purse sends that is not modelled lands in `extra`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

from ._enums import CaptureMode, PaymentLinkStatus
from .common import Customer, Order, ThreeDsAuthenticationOptions, Webhook

__all__ = ["PaymentLink", "PaymentLinkLinks"]


@attrs.frozen(kw_only=True)
class PaymentLinkLinks:
    """Where the link leads: `hosted_page` is the URL to send the customer (assumption: named as
    the client session's `links.hosted_page`)."""

    hosted_page: str | None = None
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)


@attrs.frozen(kw_only=True)
class PaymentLink:
    """A payment link, as `payment_links.create` / `retrieve` and the link-status webhook show it.

    Documented: the request members (`entity_id`, `amount`, `currency`,
    `shopper_redirection_url`, `order`), that a failed attempt reverts `status` to `OPENED` and
    that the first AUTHORIZED attempt locks it to `PAID`. Assumptions (docs/payment-links.md,
    "Assumptions"): the URL is `links.hosted_page` (also `url`); `payment_id` is the latest
    attempt's payment (the paying one once `PAID`) and `payment_ids` every attempt's, oldest
    first; `version` grows with every change (webhooks are ordered by it, as payments are);
    `customer`, `capture_mode`, `webhook` and `three_ds_authentication_options` are accepted as
    on a client session; the link-status webhook body is this object.
    """

    id: str
    status: PaymentLinkStatus | None = None
    version: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    expires_at: datetime | None = None
    entity_id: str | None = None
    amount: int | None = None
    currency: str | None = None
    capture_mode: CaptureMode | None = None
    shopper_redirection_url: str | None = None
    order: Order | None = None
    customer: Customer | None = None
    webhook: Webhook | None = None
    three_ds_authentication_options: ThreeDsAuthenticationOptions | None = None
    links: PaymentLinkLinks | None = None
    payment_id: str | None = None
    payment_ids: tuple[str, ...] = ()
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)

    @property
    def url(self) -> str | None:
        """The URL to send the customer (`links.hosted_page`)."""
        return self.links.hosted_page if self.links is not None else None
