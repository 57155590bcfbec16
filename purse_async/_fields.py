"""The members of a model as the API sees them: name, item type, array or not, required or not.

One reading of the attrs fields, cached, for the request-body checks and `to_dict`.
"""

from __future__ import annotations

import types
import typing
from typing import Any

import attrs

from ._decoder import SDK_ONLY_FIELDS

__all__ = ["WireField", "wire_fields"]


class WireField(typing.NamedTuple):
    type: Any  # the member's type, or its items' for an array; Any for a union of several
    is_array: bool  # a tuple in the model, a JSON array on the wire
    required: bool  # no default: written even when empty, or the model cannot be read back


_CACHE: dict[type[Any], dict[str, WireField]] = {}


def wire_fields(cls: type[Any]) -> dict[str, WireField]:
    """The members of model `cls` the API knows (not those only the SDK sets), in
    declaration order; `Optional[X]` is read as `X`."""
    known = _CACHE.get(cls)
    if known is not None:
        return known
    attrs.resolve_types(cls)
    found: dict[str, WireField] = {}
    for f in attrs.fields(cls):
        if f.name in SDK_ONLY_FIELDS:
            continue
        t = f.type
        if typing.get_origin(t) in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(t) if a is not type(None)]
            t = args[0] if len(args) == 1 else Any
        is_array = typing.get_origin(t) is tuple
        found[f.name] = WireField(
            typing.get_args(t)[0] if is_array else t, is_array, f.default is attrs.NOTHING
        )
    _CACHE[cls] = found
    return found
