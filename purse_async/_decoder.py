"""The fast path of decoding: per model class, a generated checker (the whole tree, eagerly) and a
generated builder (nested models built on first access); the cattrs converter explains failures.

A checker accepts exactly what the converter accepts; any mismatch raises `Mismatch`, after which
`_converter.structure` re-runs the converter to report the JSON path. `Mismatch` is the only
exception a decoder raises for bad data (missing members and unreadable timestamps included):
anything else is a bug of this module and surfaces as such (tests/test_decode_properties.py holds
both paths to the same answers). Once checked, building cannot fail, so deferring the nested models
changes when the work is done, never what is raised or when.
"""

from __future__ import annotations

import datetime as dt
import functools
import linecache
import re
import sys
import types
import typing
from collections.abc import Callable
from typing import Any

import attrs

from .models._enums import PurseEnum

__all__ = ["Mismatch", "SourcedDict", "decoder_for", "sourced_extra"]

#: Attributes the SDK sets itself; they are neither read from nor sent to the API.
SDK_ONLY_FIELDS = frozenset({"extra", "idempotency_key", "replayed"})


class Mismatch(Exception):
    """The data does not fit the model (the converter then says where and why)."""


class SourcedDict(dict[str, Any]):
    """A decoded model's `extra`: its unknown members, and (`source`) the JSON object the model
    was read from, so that `to_dict` can give back what the attributes cannot hold (a member
    sent as null or [] rather than left out, a timestamp's text, the members' order). It holds a
    reference, not a copy: nested values are shared with the model already."""

    __slots__ = ("source",)

    source: dict[str, Any]


def sourced_extra(obj: dict[str, Any], known: frozenset[str]) -> SourcedDict:
    """The `extra` of a model read from `obj` whose members are `known` (both decoding paths)."""
    extra = (
        SourcedDict()
        if known.issuperset(obj)
        else SourcedDict({k: obj[k] for k in obj.keys() - known})
    )
    extra.source = obj
    return extra


def _bad() -> typing.NoReturn:
    raise Mismatch


#: From 3.11 fromisoformat reads every ISO 8601 form Purse sends, in C.
_NATIVE_ISO = sys.version_info >= (3, 11)

_ISO_DATETIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?"
    r"\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$",
    re.ASCII,  # `\d` is [0-9]: int() would read other scripts' digits too
)


def parse_iso_datetime(value: str) -> dt.datetime:
    """ISO 8601 date-time with `Z` or an offset and 0-9 fraction digits (3.10's fromisoformat
    cannot read `2025-04-09T12:52:14.28Z`); ValueError when it is not one."""
    m = _ISO_DATETIME.match(value.strip())
    if m is None:
        raise ValueError(f"not an ISO 8601 date-time: {value[:60]!r}")
    year, month, day, hour, minute, second, frac, tz = m.groups()
    micro = int((frac or "0")[:6].ljust(6, "0"))
    tzinfo: dt.timezone | None = None
    if tz in ("Z", "z"):
        tzinfo = dt.timezone.utc
    elif tz:
        sign = 1 if tz[0] == "+" else -1
        digits = tz[1:].replace(":", "")
        hours, minutes = int(digits[:2]), int(digits[2:] or 0)
        tzinfo = dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes))
    return dt.datetime(
        int(year), int(month), int(day), int(hour), int(minute), int(second or 0), micro, tzinfo
    )


#: The first parser tried on a date-time string: C's on 3.11+, where it reads nearly everything.
_fromiso: Callable[[str], dt.datetime] = (
    dt.datetime.fromisoformat if _NATIVE_ISO else parse_iso_datetime
)


def parse_datetime(value: str) -> dt.datetime:
    """The one definition of a date-time both decoding paths accept: what `fromisoformat`
    reads (3.11+), else what `parse_iso_datetime` reads (lowercase `z`, spaces before the
    offset, ...). ValueError when neither does."""
    try:
        return _fromiso(value)
    except ValueError:
        if not _NATIVE_ISO:
            raise
    return parse_iso_datetime(value)


def _datetime_retry(value: str) -> dt.datetime:
    """Runs after `_fromiso` refused `value` (a str): the rest of `parse_datetime`."""
    try:
        return parse_datetime(value)
    except ValueError:
        raise Mismatch from None


def _datetime(value: Any) -> dt.datetime:
    """A date-time as an expression (tuple items): `parse_datetime`, failing with `Mismatch`."""
    if type(value) is not str:
        _bad()
    try:
        return _fromiso(value)
    except ValueError:
        return _datetime_retry(value)


def _date(value: Any) -> dt.date:
    if type(value) is not str:
        _bad()
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        raise Mismatch from None


#: The largest number a float field takes: an int beyond it has no float (OverflowError).
FLOAT_MAX = sys.float_info.max


class _Pending(functools.partial):  # type: ignore[type-arg]
    """A checked nested value waiting to be built: what a lazy field holds until first read."""

    __slots__ = ()


class _LazyField:
    """Replaces the slot descriptor of a nested-model field: the first read builds the model
    from its checked JSON and stores it in the slot, so later reads return the same object.

    Two threads racing on a first read both build equal models; the slot keeps one of them.
    """

    __slots__ = ("_get", "_set", "member")

    def __init__(self, member: Any) -> None:
        self.member = member
        self._get = member.__get__
        self._set = member.__set__

    def __get__(self, inst: Any, owner: Any = None) -> Any:
        if inst is None:
            return self
        value = self._get(inst, owner)
        if type(value) is _Pending:
            value = value()
            self._set(inst, value)
        return value

    def __set__(self, inst: Any, value: Any) -> None:
        self._set(inst, value)

    def __delete__(self, inst: Any) -> None:
        self.member.__delete__(inst)


def _owner(cls: type[Any], name: str) -> type[Any]:
    """The class (of `cls`'s MRO) that declares the slot `name`."""
    return next(k for k in cls.__mro__ if name in k.__dict__)


def _slot(cls: type[Any], name: str) -> Any:
    """The slot descriptor of `name` (under its lazy wrapper, if it has one)."""
    descriptor = _owner(cls, name).__dict__[name]
    return descriptor.member if isinstance(descriptor, _LazyField) else descriptor


def _make_lazy(cls: type[Any], name: str) -> None:
    owner = _owner(cls, name)
    if not isinstance(owner.__dict__[name], _LazyField):
        setattr(owner, name, _LazyField(owner.__dict__[name]))


_decoders: dict[type[Any], Callable[[Any], Any]] = {}
_checkers: dict[type[Any], Callable[[Any], None]] = {}
_builders: dict[type[Any], Callable[[Any], Any]] = {}


def decoder_for(cls: type[Any]) -> Callable[[Any], Any]:
    """The decoder of a model class (generated on first use, then cached): checks the whole
    tree, raising `Mismatch` at the first misfit, then builds the instance."""
    return _builder(cls, checking=True)


def _unwrap_optional(t: Any) -> tuple[Any, bool]:
    if typing.get_origin(t) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(t) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(t)) == 2:
            return args[0], True
        raise TypeError(f"unsupported union {t!r}")
    return t, False


def _fields(cls: type[Any]) -> list[attrs.Attribute[Any]]:
    attrs.resolve_types(cls)
    if not getattr(cls, "__slots__", None) or _has_hooks(cls):
        raise TypeError(f"{cls.__name__}: the fast decoder needs a slotted model without hooks")
    return [f for f in attrs.fields(cls) if f.name not in SDK_ONLY_FIELDS]


def _has_hooks(cls: type[Any]) -> bool:
    return hasattr(cls, "__attrs_post_init__") or any(
        f.validator is not None or f.converter is not None for f in attrs.fields(cls)
    )


def _scalar_check(t: Any, var: str, ns: dict[str, Any]) -> str | None:
    """An inline condition that is True when `var` has the wrong scalar type (None: no check)."""
    if t is str or (isinstance(t, type) and issubclass(t, PurseEnum)):
        # Any string is a valid enum value: unknown ones become pseudo-members.
        return f"type({var}) is not str"
    if t is int:
        return f"type({var}) is not int"
    if t is bool:
        return f"type({var}) is not bool"
    if t is float:
        # An int must have a float (10**400 has none): building must not fail after the check.
        ns["_FMAX"] = FLOAT_MAX
        return (
            f"type({var}) is not float and (type({var}) is not int or not -_FMAX <= {var} <= _FMAX)"
        )
    if typing.get_origin(t) is dict:
        return f"type({var}) is not dict"
    return None


def _check_stmt(t: Any, var: str, ns: dict[str, Any], key: str) -> str | None:
    """A statement raising `Mismatch` when `var` (never None here) does not fit `t`."""
    if t is Any:
        return None
    cond = _scalar_check(t, var, ns)
    if cond is not None:
        return f"if {cond}: _bad()"
    if t is dt.datetime:
        # The parser validates the text.
        return f"if type({var}) is not str: _bad()\n" + _datetime_stmts(var, ns, assign=False)
    if t is dt.date:
        ns["_date"] = _date
        return f"_date({var})"
    if attrs.has(t):
        # Models form a tree (no cycles), so nested checkers can be bound eagerly.
        ns[f"_c_{key}"] = _checker(t)
        return f"_c_{key}({var})"
    raise TypeError(f"no fast decoder for {t!r}")


def _field_parts(field: attrs.Attribute[Any]) -> tuple[Any, bool, bool, Any]:
    """(type, is a tuple, None skips, default) of a field."""
    t, optional = _unwrap_optional(field.type)
    is_tuple = typing.get_origin(t) is tuple
    if is_tuple:
        t = typing.get_args(t)[0]
    default = field.default
    return t, is_tuple, optional or default is None, default


def _field_check(field: attrs.Attribute[Any], ns: dict[str, Any]) -> list[str]:
    """Statements (indented for a function body) raising `Mismatch` when the value `v` read
    for `field` does not fit it; nested models are checked by their own checkers."""
    name = field.name
    t, is_tuple, skip_none, default = _field_parts(field)
    body: list[str] = []
    if is_tuple:
        body.append("if type(v) is not list: _bad()")
        item = _check_stmt(t, "x", ns, name)
        if item is not None:
            body += ["for x in v:", *("    " + s for s in item.split("\n"))]
    else:
        stmt = _check_stmt(t, "v", ns, name)
        if stmt is not None:
            body += stmt.split("\n")
    if is_tuple and default == ():
        # Absent means empty: the default constant passes as it is.
        body = [f"if v is not _d_{name}:", *("    " + b for b in body)]
    if skip_none and len(body) == 1 and body[0].startswith("if "):
        cond = body[0].removeprefix("if ").removesuffix(": _bad()")
        body = [f"if v is not None and ({cond}): _bad()"]
    elif skip_none and body:
        body = ["if v is not None:", *("    " + b for b in body)]
    return ["    " + b for b in body]


def _checker(cls: type[Any]) -> Callable[[Any], None]:
    """Checks a nested object and everything under it, building nothing."""
    found = _checkers.get(cls)
    if found is not None:
        return found
    ns: dict[str, Any] = {"_bad": _bad}
    lines = ["def check(o):", "    if type(o) is not dict: _bad()", "    g = o.get"]
    for field in _fields(cls):
        lines += _get_stmt(field.name, field.default, ns, checking=True)
        lines += _field_check(field, ns)
    if not any(f.default is attrs.NOTHING for f in _fields(cls)):
        # Nothing required: an empty object (the guide's `"order": {}`) is valid as it is.
        lines.insert(2, "    if not o: return None")
    lines.append("    return None")
    check: Callable[[Any], None] = _compile(cls, "check", lines, ns)
    _checkers[cls] = check
    return check


def _builder(cls: type[Any], *, checking: bool = False) -> Callable[[Any], Any]:
    """Builds an instance: scalars converted now, nested models on first read.

    Without `checking` the data must have been checked (this is what a lazy field runs);
    with it, the builder checks its own members as it goes and the nested ones with their
    checkers (this is the decoder of a response), reading each member once.

    Frozen attrs classes pay a keyword argument and a guarded setattr per field in __init__;
    the models have no validators or post-init hooks, so the builder fills the slots itself.
    """
    cache = _decoders if checking else _builders
    found = cache.get(cls)
    if found is not None:
        return found
    fields = _fields(cls)
    ns: dict[str, Any] = {"_cls": cls, "_new": object.__new__, "_P": _Pending, "_bad": _bad}
    ns["_known"] = frozenset(f.name for f in fields)
    lines = ["def build(o):", "    g = o.get", "    inst = _new(_cls)"]
    if checking:
        lines.insert(1, "    if type(o) is not dict: _bad()")
    for field in fields:
        name = field.name
        t, is_tuple, skip_none, default = _field_parts(field)
        ns[f"_set_{name}"] = _slot(cls, name).__set__
        lines += _get_stmt(name, default, ns, checking=checking)
        if t is dt.datetime and not is_tuple:
            # Checked by its conversion: the parser refuses what does not fit.
            stmts = _datetime_stmts("v", ns, assign=True).split("\n")
            if checking:
                stmts.insert(0, "if type(v) is not str: _bad()")
            if skip_none:
                stmts = ["if v is not None:", *("    " + b for b in stmts)]
            lines += ["    " + b for b in stmts]
            lines.append(f"    _set_{name}(inst, v)")
            continue
        if checking:
            lines += _field_check(field, ns)
        conv: str | None
        if attrs.has(t):
            _make_lazy(cls, name)
            ns[f"_b_{name}"] = _builder(t)
            if is_tuple:
                ns[f"_bt_{name}"] = _tuple_builder(_builder(t))
                conv = f"_P(_bt_{name}, v) if v else ()"
            else:
                conv = f"_P(_b_{name}, v)"
        elif is_tuple:
            item = _convert_expr(t, ns, name)
            each = None if item is None else item.replace("(v)", "(x)")
            conv = "tuple(v)" if each is None else f"tuple([{each} for x in v])"
        else:
            conv = _convert_expr(t, ns, name)
        if conv is not None:
            value = f"None if v is None else {conv}" if skip_none else conv
            lines.append(f"    v = {value}")
        lines.append(f"    _set_{name}(inst, v)")
    for f in attrs.fields(cls):
        if f.name in SDK_ONLY_FIELDS:
            ns[f"_set_{f.name}"] = _slot(cls, f.name).__set__
            if f.name == "extra":
                # Inline (not `sourced_extra`): one call less per model on the hot path.
                ns["_X"] = SourcedDict
                lines.append(
                    "    xt = _X() if _known.issuperset(o) else "
                    "_X({k: o[k] for k in o.keys() - _known})"
                )
                lines.append("    xt.source = o")
                value = "xt"
            else:
                ns[f"_d_{f.name}"] = f.default
                value = f"_d_{f.name}"
            lines.append(f"    _set_{f.name}(inst, {value})")
    lines.append("    return inst")
    build: Callable[[Any], Any] = _compile(cls, "decode" if checking else "build", lines, ns)
    cache[cls] = build
    return build


def _get_stmt(name: str, default: Any, ns: dict[str, Any], *, checking: bool) -> list[str]:
    """Reads member `name` into `v`; a missing required member is a mismatch when checking."""
    if default is attrs.NOTHING:
        if checking:
            return [f"    try: v = o[{name!r}]", "    except KeyError: _bad()"]
        return [f"    v = o[{name!r}]"]
    if default is None:
        return [f"    v = g({name!r})"]
    ns[f"_d_{name}"] = default
    return [f"    v = g({name!r}, _d_{name})"]


def _datetime_stmts(var: str, ns: dict[str, Any], *, assign: bool) -> str:
    """Statements parsing the str `var` as `parse_datetime` does (raising `Mismatch`), C's
    parser called directly; `assign` stores the result in `var`."""
    ns["_fromiso"] = _fromiso
    ns["_dt_retry"] = _datetime_retry
    to = f"{var} = " if assign else ""
    return f"try: {to}_fromiso({var})\nexcept ValueError: {to}_dt_retry({var})"


def _tuple_builder(build: Callable[[Any], Any]) -> Callable[[list[Any]], tuple[Any, ...]]:
    def build_all(items: list[Any]) -> tuple[Any, ...]:
        return tuple([build(x) for x in items])

    return build_all


def _convert_expr(t: Any, ns: dict[str, Any], key: str) -> str | None:
    """An expression turning checked `v` (never None) into `t`; None when `v` is kept as is."""
    if t is float:
        ns["_float"] = float
        return "_float(v)"
    if t is dt.datetime:
        # (Only for tuple items: a datetime field is converted by `_datetime_stmts`.)
        ns["_datetime"] = _datetime
        return "_datetime(v)"
    if t is dt.date:
        ns["_date"] = _date
        return "_date(v)"
    if isinstance(t, type) and issubclass(t, PurseEnum):
        # A known value is one dict lookup; an unknown one becomes a pseudo-member.
        ns[f"_k_{key}"] = t._value2member_map_.get
        ns[f"_E_{key}"] = t
        return f"(_k_{key}(v) or _E_{key}(v))"
    return None


def _compile(cls: type[Any], kind: str, lines: list[str], ns: dict[str, Any]) -> Any:
    source = "\n".join(lines) + "\n"
    filename = f"<purse {kind} {cls.__module__}.{cls.__qualname__}>"
    code = compile(source, filename, "exec")
    exec(code, ns)
    # As attrs and cattrs do: tracebacks and debuggers show the generated source. The entry
    # never expires (mtime None) and is made once per model class.
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    return ns[lines[0][4:].split("(")[0]]
