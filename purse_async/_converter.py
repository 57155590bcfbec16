"""The SDK's one cattrs converter: every structure/unstructure hook is registered here, once.

Decoding is strict on types (an amount is an int, never a float or a string) and lenient on
content (unknown members go to `extra`, unknown enum values keep their raw string).
"""

from __future__ import annotations

import functools
import typing
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from ._decoder import (
    FLOAT_MAX,
    SDK_ONLY_FIELDS,
    Mismatch,
    decoder_for,
    parse_datetime,
    sourced_extra,
)
from ._errors import DecodeError
from .models._enums import PurseEnum

if TYPE_CHECKING:
    # cattrs is imported when the converter is first needed (see `_get_converter`).
    import cattrs

__all__ = ["parse_datetime", "structure", "unstructure"]

T = TypeVar("T")


def _preview(value: Any) -> str:
    """The type and a glimpse of a misfit value: bounded, whatever its size or depth (the repr of
    a long array is slow to make, that of a deeply nested one raises RecursionError)."""
    kind = type(value).__name__
    if type(value) is str:
        return f"{kind} {value[:40]!r}"
    if type(value) in (float, bool) or (type(value) is int and value.bit_length() <= 64):
        return f"{kind} {value!r}"
    return kind


def _str(value: Any, _: Any) -> str:
    if type(value) is str:
        return value
    raise TypeError(f"expected a string, got {_preview(value)}")


def _int(value: Any, _: Any) -> int:
    # Amounts are integers in minor units: 12.5 or "1250" is a contract breach, not a value.
    if type(value) is int:
        return value
    raise TypeError(f"expected an integer, got {_preview(value)}")


def _float(value: Any, _: Any) -> float:
    if type(value) is float or (type(value) is int and -FLOAT_MAX <= value <= FLOAT_MAX):
        return float(value)
    raise TypeError(f"expected a number, got {_preview(value)}")


def _bool(value: Any, _: Any) -> bool:
    if type(value) is bool:
        return value
    raise TypeError(f"expected a boolean, got {_preview(value)}")


def _datetime(value: Any, _: Any) -> datetime:
    if type(value) is not str:
        raise TypeError(f"expected an ISO 8601 date-time string, got {type(value).__name__}")
    # The same parser as the fast path's: both accept exactly the same strings.
    return parse_datetime(value)


def _date(value: Any, _: Any) -> date:
    if type(value) is not str:
        raise TypeError(f"expected an ISO 8601 date string, got {type(value).__name__}")
    return date.fromisoformat(value[:10])


def _enum(value: Any, cls: type[PurseEnum]) -> PurseEnum:
    if type(value) is not str:
        raise TypeError(f"expected a string, got {_preview(value)}")
    member = cls._value2member_map_.get(value)
    return member if isinstance(member, PurseEnum) else cls(value)


def _mapping(value: Any, _: Any) -> dict[str, Any]:
    # JSON objects are dicts; the fast path keeps the very same one.
    if type(value) is not dict:
        raise TypeError(f"expected an object, got {type(value).__name__}")
    return value


def _is_homogeneous_tuple(t: Any) -> bool:
    args = typing.get_args(t)
    return typing.get_origin(t) is tuple and len(args) == 2 and args[1] is Ellipsis


def _tuple_hook_factory(conv: cattrs.Converter) -> Callable[[Any], Callable[..., Any]]:
    """`tuple[X, ...]` from a JSON array only (cattrs' own hook takes any iterable: a string
    would become a tuple of characters, an object the tuple of its keys)."""

    from cattrs.cols import homogenous_tuple_structure_factory

    def factory(t: Any) -> Callable[..., Any]:
        base = homogenous_tuple_structure_factory(t, conv)

        def structure_tuple(value: Any, _: Any) -> tuple[Any, ...]:
            if type(value) is not list:
                raise TypeError(f"expected an array, got {type(value).__name__}")
            result: tuple[Any, ...] = base(value, t)
            return result

        return structure_tuple

    return factory


def _model_structurer(conv: cattrs.Converter, cls: type[Any]) -> Any:
    """The structure hook of one model class: cattrs' generated function plus `extra`."""
    from cattrs.gen import make_dict_structure_fn, override

    fields = attrs.fields(cls)
    omitted = {f.name: override(omit=True) for f in fields if f.name in SDK_ONLY_FIELDS}
    base = make_dict_structure_fn(cls, conv, **omitted)  # type: ignore[arg-type]
    known = frozenset(f.name for f in fields if f.name not in SDK_ONLY_FIELDS)
    has_extra = "extra" in attrs.fields_dict(cls)
    name = cls.__name__

    def structure_model(obj: Any, _: Any) -> Any:
        if type(obj) is not dict:
            raise TypeError(f"expected an object for {name}, got {type(obj).__name__}")
        inst = base(obj, cls)
        if has_extra:
            # Frozen models: set once, right after construction, before anyone sees it. As the
            # fast path does: unknown members, and the object read (for `to_dict`).
            object.__setattr__(inst, "extra", sourced_extra(obj, known))
        return inst

    return structure_model


def _model_hook_factory(conv: cattrs.Converter) -> Callable[[type[Any]], Callable[..., Any]]:
    return lambda cls: _model_structurer(conv, cls)


def _build() -> cattrs.Converter:
    # Path-tracking validation: this converter runs to explain a failure (and to unstructure);
    # the everyday decoding is the generated fast path of `_decoder`.
    import cattrs

    conv = cattrs.Converter(detailed_validation=True, forbid_extra_keys=False)
    conv.register_structure_hook(str, _str)
    conv.register_structure_hook(int, _int)
    conv.register_structure_hook(float, _float)
    conv.register_structure_hook(bool, _bool)
    conv.register_structure_hook(datetime, _datetime)
    conv.register_structure_hook(date, _date)
    conv.register_structure_hook_func(lambda t: t == dict[str, Any], _mapping)
    conv.register_structure_hook_factory(_is_homogeneous_tuple, _tuple_hook_factory(conv))
    # Registered on the base class: single dispatch then prefers it over the `str` hook.
    conv.register_structure_hook(PurseEnum, _enum)
    conv.register_structure_hook_factory(attrs.has, _model_hook_factory(conv))
    _register_unstructure(conv)
    return conv


def _register_unstructure(conv: cattrs.Converter) -> None:
    conv.register_unstructure_hook(datetime, _iso_datetime)
    conv.register_unstructure_hook(date, lambda d: d.isoformat())
    conv.register_unstructure_hook(PurseEnum, lambda e: e.value)

    def factory(cls: type[Any]) -> Callable[[Any], dict[str, Any]]:
        names = [f.name for f in attrs.fields(cls) if f.name not in SDK_ONLY_FIELDS]
        has_extra = "extra" in attrs.fields_dict(cls)

        def unstructure_model(obj: Any) -> dict[str, Any]:
            out: dict[str, Any] = {}
            for n in names:
                value = getattr(obj, n)
                # Absent stays absent: an empty list or None is never sent as a value.
                if value is None or value == ():
                    continue
                out[n] = conv.unstructure(value)
            if has_extra and obj.extra:
                for key, value in obj.extra.items():
                    out.setdefault(key, conv.unstructure(value))
            return out

        return unstructure_model

    conv.register_unstructure_hook_factory(attrs.has, factory)


def _iso_datetime(value: datetime) -> str:
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


@functools.cache
def _get_converter() -> cattrs.Converter:
    """The converter, built on first use: importing cattrs and registering the hooks was about
    a sixth of `import purse_async` (7 of 44 ms), and an answer that fits never needs it
    (benchmarks/README.md, "Import time")."""
    return _build()


def __getattr__(name: str) -> cattrs.Converter:
    # `_converter._converter`, as the module-level converter was named (tests and tools read it).
    if name == "_converter":
        return _get_converter()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def structure(data: Any, cls: type[T]) -> T:
    """Decode JSON data into `cls`; a mismatch raises `DecodeError` naming the JSON path."""
    try:
        result: T = decoder_for(cls)(data)
        return result
    except Mismatch:
        # Only a misfit of the data falls back: anything else the fast path raises is a bug
        # of the fast path, and surfaces as such.
        pass
    converter = _get_converter()
    try:
        return converter.structure(data, cls)
    except Exception as exc:
        from cattrs import BaseValidationError, transform_error

        if isinstance(exc, BaseValidationError):
            messages = transform_error(exc, path="$")
        else:
            messages = [f"{type(exc).__name__}: {exc} @ $"]
        first = messages[0] if messages else str(exc)
        path = first.rsplit(" @ ", 1)[-1] if " @ " in first else "$"
        raise DecodeError(
            f"cannot decode {cls.__name__}: " + "; ".join(messages[:5]),
            path=path,
            body=data,
        ) from None


def unstructure(obj: Any) -> Any:
    """A model (or mapping/list holding models) as JSON-ready data: None fields omitted,
    dates in ISO 8601, enums as their string, `extra` members merged back."""
    if isinstance(obj, Mapping):
        return {key: unstructure(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [unstructure(value) for value in obj]
    return _get_converter().unstructure(obj)
