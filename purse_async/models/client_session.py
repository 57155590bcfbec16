"""The client session: what a checkout starts from (widget data, hosted page link, status).

Once submitted it carries the payment id and the authorization.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

from ._enums import CaptureMode, ClientSessionStatus, IntegrationMode
from .common import Customer, Order, ThreeDsAuthenticationOptions, Webhook
from .payment import Authorization

__all__ = ["ClientSession", "ClientSessionLinks", "Widget"]


@attrs.frozen(kw_only=True)
class Widget:
    """Load `js_url` in the page and hand `data` to the Purse checkout widget."""

    js_url: str | None = None
    data: str | None = None
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)


@attrs.frozen(kw_only=True)
class ClientSessionLinks:
    hosted_page: str | None = None
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)


@attrs.frozen(kw_only=True)
class ClientSession:
    id: str
    status: ClientSessionStatus | None = None
    created_at: datetime | None = None
    expires_at: datetime | None = None
    entity_id: str | None = None
    amount: int | None = None
    currency: str | None = None
    capture_mode: CaptureMode | None = None
    capture_delay: str | None = None
    integration_mode: IntegrationMode | None = None
    allow_future_usage: bool | None = None
    shopper_redirection_url: str | None = None
    order: Order | None = None
    customer: Customer | None = None
    webhook: Webhook | None = None
    three_ds_authentication_options: ThreeDsAuthenticationOptions | None = None
    widget: Widget | None = None
    links: ClientSessionLinks | None = None
    authorization: Authorization | None = None
    payment_id: str | None = None
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)
