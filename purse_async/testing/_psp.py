"""Simulated PSPs (card PSPs "ingenico" then "adyen", gift-card PSP "illicado") and the magic
test cards that steer them, producing plain partner-transaction JSON.

Magic cards (any future expiry, any CVC; a past expiry is refused with "54"):

==================== =====================================================================
4242424242424242     authorized by ingenico (3-D Secure frictionless)
4000000000000002     refused, hard decline "05" (no cascade)
4000000000009995     soft decline "51" at ingenico, cascade to adyen which authorizes:
                     two partner transactions, REFUSED then AUTHORIZED
4000000000000119     technical ERROR "96" at ingenico (no cascade)
4000000000000077     PENDING; AUTHORIZED after `pending_delay` or `Sandbox.settle_pending()`
4000000000003220     authorized after a 3-D Secure challenge (three_ds.flow "CHALLENGE")
==================== =====================================================================

Any other 12-19 digit number is authorized frictionless. Any gift card number is debited by
illicado (method "giftcard") for its share of a split payment; if the card part then fails,
the gift card debit is cancelled (status ABORTED) so nothing stays authorized.
"""

from __future__ import annotations

import copy
import uuid
from datetime import datetime, timezone
from typing import Any

import attrs

__all__ = [
    "CARD_PSPS",
    "GIFT_CARD_PSP",
    "CardInput",
    "MagicCards",
    "authorize_checkout",
    "overall_status",
    "parse_card",
    "settle_transaction",
]

JSON = dict[str, Any]
CARD_PSPS = ("ingenico", "adyen")
GIFT_CARD_PSP = "illicado"
AUTHORIZED_CODES = {
    "ingenico": (
        "PENDING_CAPTURE",
        "Your authorisation request was successful, but you still need to capture it "
        "to receive the funds",
    ),
    "adyen": ("Authorised", "The payment was authorised successfully"),
}


class MagicCards:
    """Card numbers that make the simulated PSPs behave in a documented way."""

    AUTHORIZED = "4242424242424242"
    REFUSED = "4000000000000002"
    SOFT_DECLINE_CASCADE = "4000000000009995"
    ERROR = "4000000000000119"
    PENDING = "4000000000000077"
    THREE_DS_CHALLENGE = "4000000000003220"
    GIFT_CARD = "6280000000000001"


@attrs.frozen
class CardInput:
    number: str
    holder: str
    expiry_month: str
    expiry_year: str


def parse_card(number: str, holder: str, expiry: str) -> CardInput:
    """Normalize what a shopper typed; `ValueError` (shown on the form) if it is not a card.
    Non-digits are dropped, so vault tokens like "tok_4242424242424242" name a magic card."""
    digits = "".join(ch for ch in number if ch.isdigit())
    if not 12 <= len(digits) <= 19:
        raise ValueError("the card number must have 12 to 19 digits")
    month, sep, year = expiry.strip().partition("/")
    month, year = month.strip(), year.strip()
    if not (sep and month.isdigit() and year.isdigit() and 1 <= int(month) <= 12):
        raise ValueError("the expiry must be MM/YY")
    full_year = year if len(year) == 4 else f"20{year.zfill(2)[-2:]}"
    return CardInput(digits, holder.strip(), month.zfill(2), full_year)


def _network(number: str) -> tuple[str, str, str]:
    """(selected_network, card type, ECI of an authenticated 3-D Secure)."""
    if number.startswith("4"):
        return "VISA", "VISA_CREDIT", "05"
    if number[:2] in ("34", "37"):
        return "AMERICAN_EXPRESS", "AMEX_CREDIT", "05"
    if number[:1] in ("2", "5"):
        return "MASTERCARD", "MASTERCARD_CREDIT", "02"
    return "CARTE_BANCAIRE", "CB_DEBIT", "05"


def _card_block(card: CardInput, flow: str) -> JSON:
    network, card_type, eci = _network(card.number)
    return {
        "bin": card.number[:6],
        "last_four_digits": card.number[-4:],
        "holder_name": card.holder,
        "expiry_month": card.expiry_month,
        "expiry_year": card.expiry_year,
        "selected_network": network,
        "three_ds": {
            "eci": eci,
            "flow": flow,
            "ds_transaction_id": str(uuid.uuid4()).upper(),
            "acs_transaction_id": str(uuid.uuid4()).upper(),
        },
        "type": card_type,
    }


def _transaction(
    partner: str,
    method: str,
    amount: int,
    status: str,
    code: str,
    description: str,
    now: str,
    extra: JSON,
) -> JSON:
    open_ = status in ("AUTHORIZED", "PENDING")
    return {
        "partner": partner,
        "method": method,
        "id": str(uuid.uuid4()),
        "amount": amount,
        "remaining_amount": amount if open_ else 0,
        "created_at": now,
        "updated_at": now,
        "partner_reference": f"{partner[:3].upper()}-{uuid.uuid4().hex[:12]}",
        "partner_status": code,
        "partner_status_description": description,
        "status": status,
        **extra,
    }


def _expired(card: CardInput, now_ts: float) -> bool:
    today = datetime.fromtimestamp(now_ts, timezone.utc)
    return (int(card.expiry_year), int(card.expiry_month)) < (today.year, today.month)


def authorize_card(
    card: CardInput, amount: int, now: str, now_ts: float, *, first_psp: str | None = None
) -> list[JSON]:
    """One card authorization through the PSPs (with the cascade); the attempts in order."""
    first = first_psp if first_psp in CARD_PSPS else CARD_PSPS[0]
    second = next(p for p in CARD_PSPS if p != first)
    flow = "CHALLENGE" if card.number == MagicCards.THREE_DS_CHALLENGE else "FRICTIONLESS"
    block = _card_block(card, flow)

    def attempt(partner: str, status: str, code: str, text: str) -> JSON:
        extra = {"card": copy.deepcopy(block)}
        return _transaction(partner, "creditcard", amount, status, code, text, now, extra)

    if _expired(card, now_ts):
        return [attempt(first, "REFUSED", "54", "Expired card")]
    if card.number == MagicCards.REFUSED:
        return [attempt(first, "REFUSED", "05", "Do not honour")]
    if card.number == MagicCards.SOFT_DECLINE_CASCADE:
        return [
            attempt(first, "REFUSED", "51", "Soft decline: insufficient funds at this acquirer"),
            attempt(second, "AUTHORIZED", *AUTHORIZED_CODES[second]),
        ]
    if card.number == MagicCards.ERROR:
        return [attempt(first, "ERROR", "96", "System malfunction at the acquirer")]
    if card.number == MagicCards.PENDING:
        return [attempt(first, "PENDING", "PENDING_AUTHORISATION", "Authorisation in progress")]
    return [attempt(first, "AUTHORIZED", *AUTHORIZED_CODES[first])]


def authorize_gift_card(number: str, amount: int, now: str) -> JSON:
    digits = "".join(ch for ch in number if ch.isdigit()) or number
    extra = {"gift_card": {"brand": GIFT_CARD_PSP, "last_four_digits": digits[-4:]}}
    return _transaction(
        GIFT_CARD_PSP,
        "giftcard",
        amount,
        "AUTHORIZED",
        "AUTHORISED",
        "Gift card debit authorised",
        now,
        extra,
    )


def authorize_checkout(
    *,
    card: CardInput | None,
    amount: int,
    now: str,
    now_ts: float,
    gift_card: str | None = None,
    gift_card_amount: int | None = None,
    first_psp: str | None = None,
) -> list[JSON]:
    """A shopper's checkout: the gift card share first (default min(amount, 5000)), then the
    card for the rest; a failed card part cancels the gift card debit."""
    transactions: list[JSON] = []
    card_amount = amount
    if gift_card:
        share = min(amount, 5000 if gift_card_amount is None else gift_card_amount)
        if share > 0:
            transactions.append(authorize_gift_card(gift_card, share, now))
            card_amount = amount - share
    if card_amount > 0 or not transactions:
        if card is None:
            raise ValueError("a card is needed for the amount the gift card does not cover")
        attempts = authorize_card(card, card_amount, now, now_ts, first_psp=first_psp)
        transactions += attempts
        if attempts[-1]["status"] in ("REFUSED", "ERROR"):
            compensate(transactions, now)
    return transactions


def compensate(transactions: list[JSON], now: str) -> None:
    """Cancel the gift card debits of a checkout whose card part failed."""
    for tx in transactions:
        if tx["method"] == "giftcard" and tx["status"] == "AUTHORIZED":
            tx.update(
                status="ABORTED",
                partner_status="CANCELLED",
                partner_status_description="Debit cancelled: the rest of the payment failed",
                remaining_amount=0,
                updated_at=now,
            )


def settle_transaction(tx: JSON, status: str, now: str) -> None:
    """Resolve a PENDING partner transaction as the PSP would, later."""
    if status == "AUTHORIZED":
        code, text = AUTHORIZED_CODES.get(tx["partner"], AUTHORIZED_CODES[CARD_PSPS[0]])
    elif status == "REFUSED":
        code, text = "05", "Do not honour"
    else:
        code, text = "96", "System malfunction at the acquirer"
    tx.update(status=status, partner_status=code, partner_status_description=text, updated_at=now)
    if status != "AUTHORIZED":
        tx["remaining_amount"] = 0


def overall_status(transactions: list[JSON], amount: int) -> str:
    """The authorization's status from its partner transactions."""
    statuses = [tx["status"] for tx in transactions]
    if "PENDING" in statuses:
        return "PENDING"
    authorized = sum(tx["amount"] for tx in transactions if tx["status"] == "AUTHORIZED")
    if "AUTHORIZED" in statuses and authorized >= amount:
        return "AUTHORIZED"
    if statuses and statuses[-1] == "ERROR":
        return "ERROR"
    return "REFUSED"
