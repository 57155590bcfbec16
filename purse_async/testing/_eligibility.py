"""Which payment solutions (partner + method) the sandbox offers for an amount and a currency:
the table behind `POST /payment/v2/eligible-solutions` and the routing of new payments.

Purse's real eligibility is configured per merchant contract; this table is a written
assumption (docs/sandbox.md), chosen so tests can reach each case: a currency only one card
partner takes (CHF), an amount only one takes (over 1,000,000), a gift card limited to EUR.
Limits apply to the payment's total `amount`, the figure eligible-solutions is asked about.
"""

from __future__ import annotations

import attrs

__all__ = ["SOLUTIONS", "Solution", "card_route", "describe", "eligible", "is_eligible"]


@attrs.frozen
class Solution:
    """One partner + method, the currencies it takes and its amount bounds (minor units)."""

    partner: str
    method: str
    currencies: tuple[str, ...]
    max_amount: int | None = None
    # A gift card debits money; it can't carry a 0-amount (card-saving only) payment.
    min_amount: int = 0

    def accepts(self, amount: int, currency: str) -> bool:
        if currency not in self.currencies or amount < self.min_amount:
            return False
        return self.max_amount is None or amount <= self.max_amount

    def as_json(self) -> dict[str, str]:
        return {"partner": self.partner, "method": self.method}


# In the order eligible-solutions lists them, which is also the routing order of card payments.
SOLUTIONS: tuple[Solution, ...] = (
    Solution("ingenico", "creditcard", ("EUR", "USD", "GBP")),
    Solution("adyen", "creditcard", ("EUR", "USD", "GBP", "CHF"), max_amount=1_000_000),
    Solution("illicado", "giftcard", ("EUR",), max_amount=50_000, min_amount=1),
)


def eligible(amount: int, currency: str, method: str | None = None) -> list[Solution]:
    """The solutions for this amount and currency (only `method`'s when given), in order."""
    return [
        s
        for s in SOLUTIONS
        if s.accepts(amount, currency) and (method is None or s.method == method)
    ]


def is_eligible(partner: str, method: str, amount: int, currency: str) -> bool:
    return any(s.partner == partner for s in eligible(amount, currency, method))


def card_route(amount: int, currency: str, first: str | None = None) -> list[str]:
    """The card partners a payment tries, in order: `first` (when named) then the other eligible
    ones (where the cascade card goes next). `first` must be eligible; the caller checks."""
    partners = [s.partner for s in eligible(amount, currency, "creditcard")]
    if first is not None:
        partners = [first] + [p for p in partners if p != first]
    return partners


def describe(amount: int, currency: str) -> str:
    """What is eligible for this amount and currency, for the detail of a refusal."""
    names = [f"{s.partner} ({s.method})" for s in eligible(amount, currency)]
    return f"eligible for {amount} {currency}: {', '.join(names) if names else 'nothing'}"
