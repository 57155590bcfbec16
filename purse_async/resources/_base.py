"""What every resource class shares: the client's requester, path building and argument checks.

Argument checks raise `ValidationError` naming the field and the value, before anything is sent.
"""

from __future__ import annotations

import copy
import re
import time
import typing
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from .._converter import unstructure
from .._errors import APITimeoutError, ValidationError
from .._fields import wire_fields
from .._requester import Requester
from ..models._enums import PurseEnum

if TYPE_CHECKING:
    from .._config import Settings

__all__ = ["AsyncAPIResource"]

T = TypeVar("T")
Self = TypeVar("Self", bound="AsyncAPIResource")

API_PREFIX = "/payment/v2"

#: Top-level members only a payment (GetPayment) has: not an operation (capture, refund, void)
#: nor a payment link. An answer or a webhook body with one of them is a payment.
PAYMENT_ONLY_MEMBERS = frozenset(
    {"authorization", "amounts", "overview", "split", "captures", "refunds", "voids"}
)


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


def check_object(field: str, value: object, *, model: type[Any] | None = None) -> Any:
    """A nested request object: an SDK model or a plain mapping, unstructured to JSON data.

    With `model` (the SDK model the object stands for, e.g. `Order`), a mapping is checked
    against it, nested objects and lists included: a member the model does not know is refused
    (`ValidationError` naming its path, e.g. `order.net_amout`, and the closest known name), so
    is a known member of the wrong type (a string amount). Members the SDK does not know are
    sent on purpose from an `"extra"` mapping inside the object (mirroring the models' `extra`),
    or from `extra_body` at the top level. A model instance must be of that class.
    """
    if isinstance(value, (str, bytes)) or not (
        isinstance(value, Mapping) or hasattr(type(value), "__attrs_attrs__")
    ):
        raise ValidationError(
            f"{field} must be a mapping or a purse_async model, got {type(value).__name__}",
            field=field,
            value=value,
        )
    if model is None:
        return unstructure(value)
    return _checked_object(field, value, model)


def optional_object(field: str, value: object, *, model: type[Any]) -> Any:
    """`check_object` for a member the caller may leave out (None: not sent)."""
    return None if value is None else check_object(field, value, model=model)


def check_redirection_url(value: object) -> str:
    """`shopper_redirection_url`: where the shopper's browser is sent, an absolute http(s) URL."""
    if not isinstance(value, str) or not value.startswith(("http://", "https://")):
        raise ValidationError(
            f"shopper_redirection_url must be an absolute http(s) URL, got {value!r}",
            field="shopper_redirection_url",
            value=value,
        )
    return value


def check_reference(field: str, body: Mapping[str, Any], why: str) -> str:
    """`body`'s required `reference` (`field` names it in errors, e.g. `order.reference`): a
    string that is not blank. `why` says what needs it."""
    reference = body.get("reference")
    if not isinstance(reference, str) or not reference.strip():
        raise ValidationError(
            f"{field}.reference is required: {why}, got {reference!r:.80}",
            field=f"{field}.reference",
            value=reference,
        )
    return reference


def check_saving_customer(customer: object) -> CheckedBody:
    """The customer of a payment saving its card, checked (pass it on: it is not checked
    again): a `reference` is required, since the wallet lists a customer's saved cards by it."""
    from ..models import Customer  # the models package imports nothing from resources

    details: CheckedBody = check_object("customer", customer, model=Customer)
    check_reference(
        "customer", details, "to save a card (the wallet lists a customer's cards by it)"
    )
    return details


def check_list(field: str, value: object, *, model: type[Any] | None = None) -> list[Any]:
    """A list of request objects, each checked as `check_object` does (`field[i]` in errors)."""
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
        raise ValidationError(
            f"{field} must be a list, got {type(value).__name__}", field=field, value=value
        )
    return [check_object(f"{field}[{i}]", item, model=model) for i, item in enumerate(value)]


class CheckedBody(dict[str, Any]):
    """A request object already checked against its model and made JSON data: checked again
    (a body built from another call's checked parts), it passes as it is, the members its
    `extra` brought included."""

    __slots__ = ()


def _checked_object(path: str, value: object, model: type[Any]) -> CheckedBody:
    if isinstance(value, CheckedBody):
        return value
    if not isinstance(value, Mapping):
        if not isinstance(value, model):
            raise ValidationError(
                f"{path} must be a mapping or {_a(model.__name__)}, got {type(value).__name__}",
                field=path,
                value=value,
            )
        # A model is typed already: unknown members can only come from its `extra`.
        return CheckedBody(unstructure(value))
    known = wire_fields(model)
    body = CheckedBody()
    extra: Mapping[str, Any] | None = None
    for key, item in value.items():
        if not isinstance(key, str):
            raise ValidationError(
                f"{path} has a member whose name is not a string: {key!r}", field=path, value=key
            )
        where = f"{path}.{key}"
        spec = known.get(key)
        if spec is None:
            if key == "extra":
                extra = _checked_extra(where, item, model, known)
                continue
            raise ValidationError(_unknown(where, key, model, known), field=where, value=item)
        body[key] = _checked_member(where, item, spec.type, spec.is_array)
    if extra:
        body.update(unstructure(dict(extra)))
    return body


def _a(name: str) -> str:
    return f"{'an' if name[:1] in 'AEIOU' else 'a'} {name}"


def _unknown(where: str, key: str, model: type[Any], known: Mapping[str, Any]) -> str:
    import difflib  # here: only a refused member needs it (not `import purse_async`)

    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}?" if close else f"its members are {', '.join(known)}."
    parent = where.rsplit(".", 1)[0]
    return (
        f"{where} is not a member of {model.__name__}: {hint} To send a member the SDK does "
        f"not know, put it in {parent}.extra (a mapping whose members are sent as members of "
        f"{parent}, unchecked); extra_body adds unchecked members to the body itself"
    )


def _checked_extra(
    where: str, value: object, model: type[Any], known: Mapping[str, Any]
) -> Mapping[str, Any]:
    """The members sent unchecked: a mapping of names the model does not know."""
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise ValidationError(
            f"{where} must be a mapping of member names to values (the members {model.__name__} "
            f"does not know), got {type(value).__name__}",
            field=where,
            value=value,
        )
    clash = sorted(set(value) & set(known))
    if clash:
        raise ValidationError(
            f"{where} repeats members {model.__name__} knows: {clash}; give them as members "
            "of the object (they are checked there)",
            field=where,
            value=clash,
        )
    return value


#: What a scalar member must be, as said in errors.
_EXPECTED = {
    str: "a string",
    bool: "a boolean",
    int: "an int",
    float: "a number",
    datetime: "an ISO 8601 date-time string or a datetime",
    date: "an ISO 8601 date string or a date",
}


def _fits(value: object, t: Any) -> bool:
    if t is str or (isinstance(t, type) and issubclass(t, PurseEnum)):
        return isinstance(value, str)  # any string: Purse may know values the SDK does not
    if t is bool:
        return isinstance(value, bool)
    if t is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if t is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if t is datetime:
        return isinstance(value, (str, datetime))
    if t is date:
        return isinstance(value, (str, date))
    if t is dict or typing.get_origin(t) is dict:
        return isinstance(value, Mapping)
    return True


def _checked_member(where: str, value: object, t: Any, is_list: bool) -> Any:
    if value is None:
        return None
    if is_list:
        if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
            raise ValidationError(
                f"{where} must be a list, got {type(value).__name__}", field=where, value=value
            )
        return [_checked_item(f"{where}[{i}]", item, t) for i, item in enumerate(value)]
    return _checked_item(where, value, t)


def _checked_item(where: str, value: object, t: Any) -> Any:
    if attrs.has(t):
        if not isinstance(value, Mapping) and not attrs.has(type(value)):
            raise ValidationError(
                f"{where} must be a mapping or {_a(t.__name__)}, got {type(value).__name__}",
                field=where,
                value=value,
            )
        return _checked_object(where, value, t)
    if not _fits(value, t):
        expected = _EXPECTED.get(t, "an object" if t is dict or typing.get_origin(t) else str(t))
        if t is int and where.endswith(("amount", "price")):
            expected = "an int in minor units (e.g. 4299 for 42.99)"
        raise ValidationError(
            f"{where} must be {expected}, got {type(value).__name__} {value!r:.60}",
            field=where,
            value=value,
        )
    if type(value) in _JSON_SCALARS:
        return value  # the common case, without the converter's dispatch
    return unstructure(value)


_JSON_SCALARS = frozenset({str, int, float, bool})


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


class Budget:
    """What is left of a whole call's `deadline` (None: no bound) for its next request: a call
    sending several (a write, then reading back what it made) ends within its deadline."""

    __slots__ = ("_clock", "deadline", "ends_at")

    def __init__(
        self, deadline: float | None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.deadline = deadline
        self._clock = clock
        # A deadline that is not a number > 0 bounds nothing here: the call's first request
        # refuses it (ConfigurationError) before anything is sent.
        valid = (
            isinstance(deadline, (int, float)) and not isinstance(deadline, bool) and deadline > 0
        )
        self.ends_at = clock() + deadline if valid and deadline is not None else None

    @classmethod
    def of_call(cls, requester: Requester, deadline: float | None) -> Budget:
        """The budget of a call sent through `requester`: `deadline`, or the client's (the
        requester's clock, so that every request of the call counts the same time)."""
        if deadline is None:
            deadline = requester._settings.retry.deadline
        return cls(deadline, clock=requester._clock)

    def left(self) -> float | None:
        """The seconds left for the next request (None: no bound); `APITimeoutError` when none
        are, raised before that request is sent (it certainly did not happen)."""
        if self.ends_at is None:
            return None
        remaining = self.ends_at - self._clock()
        if remaining <= 0:
            error = APITimeoutError(f"the call did not finish within {self.deadline:g}s")
            error.request_sent = False
            error.may_have_been_applied = False
            raise error
        return remaining

    @property
    def spent(self) -> bool:
        return self.ends_at is not None and self._clock() >= self.ends_at


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
