"""Saved cards for merchant-initiated (MIT) payments: wallet tokens `wt_<32 hex>` made when an
authorization asked to save its card, or directly by `Sandbox.save_card()`; and the Wallet API v3
route's data (`SavedCard.as_json`, `Wallet.tokens_of`; the route is in `_wallet_routes`).

Purse documents `allow_future_usage` and `save_token` but neither the token a payment yields nor
how an MIT names it; the sandbox's answer is a written assumption (docs/sandbox.md): the
AUTHORIZED card partner transaction carries `"wallet_token"`, and `POST /payments` with a split
item `{"wallet_token", "amount"}` (no `vault_form_token`) is an MIT on that card. The token's id
is what `GET /wallet/v3/wallet/merchants/{merchant_id}/customers/{reference}/tokens` lists as
`id` (documented shape, `{"integrated_tokens": [...]}`); the sandbox has one merchant.
"""

from __future__ import annotations

import calendar
import secrets
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import Any

import attrs

from ._psp import CardInput, _network

__all__ = ["SavedCard", "Wallet", "customer_reference"]

JSONList = list[dict[str, object]]


def customer_reference(source: Mapping[str, Any]) -> str | None:
    """`customer.reference` of a session or payment request, if any: who owns a saved card."""
    customer = source.get("customer")
    reference = customer.get("reference") if isinstance(customer, dict) else None
    return reference if isinstance(reference, str) else None


@attrs.frozen
class SavedCard:
    """A card behind a wallet token; `customer_reference` is its owner: a payment naming
    another `customer.reference` may not use it (a 422, `_payment_routes`)."""

    token: str
    card: CardInput
    customer_reference: str | None
    created_at: str = attrs.field(
        factory=lambda: datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")
    )
    #: The token at the PSP (`value` in the Wallet API), distinct from Purse's id.
    value: str = attrs.field(factory=lambda: "psp_" + secrets.token_hex(12))

    def as_json(self, merchant_id: str) -> dict[str, object]:
        """The Wallet API v3 token object (the documented members, plus the description
        members Purse's SDK types show)."""
        card = self.card
        year, month = int(card.expiry_year), int(card.expiry_month)
        last_day = calendar.monthrange(year, month)[1]
        network = _network(card.number)[0]
        return {
            "id": self.token,
            "value": self.value,
            "expiration_date": f"{year:04d}-{month:02d}-{last_day:02d}T23:59:59Z",
            "owner_reference": self.customer_reference,
            "merchant": merchant_id,
            "description": {
                "brand_name": network,
                "display_token": f"**** {card.number[-4:]}",
                "holder_name": card.holder,
                "masked_pan": card.number[:6] + "*" * (len(card.number) - 10) + card.number[-4:],
            },
            "status": "ACTIVE",
            "created_at": self.created_at,
        }


class Wallet:
    """The sandbox's token vault, plus the cards waiting for their authorization to settle."""

    def __init__(self) -> None:
        self.cards: dict[str, SavedCard] = {}
        #: The Wallet API's merchant id of this sandbox (`Sandbox.merchant_id`).
        self.merchant_id = f"sandbox-merchant-{secrets.token_hex(4)}"
        # Partner transaction id -> the card to save once that transaction is AUTHORIZED
        # (a PENDING one saves its card when it settles, not before).
        self._to_save: dict[str, tuple[CardInput, str | None]] = {}

    def save(self, card: CardInput, customer_reference: str | None = None) -> str:
        """The token for this card and customer: one token per (number, expiry, customer),
        so saving a card again (e.g. an MIT that asks to save its card) reuses its token."""
        for saved in self.cards.values():
            if (saved.card.number, saved.card.expiry_month, saved.card.expiry_year) == (
                card.number,
                card.expiry_month,
                card.expiry_year,
            ) and saved.customer_reference == customer_reference:
                return saved.token
        token = "wt_" + secrets.token_hex(16)
        self.cards[token] = SavedCard(token, card, customer_reference)
        return token

    def get(self, token: object) -> SavedCard | None:
        return self.cards.get(token) if isinstance(token, str) else None

    def save_when_authorized(
        self, transactions: Iterable[dict[str, object]], card: CardInput, customer: str | None
    ) -> None:
        """Remember `card` for the card transactions of one split item that asked to save it."""
        for tx in transactions:
            if tx.get("method") == "creditcard":
                self._to_save[str(tx["id"])] = (card, customer)

    def attach_tokens(self, transactions: JSONList) -> None:
        """Give each AUTHORIZED transaction waiting for it its `wallet_token`; forget those that
        ended otherwise. Called where an authorization is decided, inside that same change."""
        for tx in transactions:
            tx_id = str(tx.get("id"))
            if tx_id not in self._to_save or tx.get("status") == "PENDING":
                continue
            card, customer = self._to_save.pop(tx_id)
            if tx.get("status") == "AUTHORIZED":
                tx["wallet_token"] = self.save(card, customer)

    def tokens_of(self, customer: str) -> list[SavedCard]:
        """The customer's saved cards, oldest first (cards saved without a customer: none)."""
        return [saved for saved in self.cards.values() if saved.customer_reference == customer]
