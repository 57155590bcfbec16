"""The fast path of decoding: one Python function generated per model class, with the type checks
inlined, so a response costs about what `json.loads` does; the cattrs converter explains failures.

A generated decoder accepts exactly what the converter accepts; any mismatch raises `Mismatch`,
after which `_converter.structure` re-runs the converter to report the JSON path.
"""

from __future__ import annotations

import datetime as dt
import sys
import types
import typing
from collections.abc import Callable
from typing import Any

import attrs

from .models._enums import PurseEnum

__all__ = ["Mismatch", "decoder_for"]

#: Attributes the SDK sets itself; they are neither read from nor sent to the API.
SDK_ONLY_FIELDS = frozenset({"extra", "idempotency_key", "replayed"})


class Mismatch(Exception):
    """The data does not fit the model (the converter then says where and why)."""


def _bad() -> typing.NoReturn:
    raise Mismatch


_NATIVE_ISO = sys.version_info >= (3, 11)


def _datetime(value: Any) -> dt.datetime:
    if type(value) is not str:
        _bad()
    if _NATIVE_ISO:
        return dt.datetime.fromisoformat(value)
    from ._converter import parse_datetime

    return parse_datetime(value)


def _date(value: Any) -> dt.date:
    if type(value) is not str:
        _bad()
    return dt.date.fromisoformat(value[:10])


def _float(value: Any) -> float:
    if type(value) is not float and type(value) is not int:
        _bad()
    return float(value)


def _dict(value: Any) -> dict[str, Any]:
    if type(value) is not dict:
        _bad()
    checked: dict[str, Any] = value
    return checked


def _enum(cls: type[PurseEnum]) -> Callable[[Any], PurseEnum]:
    known = cls._value2member_map_

    def decode(value: Any) -> PurseEnum:
        member = known.get(value) if type(value) is str else None
        if member is not None:
            return member  # type: ignore[return-value]
        if type(value) is not str:
            _bad()
        return cls(value)

    return decode


_decoders: dict[type[Any], Callable[[Any], Any]] = {}


def decoder_for(cls: type[Any]) -> Callable[[Any], Any]:
    """The generated decoder of a model class (built on first use, then cached)."""
    found = _decoders.get(cls)
    if found is None:
        found = _generate(cls)
    return found


def _unwrap_optional(t: Any) -> tuple[Any, bool]:
    if typing.get_origin(t) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(t) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(t)) == 2:
            return args[0], True
        raise TypeError(f"unsupported union {t!r}")
    return t, False


def _scalar_check(t: Any) -> str | None:
    """An inline condition that is True when `v` has the wrong scalar type."""
    if t is str:
        return "type(v) is not str"
    if t is int:
        return "type(v) is not int"
    if t is bool:
        return "type(v) is not bool"
    return None


def _converter_for(t: Any, ns: dict[str, Any], name: str) -> str:
    """An expression converting `v` (never None here) to type `t`, registering helpers in ns."""
    if t is Any:
        return "v"
    if t is float:
        ns["_float"] = _float
        return "_float(v)"
    if t is dt.datetime:
        ns["_datetime"] = _datetime
        return "_datetime(v)"
    if t is dt.date:
        ns["_date"] = _date
        return "_date(v)"
    if isinstance(t, type) and issubclass(t, PurseEnum):
        ns[f"_e_{name}"] = _enum(t)
        return f"_e_{name}(v)"
    if attrs.has(t):
        # Models form a tree (no cycles), so nested decoders can be bound eagerly.
        ns[f"_m_{name}"] = decoder_for(t)
        return f"_m_{name}(v)"
    if typing.get_origin(t) is dict:
        ns["_dict"] = _dict
        return "_dict(v)"
    raise TypeError(f"no fast decoder for {t!r}")


def _field_lines(field: attrs.Attribute[Any], ns: dict[str, Any]) -> list[str]:
    name = field.name
    t, optional = _unwrap_optional(field.type)
    has_default = field.default is not attrs.NOTHING
    lines = []
    if has_default:
        ns[f"_d_{name}"] = field.default
        lines.append(f"    v = g({name!r}, _d_{name})")
    else:
        lines.append(f"    v = o[{name!r}]")
    skip_none = optional or (has_default and field.default is None)
    guard = "    if v is not None:" if skip_none else None
    body: list[str] = []
    if typing.get_origin(t) is tuple:
        item_t = typing.get_args(t)[0]
        check = _scalar_check(item_t)
        if field.default == ():
            # Absent means empty; the default constant is returned as is.
            body.append(f"        if v is not _d_{name}:")
            indent = "            "
        else:
            indent = "        "
        body.append(f"{indent}if type(v) is not list: _bad()")
        if check is not None:
            body.append(f"{indent}for x in v:")
            body.append(f"{indent}    if {check.replace('(v)', '(x)')}: _bad()")
            body.append(f"{indent}v = tuple(v)")
        else:
            conv = _converter_for(item_t, ns, name)
            body.append(f"{indent}v = tuple([{conv.replace('(v)', '(x)')} for x in v])")
    else:
        check = _scalar_check(t)
        if check is not None:
            body.append(f"        if {check}: _bad()")
        else:
            conv = _converter_for(t, ns, name)
            if conv != "v":
                body.append(f"        v = {conv}")
    if guard is not None and body:
        lines.append(guard)
        lines.extend(body)
    else:
        lines.extend(line[4:] for line in body)
    lines.append(f"    a_{name} = v")
    return lines


def _has_hooks(cls: type[Any]) -> bool:
    return hasattr(cls, "__attrs_post_init__") or any(
        f.validator is not None or f.converter is not None for f in attrs.fields(cls)
    )


def _slot_setter(cls: type[Any], name: str) -> Callable[[Any, Any], None]:
    descriptor = next(k.__dict__[name] for k in cls.__mro__ if name in k.__dict__)
    setter: Callable[[Any, Any], None] = descriptor.__set__
    return setter


def _generate(cls: type[Any]) -> Callable[[Any], Any]:
    attrs.resolve_types(cls)
    fields = [f for f in attrs.fields(cls) if f.name not in SDK_ONLY_FIELDS]
    ns: dict[str, Any] = {"_bad": _bad, "_cls": cls, "_Mismatch": Mismatch}
    ns["_known"] = frozenset(f.name for f in fields)
    if not getattr(cls, "__slots__", None) or (attrs.has(cls) and _has_hooks(cls)):
        raise TypeError(f"{cls.__name__}: the fast decoder needs a slotted model without hooks")
    lines = [
        "def decode(o):",
        "    if type(o) is not dict: _bad()",
        "    g = o.get",
    ]
    for field in fields:
        lines.extend(_field_lines(field, ns))
    # Frozen attrs classes pay a keyword argument and a guarded setattr per field in __init__;
    # the models have no validators or post-init hooks, so the decoder fills the slots itself.
    ns["_new"] = object.__new__
    lines.append("    inst = _new(_cls)")
    for f in attrs.fields(cls):
        ns[f"_set_{f.name}"] = _slot_setter(cls, f.name)
        if f.name == "extra":
            value = "{k: o[k] for k in o.keys() - _known} if not _known.issuperset(o) else {}"
        elif f.name in SDK_ONLY_FIELDS:
            ns[f"_d_{f.name}"] = f.default
            value = f"_d_{f.name}"
        else:
            value = f"a_{f.name}"
        lines.append(f"    _set_{f.name}(inst, {value})")
    lines.append("    return inst")
    source = "\n".join(lines)
    code = compile(source, f"<purse decoder {cls.__qualname__}>", "exec")
    exec(code, ns)
    fn: Callable[[Any], Any] = ns["decode"]
    _decoders[cls] = fn
    return fn
