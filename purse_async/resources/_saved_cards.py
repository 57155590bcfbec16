"""The split items of saved-card payments: the customer-initiated set-up (the challenge indicator
Purse's CIT/MIT guide asks for) and the merchant-initiated charge (docs/saved-cards.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .. import models as _models
from .._errors import ValidationError
from ._base import CheckedBody, check_amount, check_list, check_object, check_reference

if TYPE_CHECKING:
    from ..models import SplitItem

__all__ = ["check_charge_order", "future_usage_split", "saved_card_item"]


def future_usage_split(split: Sequence[SplitItem | Mapping[str, Any]]) -> list[Any]:
    """`split` checked, each item holding the shopper's `vault_form_token` asking for the strong
    authentication (CHALLENGE_REQUESTED_BY_MERCHANT) without which later MITs are not eligible.
    An item asking for another indicator, or a split with no card, is refused."""
    wanted = _models.ChallengeIndicator.CHALLENGE_REQUESTED_BY_MERCHANT.value
    items = check_list("split", split, model=_models.SplitItem)
    carded = 0
    for i, item in enumerate(items):
        if not item.get("vault_form_token"):
            continue
        carded += 1
        options = dict(item.get("three_ds_authentication_options") or {})
        if options.get("challenge_indicator", wanted) != wanted:
            field = f"split[{i}].three_ds_authentication_options.challenge_indicator"
            raise ValidationError(
                f"{field} must be {wanted} to set a card up for later charges (Purse's "
                f"CIT/MIT guide), got {options['challenge_indicator']!r:.80}",
                field=field,
                value=options["challenge_indicator"],
            )
        item["three_ds_authentication_options"] = {**options, "challenge_indicator": wanted}
    if not carded:
        raise ValidationError(
            "split needs an item with the shopper's vault_form_token: a card is set up for "
            "later charges while its holder is present",
            field="split",
            value=split,
        )
    return items


def saved_card_item(
    wallet_token: object, amount: int, *, partner: object, method: object
) -> dict[str, Any]:
    """The one split item of a merchant-initiated charge (the SDK's written assumption):
    `{"wallet_token", "amount", "partner"?, "method"?}`, no CVV, no browser."""
    if not isinstance(wallet_token, str) or not wallet_token.strip():
        raise ValidationError(
            f"wallet_token must be a saved token's id, got {wallet_token!r:.80}",
            field="wallet_token",
            value=wallet_token,
        )
    check_amount("amount", amount, allow_zero=False)
    item: dict[str, Any] = {"wallet_token": wallet_token, "amount": amount}
    for name, value in (("partner", partner), ("method", method)):
        if value is not None:
            if not isinstance(value, str) or not value:
                raise ValidationError(
                    f"{name} must be a name, got {value!r:.80}", field=name, value=value
                )
            item[name] = value
    return item


def check_charge_order(order: object) -> CheckedBody:
    """The order of a merchant-initiated charge, checked (pass it on: it is not checked again):
    required, with a `reference`. With no shopper at hand, the order reference is what
    `OutcomeUnknownError` hands over to find out whether a charge exists before charging again,
    and what ties the charge to your books."""
    if order is None:
        raise ValidationError(
            "order is required: a merchant-initiated charge needs an order with a reference "
            "(to reconcile it, and to look it up when its outcome is unknown)",
            field="order",
            value=None,
        )
    checked: CheckedBody = check_object("order", order, model=_models.Order)
    check_reference(
        "order",
        checked,
        "a merchant-initiated charge is reconciled and, when its outcome is unknown, looked up "
        "by it",
    )
    return checked
