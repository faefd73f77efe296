"""Reading fields from Stripe objects and from plain dicts alike.

Stripe objects are not dicts (`.get` fails, and `StripeObject` has no dict methods), while
tests, stored webhook payloads and expanded sub-objects hand over plain dicts. Every
service reads them through `field` and `object_id`, so there is one rule for a missing key.
"""
from __future__ import annotations

from typing import Any


def field(obj: Any, key: str, default: Any = None) -> Any:
    """`obj[key]` for a Stripe object or a dict; `default` when absent or `obj` is not a mapping.

    A string counts as "not a mapping": an unexpanded field holds the id string, which has
    no fields of its own.
    """
    if obj is None or isinstance(obj, str):
        return default
    try:
        return obj[key]
    except (KeyError, TypeError, AttributeError):
        return default


def object_id(value: Any) -> str | None:
    """An expandable field's id: the id string itself, or the expanded object's `id`."""
    if value is None or isinstance(value, str):
        return value
    return field(value, "id")
