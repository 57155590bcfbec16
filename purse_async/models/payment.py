"""The Payment resource (GetPayment, webhook body): authorization, operations, split and amounts.

Shaped on the first-payment guide's "GetPayment Response"; every member is kept.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

from ._enums import AuthorizationStatus, CaptureMode, OverviewStatus
from .common import Customer, Order, SplitItem, Webhook
from .operation import Operation
from .partner_transaction import PartnerTransaction

__all__ = ["Amounts", "Authentication", "Authorization", "Overview", "Payment", "Redirection"]


@attrs.frozen(kw_only=True)
class Overview:
    consumed: OverviewStatus | None = None
    captured: OverviewStatus | None = None
    voided: OverviewStatus | None = None
    refunded: OverviewStatus | None = None
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)


@attrs.frozen(kw_only=True)
class Amounts:
    """Totals and what is still available, in minor units."""

    authorize_pending: int | None = None
    total_authorized: int | None = None
    total_captured: int | None = None
    available_to_capture: int | None = None
    total_refunded: int | None = None
    available_to_refund: int | None = None
    total_voided: int | None = None
    available_to_void: int | None = None
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)


@attrs.frozen(kw_only=True)
class Authorization:
    """The authorization and its partner transactions, in the order Purse tried them."""

    status: AuthorizationStatus | None = None
    updated_at: datetime | None = None
    partner_transactions: tuple[PartnerTransaction, ...] = ()
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)

    @property
    def authorized_transactions(self) -> tuple[PartnerTransaction, ...]:
        return tuple(tx for tx in self.partner_transactions if tx.is_authorized)

    @property
    def authorized_transaction(self) -> PartnerTransaction | None:
        """The first partner transaction that authorized, if any."""
        return next((tx for tx in self.partner_transactions if tx.is_authorized), None)

    @property
    def failed_attempts(self) -> tuple[PartnerTransaction, ...]:
        """The failed transactions before the first authorized one (all of them if none
        authorized): what Purse's cascade went through before succeeding."""
        failed: list[PartnerTransaction] = []
        for tx in self.partner_transactions:
            if tx.is_authorized:
                break
            if tx.is_failed:
                failed.append(tx)
        return tuple(failed)


@attrs.frozen(kw_only=True)
class Redirection:
    """A page the shopper must visit to finish (3-D Secure, wallet), in the advanced flow."""

    href: str | None = None
    method: str | None = None
    media_type: str | None = None
    body: str | None = None
    form: str | None = None
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)


@attrs.frozen(kw_only=True)
class Authentication:
    status: str | None = None
    challenge_data: str | None = None
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)


@attrs.frozen(kw_only=True)
class Payment:
    """A payment: created when a client session is submitted (or by `payments.create`)."""

    id: str
    version: int | None = None
    entity_id: str | None = None
    client_session_id: str | None = None
    created_at: datetime | None = None
    order_reference: str | None = None
    order: Order | None = None
    customer: Customer | None = None
    overview: Overview | None = None
    amount: int | None = None
    currency: str | None = None
    allow_future_usage: bool | None = None
    capture_mode: CaptureMode | None = None
    authorization: Authorization | None = None
    captures: tuple[Operation, ...] = ()
    voids: tuple[Operation, ...] = ()
    refunds: tuple[Operation, ...] = ()
    split: tuple[SplitItem, ...] = ()
    amounts: Amounts | None = None
    redirection: Redirection | None = None
    authentication: Authentication | None = None
    links: dict[str, Any] | None = None
    webhook: Webhook | None = None
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)

    def find_operation(self, operation_id: str) -> Operation | None:
        """The capture, refund or void with this id."""
        for op in (*self.captures, *self.refunds, *self.voids):
            if op.id == operation_id:
                return op
        return None
