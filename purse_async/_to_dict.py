"""`to_dict(model)`: a model as the JSON data it stands for; a decoded one as Purse sent it.
`from_dict(data, cls)`: the way back, decoding the data as an answer is decoded.

A decoded model keeps the JSON object it was read from (`extra.source`, see `_decoder`), which
gives back what its attributes cannot hold: null vs absent, [] vs absent, a timestamp's text.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, TypeVar

import attrs

from ._converter import _iso_datetime, structure
from ._decoder import SourcedDict, parse_datetime
from ._errors import ValidationError
from ._fields import WireField, wire_fields
from .models._enums import PurseEnum

__all__ = ["from_dict", "to_dict"]

T = TypeVar("T")

#: A member to leave out of the output.
_OMIT: Any = object()


def to_dict(model: attrs.AttrsInstance) -> dict[str, Any]:
    """`model` (any purse_async model: a `Payment`, an `Operation`, an `Order`...) as JSON data:
    a new dict of dicts, lists, strings, numbers, booleans and None.

    A model decoded from an answer (or a webhook) comes back as Purse sent it: the members it
    sent, in its order, members sent as null or as an empty list included, timestamps with their
    original text (`"2025-04-09T12:52:14.28Z"` stays so), unknown members (`extra`) at their
    place, numbers as sent; `json.dumps(to_dict(decoded))` equals the body read, as JSON. Members
    changed since (`attrs.evolve`) take their new value; a model you built leaves out the members
    at None or empty (as request bodies are sent; an empty array the model requires is kept) and
    writes timestamps in ISO 8601 (`Z` for UTC). `from_dict(to_dict(m), type(m)) == m` either
    way, except for what the SDK itself sets and the API never sends (`Operation.idempotency_key`,
    `replayed`).

    `ValidationError` (field "model") if `model` is not a purse_async model.
    """
    # Not any attrs class: `Settings` or an `AccessToken` hold credentials.
    if not _is_model_class(type(model)):
        raise ValidationError(
            f"to_dict takes a purse_async model (e.g. a Payment), got {type(model).__name__}",
            field="model",
            value=model,
        )
    return _model(model)


def from_dict(data: Mapping[str, Any], cls: type[T]) -> T:
    """`data` (JSON data: what `to_dict` gave, or a payment kept as JSON) as the model `cls`
    (`Payment`, `Operation`, `Order`...), decoded as an answer is: unknown members go to
    `extra`, a status Purse adds later stays readable, and `to_dict` of the result gives
    `data` back as it was.

    `from_dict(to_dict(m), type(m)) == m`, except for what the SDK itself sets and the API never
    sends (`Operation.idempotency_key`, `replayed`). The model holds a copy: changing `data`
    afterwards changes nothing in it.

    `DecodeError` (with the JSON `path`) if `data` does not fit `cls`; `ValidationError` (field
    "cls") if `cls` is not a purse_async model class.
    """
    if not _is_model_class(cls):
        raise ValidationError(
            f"from_dict takes a purse_async model class (e.g. Payment), got {cls!r}",
            field="cls",
            value=cls,
        )
    # A copy, as an answer is its own fresh JSON: the model (its `extra`, its `Any` members)
    # shares nothing the caller may change.
    return structure(_json_copy(data), cls)


def _is_model_class(cls: object) -> bool:
    # Not a TypeGuard (as `attrs.has` is): `cls` keeps its type[T] for the result.
    return (
        isinstance(cls, type)
        and attrs.has(cls)
        and cls.__module__.startswith("purse_async.models.")
    )


def _json_copy(value: Any) -> Any:
    """Dicts and lists copied (a Mapping becomes a dict); anything else left to the decoder,
    which refuses what JSON cannot hold where the model does not take it."""
    if isinstance(value, Mapping):
        return {key: _json_copy(item) for key, item in value.items()}
    if type(value) is list:
        return [_json_copy(item) for item in value]
    return value


def _model(obj: Any) -> dict[str, Any]:
    fields = wire_fields(type(obj))
    extra = getattr(obj, "extra", None)
    extra = extra if isinstance(extra, Mapping) else None
    source = extra.source if isinstance(extra, SourcedDict) else None
    out: dict[str, Any] = {}
    if source is not None:
        # The members Purse sent, in its order: known ones from the attributes (they may have
        # changed since), unknown ones from `extra`.
        for key, raw in source.items():
            field = fields.get(key)
            if field is not None:
                value = _member(getattr(obj, key), field, raw, True)
                if value is not _OMIT:
                    out[key] = value
            elif extra is not None and key in extra:
                out[key] = _plain(extra[key])
    for name, field in fields.items():
        if source is not None and name in source:
            continue
        value = _member(getattr(obj, name), field, None, False)
        if value is not _OMIT:
            out[name] = value
    if extra:
        for key, value in extra.items():
            # Known members win, as when a request body is built (`unstructure`).
            if key not in out and (source is None or key not in source):
                out[key] = _plain(value)
    return out


def _member(value: Any, field: WireField, raw: Any, sent: bool) -> Any:
    """The JSON of one member: `raw` is what Purse sent for it, when `sent`."""
    if value is None:
        return None if sent and raw is None else _OMIT
    if field.is_array and isinstance(value, tuple):
        if not value:
            return [] if field.required or (sent and type(raw) is list) else _OMIT
        raws = raw if sent and type(raw) is list and len(raw) == len(value) else None
        if raws is None:
            return [_item(item, None, False) for item in value]
        return [_item(item, r, True) for item, r in zip(value, raws, strict=True)]
    return _item(value, raw, sent)


def _item(value: Any, raw: Any, sent: bool) -> Any:
    """One value: the text Purse sent when it stands for this very value, else its own JSON."""
    if attrs.has(type(value)):
        return _model(value)
    if isinstance(value, PurseEnum):
        return value.value
    if isinstance(value, datetime):
        if sent and type(raw) is str and _same_datetime(raw, value):
            return raw
        return _iso_datetime(value)
    if isinstance(value, date):
        if sent and type(raw) is str and _same_date(raw, value):
            return raw
        return value.isoformat()
    if type(value) is float and sent and type(raw) is int and _same_float(raw, value):
        return raw  # an integral number sent for a float member stays as sent
    return _plain(value)


def _same_datetime(raw: str, value: datetime) -> bool:
    try:
        found = parse_datetime(raw)
    except ValueError:
        return False
    return found == value and found.utcoffset() == value.utcoffset()


def _same_date(raw: str, value: date) -> bool:
    try:
        return date.fromisoformat(raw[:10]) == value
    except ValueError:
        return False


def _same_float(raw: int, value: float) -> bool:
    try:
        return float(raw) == value
    except OverflowError:
        return False


def _plain(value: Any) -> Any:
    """JSON data from a value an `Any` member or `extra` holds: containers copied (the caller
    may change the result without changing the model), models and enums converted."""
    if type(value) is dict or isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if attrs.has(type(value)):
        return _model(value)
    if isinstance(value, PurseEnum):
        return value.value
    if isinstance(value, datetime):
        return _iso_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    return value
