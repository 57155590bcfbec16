"""The Payment resource (GetPayment, webhook body): authorization, operations, split and amounts.

Shaped on the first-payment guide's "GetPayment Response"; every member is kept.

`Payment.check(...)` compares what Purse authorized with what the merchant's order expects;
`Authorization.explain()` / `Payment.explain()` tell the partner transactions in plain text.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

from .._errors import ConfigurationError, PaymentMismatchError
from ._enums import AuthorizationStatus, CaptureMode, OverviewStatus
from .common import Customer, Order, SplitItem, Webhook
from .operation import Operation
from .partner_transaction import Card, PartnerTransaction

__all__ = [
    "TWO_DECIMAL_CURRENCIES",
    "Amounts",
    "Authentication",
    "Authorization",
    "Overview",
    "Payment",
    "Redirection",
    "format_amount",
]

#: Currencies whose minor unit is a hundredth (ISO 4217 exponent 2): `explain()` shows their
#: amounts with two decimals ("120.00 EUR"). Any other amount is shown as sent, in minor units
#: ("12000 JPY (minor units)"): the SDK does not guess a currency's exponent.
TWO_DECIMAL_CURRENCIES = frozenset(
    {"AUD", "CAD", "CHF", "CZK", "DKK", "EUR", "GBP", "NOK", "NZD", "PLN", "SEK", "USD"}
)

#: Longest text taken from a PSP (status description, names) on one line of `explain()`.
_MAX_TEXT = 160


def format_amount(amount: int | None, currency: str | None) -> str:
    """An integer amount in minor units as a merchant reads it: `12000, "EUR"` is "120.00 EUR"
    (currencies of `TWO_DECIMAL_CURRENCIES`), `12000, "JPY"` is "12000 JPY (minor units)",
    `12000, None` is "12000 (minor units)". Integer arithmetic only (no float rounding)."""
    if amount is None:
        return "amount unknown"
    code = _one_line(currency).upper() if currency else ""
    if code in TWO_DECIMAL_CURRENCIES:
        whole, cents = divmod(abs(amount), 100)
        return f"{'-' if amount < 0 else ''}{whole}.{cents:02d} {code}"
    return f"{amount} {code} (minor units)" if code else f"{amount} (minor units)"


def _one_line(value: object, limit: int = _MAX_TEXT) -> str:
    """Text from the API on one line (whitespace and control characters collapsed), capped."""
    text = " ".join("".join(ch if ch.isprintable() else " " for ch in str(value)).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _card_words(card: Card) -> list[str]:
    network = card.selected_network or card.type
    name = _one_line(network, 40) if network else "card"
    if card.last_four_digits:
        words = [f"{name} ending {_one_line(card.last_four_digits, 8)}"]
    else:
        words = [f"{name} card" if network else name]
    three_ds = card.three_ds
    if three_ds is not None:
        words.append(
            f"3-D Secure {_one_line(three_ds.flow) if three_ds.flow else '(flow unknown)'}"
        )
    return words


def _method_words(tx: PartnerTransaction) -> list[str]:
    """Card network and last four, 3-D Secure flow; wallet; gift card (nothing for methods
    the SDK does not model: their raw details are not printed)."""
    words: list[str] = []
    if tx.card is not None:
        words += _card_words(tx.card)
    if tx.wallet is not None:
        wallet = tx.wallet
        name = " ".join(_one_line(v) for v in (wallet.provider, wallet.type) if v)
        words.append(f"wallet {name}" if name else "wallet")
        if wallet.card is not None:
            words += _card_words(wallet.card)
    if tx.gift_card is not None:
        gift = tx.gift_card
        name = f"gift card {_one_line(gift.brand)}" if gift.brand else "gift card"
        if gift.last_four_digits:
            name += f" ending {_one_line(gift.last_four_digits, 8)}"
        elif gift.masked_number:
            name += f" {_one_line(gift.masked_number, 32)}"
        words.append(name)
    return words


def _explain_transaction(position: int, tx: PartnerTransaction, currency: str | None) -> str:
    partner = _one_line(tx.partner) if tx.partner else "unknown partner"
    method = _one_line(tx.method) if tx.method else "unknown method"
    status = _one_line(tx.status) if tx.status is not None else "status unknown"
    line = f"{position}. {partner} {method} {format_amount(tx.amount, currency)}: {status}"
    if tx.partner_status:
        line += f", partner status {_one_line(tx.partner_status, 40)}"
        if tx.partner_status_description:
            line += f" ({_one_line(tx.partner_status_description)})"
    elif tx.partner_status_description:
        line += f", partner says ({_one_line(tx.partner_status_description)})"
    else:
        line += ", no partner status"
    return "; ".join([line, *_method_words(tx)])


def _partners(transactions: tuple[PartnerTransaction, ...]) -> str:
    names = [_one_line(tx.partner) if tx.partner else "unknown partner" for tx in transactions]
    return ", ".join(dict.fromkeys(names))


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


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

    def explain(self, *, currency: str | None = None) -> str:
        """A short account of the authorization for a person: one line per partner
        transaction, in the order Purse tried them, then a line with the overall status.

        Each line gives the position, partner, method, amount, Purse's normalized status, the
        PSP's raw `partner_status` with its description, and what is known of the means of
        payment (card network and last four digits, 3-D Secure flow; wallet; gift card).
        Amounts are in minor units unless `currency` (`Payment.explain()` passes the
        payment's) is one of `TWO_DECIMAL_CURRENCIES` ("120.00 EUR"). Missing members are
        said to be unknown; the raw details of a method the SDK does not model are not
        printed. Text from the API is put on one line and capped. For logs and support: the
        wording may change, do not parse it. A cascade (each entry is one line)::

            1. ingenico creditcard 120.00 EUR: REFUSED, partner status 51 (Soft decline:
               insufficient funds at this acquirer); VISA ending 9995; 3-D Secure FRICTIONLESS
            2. adyen creditcard 120.00 EUR: AUTHORIZED, partner status Authorised (The payment
               was authorised successfully); VISA ending 9995; 3-D Secure FRICTIONLESS
            Overall: AUTHORIZED by adyen after 1 failed attempt (ingenico): Purse cascaded to
               the next partner
        """
        lines = [
            _explain_transaction(position, tx, currency)
            for position, tx in enumerate(self.partner_transactions, 1)
        ]
        if not lines:
            lines.append("(no partner transaction)")
        lines.append(self._overall_line())
        return "\n".join(lines)

    def _overall_line(self) -> str:
        status = _one_line(self.status) if self.status is not None else "unknown"
        line = f"Overall: {status}"
        authorized = self.authorized_transactions
        failed = self.failed_attempts
        pending = tuple(
            tx for tx in self.partner_transactions if tx.status == AuthorizationStatus.PENDING
        )
        if authorized:
            line += f" by {_partners(authorized)}"
            if failed:
                line += f" after {_plural(len(failed), 'failed attempt')} ({_partners(failed)})"
                if self.status == AuthorizationStatus.AUTHORIZED:
                    line += ": Purse cascaded to the next partner"
        elif failed:
            line += f", nothing authorized ({_plural(len(failed), 'failed attempt')})"
        if pending:
            line += f"; pending at {_partners(pending)}"
        return line


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

    def check(
        self,
        *,
        amount: int | None = None,
        currency: str | None = None,
        order_reference: str | None = None,
        total_authorized: int | None = None,
    ) -> Payment:
        """Check what Purse authorized against what the merchant's order expects; returns
        this payment (for chaining) or raises `PaymentMismatchError` naming EVERY mismatch.

        Run it before fulfilling an order, after `redirections.verify(...,
        expected_client_session_id=...)` and `payments.retrieve(...)`: a signed redirection
        says which payment, not that it pays for this order. Only the values given are
        compared; a value the payment lacks is a mismatch:

        - `amount` (minor units) against `payment.amount`;
        - `currency` against `payment.currency` (ISO 4217 code, compared case-insensitively);
        - `order_reference` against `payment.order_reference` and `payment.order.reference`
          (each one present must match, and one at least must be present);
        - `total_authorized` against `payment.amounts.total_authorized`.

        When `amount` is given and `total_authorized` is not, the authorization must also be
        AUTHORIZED and, when the payment has `amounts`, `amounts.total_authorized` must equal
        `amount` (nothing less was authorized, e.g. after a partial split). Pass
        `total_authorized` explicitly to check another state instead (then the status is not
        required). `ConfigurationError` if nothing is given or a value has the wrong type.
        """
        mismatches = _mismatches(
            self,
            amount=amount,
            currency=currency,
            order_reference=order_reference,
            total_authorized=total_authorized,
        )
        if mismatches:
            raise PaymentMismatchError(
                f"payment {self.id} does not match the order: " + "; ".join(mismatches),
                payment_id=self.id,
                mismatches=mismatches,
            )
        return self

    def explain(self) -> str:
        """`authorization.explain()` with this payment's currency (see `Authorization.explain`);
        "Overall: no authorization yet" when the payment has none."""
        if self.authorization is None:
            return "Overall: no authorization yet"
        return self.authorization.explain(currency=self.currency)


def _check_int(name: str, value: object) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise ConfigurationError(
            f"{name} must be an integer in minor units (12000 for 120.00 EUR), got {value!r:.40}"
        )


def _check_str(name: str, value: object) -> None:
    if value is not None and (not isinstance(value, str) or not value):
        raise ConfigurationError(f"{name} must be a non-empty string, got {value!r:.40}")


def _differs(name: str, found: object, expected: object) -> str | None:
    """`name found (the order expects ...)`, `name missing in the payment (...)`, or None."""
    found_text = str(found) if isinstance(found, AuthorizationStatus) else found
    if found is None:
        return f"{name} missing in the payment (the order expects {expected!r})"
    if found != expected:
        return f"{name} {found_text!r:.80} (the order expects {expected!r})"
    return None


def _mismatches(
    payment: Payment,
    *,
    amount: int | None,
    currency: str | None,
    order_reference: str | None,
    total_authorized: int | None,
) -> tuple[str, ...]:
    _check_int("amount", amount)
    _check_int("total_authorized", total_authorized)
    _check_str("currency", currency)
    _check_str("order_reference", order_reference)
    if all(value is None for value in (amount, currency, order_reference, total_authorized)):
        raise ConfigurationError(
            "check() needs at least one of amount, currency, order_reference, total_authorized"
        )
    found: list[str | None] = []
    if amount is not None:
        found.append(_differs("amount", payment.amount, amount))
    if currency is not None:
        actual = payment.currency
        if isinstance(actual, str) and actual.upper() == currency.upper():
            actual = currency
        found.append(_differs("currency", actual, currency))
    if order_reference is not None:
        references = {
            "order_reference": payment.order_reference,
            "order.reference": payment.order.reference if payment.order is not None else None,
        }
        present = {name: ref for name, ref in references.items() if ref is not None}
        if len(set(present.values())) == 1:  # the same reference twice: named once
            present = dict([next(iter(present.items()))])
        if not present:
            found.append(_differs("order_reference", None, order_reference))
        found += [_differs(name, ref, order_reference) for name, ref in present.items()]
    amounts = payment.amounts
    if total_authorized is not None:
        authorized = amounts.total_authorized if amounts is not None else None
        found.append(_differs("amounts.total_authorized", authorized, total_authorized))
    elif amount is not None:
        auth = payment.authorization
        status = auth.status if auth is not None else None
        found.append(_differs("authorization.status", status, "AUTHORIZED"))
        if amounts is not None:
            found.append(_differs("amounts.total_authorized", amounts.total_authorized, amount))
    return tuple(m for m in found if m is not None)
