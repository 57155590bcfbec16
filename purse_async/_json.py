"""Bounded JSON parsing: the size and nesting caps every body the SDK parses goes through
(API answers, token answers, error bodies, webhook deliveries), each breach a typed error."""

from __future__ import annotations

import json
import json.scanner
import re
from collections.abc import Callable
from typing import Any

from ._errors import DecodeError, ResponseTooLargeError

__all__ = ["DEFAULT_MAX_RESPONSE_SIZE", "MAX_DEPTH", "check_depth", "loads"]

#: Purse's deepest documented answer nests about 8 levels; 64 leaves room for any `extra`
#: member while staying far below the interpreter's recursion limit (hostile bodies nest
#: thousands deep to make parsers raise RecursionError).
MAX_DEPTH = 64

#: A GetPayment is a few KiB; a body past this is not an answer Purse sends.
DEFAULT_MAX_RESPONSE_SIZE = 4 * 1024 * 1024

# typeshed declares the scanner's context as a scanner; at run time it is the decoder.
_scan: Callable[[str, int], tuple[Any, int]] = json.scanner.make_scanner(
    json.JSONDecoder()  # type: ignore[arg-type]
)

# Strings are removed from a skeleton of the body, not from the body: first every escape
# (a backslash only occurs in strings, and `\\"` is no quote), then every byte but quotes and
# brackets, then the quoted runs. Each step is one linear C pass (a regex over the whole body
# matching strings with their escapes cost more than the JSON parse itself: 47 vs 28 µs for a
# 3.8 KB payment); an unterminated string runs to the end, as the parser would refuse it.
_ESCAPES = re.compile(rb"\\.", re.DOTALL)
_QUOTED = re.compile(rb'"[^"]*"?')
_NOT_QUOTES_OR_BRACKETS = bytes(b for b in range(256) if b not in b'"[]{}')
# Objects and arrays count alike: one kind of pair is peeled one level per pass (peeling `{}`
# then `[]` in the same pass took two levels of `[{[{...}]}]` at once).
_ONE_KIND = bytes.maketrans(b"{}", b"[]")


def check_depth(body: bytes, max_depth: int = MAX_DEPTH) -> None:
    """Raise `ResponseTooLargeError` if `body` (JSON text) nests deeper than `max_depth`.

    Bodies with no more brackets than `max_depth` cannot nest deeper: two C-level counts decide
    the common case. Otherwise strings are removed and innermost pairs peeled off, one level
    per pass, all in C.
    """
    if body.count(b"{") + body.count(b"[") <= max_depth:
        return
    encoding = json.detect_encoding(body)
    if encoding != "utf-8":
        # UTF-16/32 (which the parser accepts): their bytes would hide quotes and brackets
        # from the scan below, so it runs on the UTF-8 text the parser will see.
        try:
            body = body.decode(encoding, "surrogatepass").encode("utf-8", "surrogatepass")
        except UnicodeError:
            return  # the parser refuses it too
    unescaped = _ESCAPES.sub(b"", body) if b"\\" in body else body
    skeleton = unescaped.translate(_ONE_KIND, _NOT_QUOTES_OR_BRACKETS).replace(b'""', b"")
    brackets = _QUOTED.sub(b"", skeleton) if b'"' in skeleton else skeleton
    for _ in range(max_depth):
        peeled = brackets.replace(b"[]", b"")
        if peeled == brackets:
            return  # nothing nested left (or unbalanced: the parser will say so)
        brackets = peeled
        if not brackets:
            return
    if b"[]" in brackets:
        raise ResponseTooLargeError(
            f"the JSON body nests deeper than {max_depth} levels", path="$", body=body[:200]
        )


def loads(body: bytes, *, what: str, max_depth: int = MAX_DEPTH) -> Any:
    """Parse JSON `body` within the nesting cap; `what` names it in errors ("GET /x answer").

    Raises `ResponseTooLargeError` for nesting past the cap and `DecodeError` for anything that
    is not JSON, never RecursionError or UnicodeDecodeError.
    """
    check_depth(body, max_depth)
    try:
        text = body.decode()
        # json.loads adds an encoding sniff and two Python-level wrappers to the C scanner;
        # anything unusual (leading blanks, another encoding, bad JSON) takes that path.
        value, end = _scan(text, 0)
        if end == len(text):
            return value
    except (ValueError, StopIteration, RecursionError):
        pass
    try:
        return json.loads(body)
    except RecursionError:
        raise ResponseTooLargeError(
            f"{what}: the JSON body nests too deep to parse", path="$", body=body[:200]
        ) from None
    except ValueError as exc:
        raise DecodeError(f"{what} is not JSON ({exc})", path="$", body=body[:500]) from None
