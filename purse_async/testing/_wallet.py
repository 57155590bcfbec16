"""Saved cards for merchant-initiated (MIT) payments: wallet tokens `wt_<32 hex>` made when an
authorization asked to save its card, or directly by `Sandbox.save_card()`.

Purse documents `allow_future_usage` and `save_token` but neither the token a payment yields nor
how an MIT names it; the sandbox's answer is a written assumption (docs/sandbox.md): the
AUTHORIZED card partner transaction carries `"wallet_token"`, and `POST /payments` with a split
item `{"wallet_token", "amount"}` (no `vault_form_token`) is an MIT on that card.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from ._psp import CardInput

__all__ = ["SavedCard", "Wallet", "customer_reference"]

JSONList = list[dict[str, object]]


def customer_reference(source: Mapping[str, Any]) -> str | None:
    """`customer.reference` of a session or payment request, if any: who owns a saved card."""
    customer = source.get("customer")
    reference = customer.get("reference") if isinstance(customer, dict) else None
    return reference if isinstance(reference, str) else None


@attrs.frozen
class SavedCard:
    """A card behind a wallet token; `customer_reference` is recorded, not enforced."""

    token: str
    card: CardInput
    customer_reference: str | None


class Wallet:
    """The sandbox's token vault, plus the cards waiting for their authorization to settle."""

    def __init__(self) -> None:
        self.cards: dict[str, SavedCard] = {}
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
