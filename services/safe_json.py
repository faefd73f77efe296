"""JSON from outside (webhook and API bodies, Stripe's event lists): bounded, and storable.

- `loads` parses with a bounded nesting depth (`MAX_DEPTH`): JSON nested thousands deep
  used to end in a RecursionError (a 500) instead of a refusal.
- `storable` rewrites the text PostgreSQL cannot hold (NUL, and lone UTF-16 surrogates, which
  no UTF-8 database can store) as the JSON escape it arrived as (`\\u0000`, `\\ud800`), in
  values and keys: the inbox keeps the event and staff see what was received.
- `unstorable_text` finds such text in a client's request, which is refused instead.
"""
from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 64  # Stripe's events nest about 8 deep; our API bodies 2


class UnsafeJSON(ValueError):
    """A body that is not JSON we accept; `code` is the stable error code for clients."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


def loads(data: bytes | str, *, max_depth: int = MAX_DEPTH) -> Any:
    try:
        value = json.loads(data)
    except RecursionError as error:
        raise UnsafeJSON(f"JSON is nested more than {max_depth} levels deep", "JSON_TOO_DEEP") from error
    except (ValueError, UnicodeDecodeError) as error:
        raise UnsafeJSON("the body is not valid JSON", "INVALID_JSON") from error
    if _brackets(data) > max_depth and depth(value) > max_depth:
        raise UnsafeJSON(f"JSON is nested more than {max_depth} levels deep", "JSON_TOO_DEEP")
    return value


def loads_storable(data: bytes) -> Any:
    """`storable(loads(data))`, without walking the parsed value when the text itself shows
    there is nothing to rewrite (the case of every event Stripe sends us)."""
    value = loads(data)
    return value if _plainly_storable(data) else storable(value)


def _brackets(data: bytes | str) -> int:
    # Nothing nests deeper than the number of brackets in the text (those inside strings
    # included): a bound read in C, so the walk of `depth` runs only for bodies with more
    # brackets than the limit. Stripe's events hold about forty.
    if isinstance(data, str):
        return data.count("{") + data.count("[")
    return data.count(b"{") + data.count(b"[")


# Where unstorable text can come from in UTF-8 JSON that parsed: the escapes \u0000 and
# \ud800-\udfff (raw control characters are not valid JSON), and surrogates encoded as UTF-8
# bytes (ED A0-BF), which json.loads decodes with "surrogatepass". A match may be a false
# alarm (an escaped backslash before "u0000"): then the walk decides.
_MAYBE_UNSTORABLE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])|\xed[\xa0-\xbf]")


def _plainly_storable(data: bytes) -> bool:
    # A NUL byte means UTF-16 or UTF-32 text (json.loads accepts those), which this check
    # does not read: the walk decides then too.
    return isinstance(data, bytes) and b"\x00" not in data and _MAYBE_UNSTORABLE.search(data) is None


def depth(value: Any) -> int:
    """How deeply lists and objects nest in `value` (a scalar is 0), without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children)
    return deepest


def _bad_char(char: str) -> bool:
    return char == "\x00" or "\ud800" <= char <= "\udfff"


def _storable_text(text: str) -> str:
    if "\x00" not in text and (text.isascii() or not any(_bad_char(c) for c in text)):
        return text
    return "".join(f"\\u{ord(c):04x}" if _bad_char(c) else c for c in text)


def storable(value: Any) -> Any:
    """`value` with every string (and key) storable in PostgreSQL and SQLite; a new structure
    only where something changed. Depth is bounded by `loads`."""
    if isinstance(value, str):
        return _storable_text(value)
    if isinstance(value, dict):
        return {_storable_text(k) if isinstance(k, str) else k: storable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [storable(v) for v in value]
    return value


def unstorable_text(value: Any) -> bool:
    """True when a string anywhere in `value` holds NUL or a lone surrogate."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item or (not item.isascii() and any(_bad_char(c) for c in item)):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False
