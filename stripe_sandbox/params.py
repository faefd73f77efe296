"""Decode Stripe's form encoding (`a[b][0][c]=v`) and check it against a per-endpoint schema.

A parameter the schema does not know is refused with 400 `parameter_unknown`, exactly as
Stripe refuses it, so a typo in our own calls fails in tests instead of in production.
"""
from __future__ import annotations

import re
from typing import Any, Iterable

from .errors import ParamError

_SEGMENT = re.compile(r"\[([^\[\]]*)\]")


def decode(pairs: Iterable[tuple[str, str]]) -> dict:
    """Nest flat form pairs. Lists stay dicts keyed by index until a schema asks for a list."""
    root: dict = {}
    for key, value in pairs:
        head, bracket, rest = key.partition("[")
        parts = [head]
        if bracket:
            tail = "[" + rest
            parts += _SEGMENT.findall(tail)
            if "".join(f"[{p}]" for p in parts[1:]) != tail:
                raise ParamError(f"Invalid parameter name: {key}", key)
        node = root
        for index, part in enumerate(parts):
            if part == "":  # `expand[]=x`: append
                part = str(len(node))
            if index == len(parts) - 1:
                node[part] = value
            else:
                child = node.setdefault(part, {})
                if not isinstance(child, dict):
                    raise ParamError(f"Invalid parameter name: {key}", key)
                node = child
    return root


# --- schema ------------------------------------------------------------------------------
# A spec is a callable (value, param_name) -> coerced value; the helpers below build them.

def _name(parent: str, key: str) -> str:
    return f"{parent}[{key}]" if parent else key


def string(max_length: int = 5000):
    def check(value: Any, param: str) -> str:
        if not isinstance(value, str):
            raise ParamError(f"Invalid string: {param} must be a string", param)
        if len(value) > max_length:
            raise ParamError(f"Invalid string: {param} must be at most {max_length} characters", param)
        return value
    return check


def integer(minimum: int | None = None, maximum: int | None = None):
    def check(value: Any, param: str) -> int:
        if not isinstance(value, str) or not re.fullmatch(r"-?\d+", value):
            raise ParamError(f"Invalid integer: {value}", param, "parameter_invalid_integer")
        number = int(value)
        if minimum is not None and number < minimum:
            raise ParamError(f"This value must be greater than or equal to {minimum}.", param)
        if maximum is not None and number > maximum:
            raise ParamError(f"This value must be less than or equal to {maximum}.", param)
        return number
    return check


def decimal(value: Any, param: str) -> float:
    """A decimal number (`percent_off=25.5`); Stripe returns it as a JSON number."""
    if not isinstance(value, str) or not re.fullmatch(r"-?\d+(\.\d+)?", value):
        raise ParamError(f"Invalid decimal: {value}", param, "parameter_invalid_decimal")
    return float(value)


def boolean(value: Any, param: str) -> bool:
    if value not in ("true", "false"):
        raise ParamError(f"Invalid boolean: {value}", param)
    return value == "true"


def one_of(*choices: str):
    def check(value: Any, param: str) -> str:
        if value not in choices:
            raise ParamError(f"Invalid {param}: must be one of {', '.join(choices)}", param)
        return value
    return check


def metadata(value: Any, param: str) -> dict:
    """Stripe's metadata limits: 50 keys, keys up to 40 characters, values up to 500."""
    if value == "":
        return {}
    if not isinstance(value, dict):
        raise ParamError("Invalid object", param, "parameter_invalid_string")
    if len(value) > 50:
        raise ParamError("Invalid metadata: must have at most 50 keys", param)
    for key, item in value.items():
        if len(key) > 40:
            raise ParamError(f"Metadata key too long: {key[:40]}... (at most 40 characters)", _name(param, key))
        if not isinstance(item, str):
            raise ParamError("Invalid metadata value: must be a string", _name(param, key))
        if len(item) > 500:
            raise ParamError("Metadata values can have up to 500 characters", _name(param, key))
    return dict(value)


def array(item_spec):
    def check(value: Any, param: str) -> list:
        if isinstance(value, str):
            raise ParamError(f"Invalid array: {param}", param, "parameter_invalid_array")
        keys = list(value)
        if not all(k.isdigit() for k in keys):
            raise ParamError(f"Invalid array: {param}", param, "parameter_invalid_array")
        return [item_spec(value[k], _name(param, k)) for k in sorted(keys, key=int)]
    return check


def obj(fields: dict, required: Iterable[str] = ()):
    required = tuple(required)

    def check(value: Any, param: str) -> dict:
        if not isinstance(value, dict):
            raise ParamError(f"Invalid object: {param or 'request'}", param or None, "parameter_invalid_string")
        result = {}
        for key, raw in value.items():
            if key not in fields:
                name = _name(param, key)
                raise ParamError(f"Received unknown parameter: {name}", name, "parameter_unknown")
            if raw == "" and fields[key] is not metadata:
                continue  # Stripe treats an empty string as "not set" for optional fields
            result[key] = fields[key](raw, _name(param, key))
        for key in required:
            if key not in result:
                name = _name(param, key)
                raise ParamError(f"Missing required param: {name}.", name, "parameter_missing")
        return result
    return check


def parse(spec, raw: dict) -> dict:
    return spec(raw, "")


EXPAND = array(string(200))
