"""Request validation shared by client sessions, eligible solutions and payments: required
fields, entity, currency, integer amounts, order net amount; one 400 lists every bad field."""

from __future__ import annotations

import re
from typing import Any, TypeGuard

from ._problems import ApiProblem, FieldErrors
from ._state import SandboxState

__all__ = ["is_int", "validate_request"]

_CURRENCY = re.compile(r"[A-Z]{3}")
_ENUMS = {
    "capture_mode": ("MANUAL", "AUTOMATIC"),
    "integration_mode": ("EMBEDDED", "HOSTED_PAGE"),
}


def is_int(value: Any) -> TypeGuard[int]:
    # bool is an int subclass in Python; JSON `true` is not an amount.
    return isinstance(value, int) and not isinstance(value, bool)


def _is_url(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(("http://", "https://")) and len(value) > 8


def validate_request(state: SandboxState, body: dict[str, Any], required: tuple[str, ...]) -> None:
    """Raise a 400 naming every invalid field, or a 403 for another merchant's entity."""
    errors = FieldErrors()
    for name in required:
        if body.get(name) in (None, ""):
            errors.add(f"/{name}", f"{name} is required")
    if "entity_id" in body and not isinstance(body["entity_id"], str):
        errors.add("/entity_id", "entity_id must be a string")
    currency = body.get("currency")
    if currency is not None and not (isinstance(currency, str) and _CURRENCY.fullmatch(currency)):
        errors.add("/currency", "currency must be an ISO 4217 code (3 upper-case letters)")
    future = body.get("allow_future_usage", False)
    if not isinstance(future, bool):
        errors.add("/allow_future_usage", "allow_future_usage must be a boolean")
    amount = body.get("amount")
    if amount is not None:
        if not is_int(amount):
            errors.add("/amount", "amount must be an integer in minor units")
        elif amount < 0 or (amount == 0 and future is not True):
            errors.add("/amount", "amount must be > 0 (0 only with allow_future_usage: true)")
    order = body.get("order")
    if order is not None and not isinstance(order, dict):
        errors.add("/order", "order must be an object")
    elif isinstance(order, dict) and "net_amount" in order:
        net = order["net_amount"]
        if not is_int(net):
            errors.add("/order/net_amount", "net_amount must be an integer in minor units")
        elif is_int(amount) and net < amount:
            errors.add(
                "/order/net_amount",
                "Amount must be less or equal to order net amount minus already paid net amount.",
            )
    if "shopper_redirection_url" in body and not _is_url(body["shopper_redirection_url"]):
        errors.add("/shopper_redirection_url", "shopper_redirection_url must be an http(s) URL")
    for name, allowed in _ENUMS.items():
        if name in body and body[name] not in allowed:
            errors.add(f"/{name}", f"{name} must be one of {', '.join(allowed)}")
    for name in ("customer", "three_ds_authentication_options"):
        if body.get(name) is not None and not isinstance(body[name], dict):
            errors.add(f"/{name}", f"{name} must be an object")
    webhook = body.get("webhook")
    if webhook is not None and not (isinstance(webhook, dict) and _is_url(webhook.get("url"))):
        errors.add("/webhook/url", "webhook.url must be an http(s) URL")
    errors.raise_if_any()
    entity = body.get("entity_id")
    if entity is not None and entity != state.credentials.entity_id:
        raise ApiProblem(
            403,
            "Forbidden",
            "entity_id does not belong to these credentials",
            type_="urn:eu.purse:forbidden",
            pointer="/entity_id",
        )
