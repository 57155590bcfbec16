"""Simulated PSPs (card PSPs "ingenico" and "adyen", gift-card PSP "illicado"): each partner's raw
codes and what every magic card does there, producing plain partner-transaction JSON.

Purse documents only that `partner_status` is the PSP's raw code; the codes below are written
assumptions modelled on each PSP's public conventions (docs/sandbox.md has the full tables):
ingenico answers ISO 8583-like codes, adyen answers Adyen refusal reasons.

==================== ============================================= ==========================
card                 ingenico                                      adyen
==================== ============================================= ==========================
4242424242424242     AUTHORIZED "PENDING_CAPTURE"                  AUTHORIZED "Authorised"
4000000000000002     REFUSED "05" Do not honor (hard)              REFUSED "Refused" (hard)
4000000000009995     soft decline at the first partner tried ("51" / "Not enough balance"),
                     then Purse cascades to the next eligible card partner, which authorizes
4000000000000051     REFUSED "51" Insufficient funds, no cascade   AUTHORIZED "Authorised"
4000000000000119     ERROR "96" System malfunction                 ERROR "Acquirer Error"
4000000000000077     PENDING "PENDING_AUTHORISATION"               PENDING "Pending"
4000000000003220     AUTHORIZED after a 3-D Secure challenge (CIT; an MIT has no 3-D Secure)
past expiry          REFUSED "54" Expired card (hard)              REFUSED "Expired Card"
==================== ============================================= ==========================

Any other 12-19 digit number is authorized frictionless. Any gift card number is debited by
illicado (method "giftcard") for its share of a split payment; if the card part then fails,
the gift card debit is cancelled (status ABORTED) so nothing stays authorized.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

import attrs

__all__ = [
    "CARD_PSPS",
    "CODES",
    "GIFT_CARD_PSP",
    "CardInput",
    "MagicCards",
    "authorize_card",
    "authorize_checkout",
    "overall_status",
    "parse_card",
    "settle_transaction",
]

JSON = dict[str, Any]
CARD_PSPS = ("ingenico", "adyen")
GIFT_CARD_PSP = "illicado"

# Per partner, per outcome: (normalized status, raw partner_status, partner_status_description).
# "soft" is a decline worth retrying later (funds); "refused" and "expired" are hard declines.
CODES: dict[str, dict[str, tuple[str, str, str]]] = {
    "ingenico": {
        "authorized": (
            "AUTHORIZED",
            "PENDING_CAPTURE",
            "Your authorisation request was successful, but you still need to capture it "
            "to receive the funds",
        ),
        "pending": ("PENDING", "PENDING_AUTHORISATION", "Authorisation in progress"),
        "refused": ("REFUSED", "05", "Do not honor"),
        "soft": ("REFUSED", "51", "Insufficient funds"),
        "expired": ("REFUSED", "54", "Expired card"),
        "error": ("ERROR", "96", "System malfunction"),
    },
    "adyen": {
        "authorized": ("AUTHORIZED", "Authorised", "The payment was authorised successfully"),
        "pending": ("PENDING", "Pending", "The final result of the payment is not known yet"),
        "refused": ("REFUSED", "Refused", "The transaction was refused by the issuer"),
        "soft": (
            "REFUSED",
            "Not enough balance",
            "The card does not have enough money to cover the payable amount",
        ),
        "expired": ("REFUSED", "Expired Card", "The card used for the transaction has expired"),
        "error": (
            "ERROR",
            "Acquirer Error",
            "The transaction did not go through due to an error at the acquirer",
        ),
    },
}
GIFT_CARD_CODES = {
    "authorized": ("AUTHORIZED", "AUTHORISED", "Gift card debit authorised"),
    "cancelled": ("ABORTED", "CANCELLED", "Debit cancelled: the rest of the payment failed"),
}
SETTLED_OUTCOME = {"AUTHORIZED": "authorized", "REFUSED": "refused", "ERROR": "error"}


class MagicCards:
    """Card numbers that make the simulated PSPs behave in a documented way."""

    AUTHORIZED = "4242424242424242"
    REFUSED = "4000000000000002"
    SOFT_DECLINE_CASCADE = "4000000000009995"
    SOFT_DECLINE_FIRST_PSP = "4000000000000051"
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


def _card_block(card: CardInput, flow: str | None) -> JSON:
    network, card_type, eci = _network(card.number)
    three_ds: JSON | None = None
    if flow is not None:
        three_ds = {
            "eci": eci,
            "flow": flow,
            "ds_transaction_id": str(uuid.uuid4()).upper(),
            "acs_transaction_id": str(uuid.uuid4()).upper(),
        }
    return {
        "bin": card.number[:6],
        "last_four_digits": card.number[-4:],
        "holder_name": card.holder,
        "expiry_month": card.expiry_month,
        "expiry_year": card.expiry_year,
        "selected_network": network,
        "three_ds": three_ds,
        "type": card_type,
    }


def _transaction(
    partner: str, method: str, amount: int, answer: tuple[str, str, str], now: str, extra: JSON
) -> JSON:
    status, code, description = answer
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


def _outcome(card: CardInput, partner: str, position: int, now_ts: float) -> str:
    """What `partner` answers for `card` at this attempt (0 = the first partner tried)."""
    if _expired(card, now_ts):
        return "expired"
    number = card.number
    if number == MagicCards.REFUSED:
        return "refused"
    if number == MagicCards.SOFT_DECLINE_CASCADE:
        # Declined by whichever partner is tried first: the cascade is Purse's, not the card's.
        return "soft" if position == 0 else "authorized"
    if number == MagicCards.SOFT_DECLINE_FIRST_PSP:
        return "soft" if partner == CARD_PSPS[0] else "authorized"
    if number == MagicCards.ERROR:
        return "error"
    if number == MagicCards.PENDING:
        return "pending"
    return "authorized"


def authorize_card(
    card: CardInput,
    amount: int,
    now: str,
    now_ts: float,
    *,
    route: Sequence[str],
    three_ds: bool = True,
) -> list[JSON]:
    """One card authorization: `route[0]` first, then (only for the cascade card) the next
    partner of `route`; the attempts in order. `three_ds=False` for a merchant-initiated
    payment (no shopper, so no 3-D Secure block). `route` is never empty: callers refuse a
    card payment no card partner is eligible for."""
    flow = "CHALLENGE" if card.number == MagicCards.THREE_DS_CHALLENGE else "FRICTIONLESS"
    block = _card_block(card, flow if three_ds else None)
    attempts: list[JSON] = []
    for position, partner in enumerate(route):
        outcome = _outcome(card, partner, position, now_ts)
        extra = {"card": copy.deepcopy(block)}
        attempts.append(
            _transaction(partner, "creditcard", amount, CODES[partner][outcome], now, extra)
        )
        # Purse cascades inside one payment only after the cascade card's soft decline.
        if not (outcome == "soft" and card.number == MagicCards.SOFT_DECLINE_CASCADE):
            break
    return attempts


def authorize_gift_card(number: str, amount: int, now: str) -> JSON:
    digits = "".join(ch for ch in number if ch.isdigit()) or number
    extra = {"gift_card": {"brand": GIFT_CARD_PSP, "last_four_digits": digits[-4:]}}
    answer = GIFT_CARD_CODES["authorized"]
    return _transaction(GIFT_CARD_PSP, "giftcard", amount, answer, now, extra)


def authorize_checkout(
    *,
    card: CardInput | None,
    amount: int,
    now: str,
    now_ts: float,
    route: Sequence[str],
    gift_card: str | None = None,
    gift_card_amount: int | None = None,
) -> list[JSON]:
    """A shopper's checkout: the gift card share first (default min(amount, 5000)), then the
    card for the rest along `route`; a failed card part cancels the gift card debit."""
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
        attempts = authorize_card(card, card_amount, now, now_ts, route=route)
        transactions += attempts
        if attempts[-1]["status"] in ("REFUSED", "ERROR"):
            compensate(transactions, now)
    return transactions


def compensate(transactions: list[JSON], now: str) -> None:
    """Cancel the gift card debits of a checkout whose card part failed."""
    status, code, text = GIFT_CARD_CODES["cancelled"]
    for tx in transactions:
        if tx["method"] == "giftcard" and tx["status"] == "AUTHORIZED":
            tx.update(
                status=status,
                partner_status=code,
                partner_status_description=text,
                remaining_amount=0,
                updated_at=now,
            )


def settle_transaction(tx: JSON, status: str, now: str) -> None:
    """Resolve a PENDING partner transaction as the PSP would, later, with its own codes."""
    table = CODES.get(tx["partner"], CODES[CARD_PSPS[0]])
    _, code, text = table[SETTLED_OUTCOME[status]]
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
