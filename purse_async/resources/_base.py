"""What every resource class shares: the client's requester, path building and argument checks.

Argument checks raise `ValidationError` naming the field and the value, before anything is sent.
"""

from __future__ import annotations

import copy
import re
import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from .._converter import structure, unstructure
from .._errors import ValidationError
from .._requester import Requester

if TYPE_CHECKING:
    from .._config import Settings

__all__ = ["AsyncAPIResource"]

T = TypeVar("T")
Self = TypeVar("Self", bound="AsyncAPIResource")

API_PREFIX = "/payment/v2"


def new_idempotency_key() -> str:
    return str(uuid.uuid4())


_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:~-]*")


def check_id(field: str, value: object) -> str:
    """A path segment from a resource id. Ids are UUID-like: anything that could change the
    path (`/`, `..`, `?`, spaces) is refused rather than escaped."""
    if not isinstance(value, str) or not value:
        raise ValidationError(
            f"{field} must be a non-empty string, got {value!r}", field=field, value=value
        )
    if _ID.fullmatch(value) is None or ".." in value or len(value) > 200:
        raise ValidationError(f"{field} is not a valid id: {value!r}", field=field, value=value)
    return value


def check_amount(field: str, value: object, *, allow_zero: bool) -> int:
    """Amounts are integers in minor units: never floats, strings or booleans."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(
            f"{field} must be an int in minor units (e.g. 4299 for 42.99), got {value!r}",
            field=field,
            value=value,
        )
    if value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValidationError(f"{field} must be {bound}, got {value!r}", field=field, value=value)
    return value


_CURRENCY = re.compile(r"[A-Z]{3}")
# Keys travel as a header value: visible ASCII and inner spaces only (no CR/LF injection).
_KEY = re.compile(r"[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?")


def check_currency(value: object) -> str:
    if not isinstance(value, str) or _CURRENCY.fullmatch(value) is None:
        raise ValidationError(
            f"currency must be an ISO 4217 code such as 'EUR', got {value!r}",
            field="currency",
            value=value,
        )
    return value


def check_idempotency_key(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 255 or _KEY.fullmatch(value) is None:
        raise ValidationError(
            "idempotency_key must be 1 to 255 printable ASCII characters (no control "
            f"characters, no surrounding spaces), got {value!r}",
            field="idempotency_key",
            value=value,
        )
    return value


def key_or_new(value: object) -> str:
    """The caller's idempotency key, or a new one: chosen once, before the first attempt."""
    return check_idempotency_key(value) or new_idempotency_key()


def check_object(field: str, value: object) -> Any:
    """A nested request object: an SDK model or a plain mapping, unstructured to JSON data."""
    if isinstance(value, (str, bytes)) or not (
        isinstance(value, Mapping) or hasattr(type(value), "__attrs_attrs__")
    ):
        raise ValidationError(
            f"{field} must be a mapping or a purse_async model, got {type(value).__name__}",
            field=field,
            value=value,
        )
    return unstructure(value)


def check_list(field: str, value: object) -> list[Any]:
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
        raise ValidationError(
            f"{field} must be a list, got {type(value).__name__}", field=field, value=value
        )
    return [check_object(f"{field}[{i}]", item) for i, item in enumerate(value)]


def build_body(fields: Mapping[str, Any], extra_body: Mapping[str, Any] | None) -> dict[str, Any]:
    """The JSON body: fields left at None are omitted; `extra_body` adds fields the SDK does not
    know yet (it cannot silently replace the ones it does)."""
    body = {name: value for name, value in fields.items() if value is not None}
    if extra_body:
        if not isinstance(extra_body, Mapping):
            raise ValidationError(
                "extra_body must be a mapping", field="extra_body", value=extra_body
            )
        clash = sorted(set(extra_body) & set(body))
        if clash:
            raise ValidationError(
                f"extra_body repeats fields already given as arguments: {clash}",
                field="extra_body",
                value=clash,
            )
        body.update(unstructure(dict(extra_body)))
    return body


class AsyncAPIResource:
    """Base of the resource classes reachable from an `AsyncPurse` (e.g. `purse.payments`)."""

    def __init__(self, requester: Requester, settings: Settings) -> None:
        self._requester = requester
        self._settings = settings

    def _derive(self: Self, requester: Requester, settings: Settings) -> Self:
        """This resource on another requester and settings (`AsyncPurse.with_options`, raw
        responses), sharing its caches and stores: a shallow copy."""
        clone = copy.copy(self)
        clone._requester = requester
        clone._settings = settings
        return clone

    def _entity_id(self, entity_id: str | None) -> str:
        value = entity_id if entity_id is not None else self._settings.entity_id
        if not isinstance(value, str) or not value.strip():
            raise ValidationError(
                "entity_id is required: pass entity_id=... here or to the client "
                "(or set PURSE_ENTITY_ID)",
                field="entity_id",
                value=value,
            )
        return value

    @staticmethod
    def _decode(data: Any, cls: type[T]) -> T:
        return structure(data, cls)
