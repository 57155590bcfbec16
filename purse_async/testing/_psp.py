"""Simulated PSPs and the documented magic test cards, as plain partner-transaction JSON.

Magic cards (any expiry in the future, any CVC):

=================== ======================================================================
4242424242424242    authorized by the first card PSP (ingenico)
4000000000000002    refused (hard decline "05", no cascade)
4000000000009995    soft decline at ingenico, cascade to adyen which authorizes (2 transactions)
4000000000000119    technical ERROR at the PSP
4000000000000077    PENDING, authorized after `pending_delay` or `Sandbox.settle_pending()`
4000000000003220    authorized after a 3-D Secure challenge (three_ds.flow "CHALLENGE")
=================== ======================================================================

Any other 12-19 digit number is authorized frictionless. A gift card (any number) is
authorized by illicado for its share of a split payment.
"""

from __future__ import annotations

import uuid
from typing import Any

__all__ = ["CARD_PSPS", "GIFT_CARD_PSP", "MagicCards", "authorize"]

CARD_PSPS = ("ingenico", "adyen")
GIFT_CARD_PSP = "illicado"


class MagicCards:
    """Card numbers that make the simulated PSPs behave in a documented way."""

    AUTHORIZED = "4242424242424242"
    REFUSED = "4000000000000002"
    SOFT_DECLINE_CASCADE = "4000000000009995"
    ERROR = "4000000000000119"
    PENDING = "4000000000000077"
    THREE_DS_CHALLENGE = "4000000000003220"


def _network(number: str) -> tuple[str, str]:
    if number.startswith("4"):
        return "VISA", "VISA_CREDIT"
    if number[:2] in ("34", "37"):
        return "AMERICAN_EXPRESS", "AMEX_CREDIT"
    if number[:1] in ("2", "5"):
        return "MASTERCARD", "MASTERCARD_CREDIT"
    return "CARTE_BANCAIRE", "CB_DEBIT"


def _card(number: str, holder: str, expiry: str, flow: str) -> dict[str, Any]:
    month, _, year = expiry.partition("/")
    year = year.strip()
    network, card_type = _network(number)
    return {
        "bin": number[:6],
        "last_four_digits": number[-4:],
        "holder_name": holder,
        "expiry_month": month.strip().zfill(2),
        "expiry_year": year if len(year) == 4 else f"20{year.zfill(2)}",
        "selected_network": network,
        "three_ds": {
            "eci": "05",
            "flow": flow,
            "ds_transaction_id": str(uuid.uuid4()).upper(),
            "acs_transaction_id": str(uuid.uuid4()).upper(),
        },
        "type": card_type,
    }


def _transaction(
    *,
    partner: str,
    method: str,
    amount: int,
    status: str,
    partner_status: str,
    description: str,
    now: str,
    extra: dict[str, Any],
) -> dict[str, Any]:
    authorized = status == "AUTHORIZED"
    return {
        "partner": partner,
        "method": method,
        "id": str(uuid.uuid4()),
        "amount": amount,
        "remaining_amount": amount if authorized or status == "PENDING" else 0,
        "created_at": now,
        "updated_at": now,
        "partner_reference": f"{partner[:3].upper()}-{uuid.uuid4().hex[:12]}",
        "partner_status": partner_status,
        "partner_status_description": description,
        "status": status,
        **extra,
    }


def authorize(
    *,
    card: str,
    holder: str,
    expiry: str,
    amount: int,
    now: str,
    gift_card: str | None = None,
    gift_card_amount: int | None = None,
) -> list[dict[str, Any]]:
    """Run one checkout through the PSPs; the partner transactions, in the order tried."""
    transactions: list[dict[str, Any]] = []
    card_amount = amount
    if gift_card:
        share = min(amount, gift_card_amount if gift_card_amount is not None else 5000)
        transactions.append(
            _transaction(
                partner=GIFT_CARD_PSP,
                method="giftcard",
                amount=share,
                status="AUTHORIZED",
                partner_status="AUTHORISED",
                description="Gift card debit authorised",
                now=now,
                extra={"gift_card": {"brand": GIFT_CARD_PSP, "last_four_digits": gift_card[-4:]}},
            )
        )
        card_amount = amount - share
    if card_amount <= 0:
        return transactions
    number = "".join(ch for ch in card if ch.isdigit())
    flow = "CHALLENGE" if number == MagicCards.THREE_DS_CHALLENGE else "FRICTIONLESS"
    card_block = {"card": _card(number, holder, expiry, flow)}

    def card_tx(partner: str, status: str, code: str, text: str) -> dict[str, Any]:
        return _transaction(
            partner=partner,
            method="creditcard",
            amount=card_amount,
            status=status,
            partner_status=code,
            description=text,
            now=now,
            extra=card_block,
        )

    first, second = CARD_PSPS
    if number == MagicCards.REFUSED:
        transactions.append(card_tx(first, "REFUSED", "05", "Do not honour"))
    elif number == MagicCards.SOFT_DECLINE_CASCADE:
        transactions.append(
            card_tx(first, "REFUSED", "51", "Soft decline: insufficient funds at this acquirer")
        )
        transactions.append(
            card_tx(second, "AUTHORIZED", "Authorised", "The payment was authorised successfully")
        )
    elif number == MagicCards.ERROR:
        transactions.append(card_tx(first, "ERROR", "96", "System malfunction at the acquirer"))
    elif number == MagicCards.PENDING:
        transactions.append(
            card_tx(first, "PENDING", "PENDING_AUTHORISATION", "Authorisation is being processed")
        )
    else:
        transactions.append(
            card_tx(
                first,
                "AUTHORIZED",
                "PENDING_CAPTURE",
                "Your authorisation request was successful, but you still need to capture it "
                "to receive the funds",
            )
        )
    return transactions


def overall_status(transactions: list[dict[str, Any]], amount: int) -> str:
    """The authorization's status from its partner transactions."""
    statuses = [tx["status"] for tx in transactions]
    if "PENDING" in statuses:
        return "PENDING"
    authorized = sum(tx["amount"] for tx in transactions if tx["status"] == "AUTHORIZED")
    if authorized >= amount and authorized > 0:
        return "AUTHORIZED"
    if "ERROR" in statuses:
        return "ERROR"
    return "REFUSED"
