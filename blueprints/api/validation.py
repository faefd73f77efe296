"""Parsing JSON request bodies into checked values, with one message per bad field.

Deliberately small: each endpoint takes a handful of typed fields, and a schema library would
add a dependency for what a few lines each do. Every failure becomes a 400 VALIDATION_ERROR whose
`fields` names each bad field, so clients can show the message next to the input.
"""
from __future__ import annotations

import math
import re
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from flask import request

from services import pagination, safe_json
from services.errors import DomainError


DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


class ValidationFailed(DomainError):
    code = "VALIDATION_ERROR"
    status = 400

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("Some fields are missing or invalid.")
        self.fields = fields


API_MAX_BODY_BYTES = 64 * 1024  # the largest body any endpoint needs is well under 1 KiB


def json_body() -> dict[str, Any]:
    """The request's JSON object; a 4xx with a code for anything else (never a 500).

    Bodies over 64 KiB → 413 PAYLOAD_TOO_LARGE (while reading); JSON nested deeper than
    `safe_json.MAX_DEPTH` → 400 JSON_TOO_DEEP (it used to be a RecursionError); text no
    database can store (NUL, a lone UTF-16 surrogate such as "\\ud800") → 400 INVALID_TEXT.
    """
    if not request.is_json:
        raise DomainError("Send a JSON object with `Content-Type: application/json`.", code="INVALID_JSON",
                          status=415)
    request.max_content_length = min(request.max_content_length or API_MAX_BODY_BYTES, API_MAX_BODY_BYTES)
    try:
        body = safe_json.loads(request.get_data(cache=True))
    except safe_json.UnsafeJSON as error:
        raise DomainError(f"The request body is not accepted: {error}.", code=error.code) from error
    if not isinstance(body, dict):
        raise DomainError("The request body must be a JSON object.", code="INVALID_JSON")
    if safe_json.unstorable_text(body):
        raise DomainError("The request body contains text we cannot store (a NUL character or a lone "
                          "UTF-16 surrogate).", code="INVALID_TEXT")
    return body


class Fields:
    """Collects field errors while values are read; `done()` raises them all at once."""

    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body
        self.errors: dict[str, str] = {}

    def course_id(self, name: str = "courseId", what: str = "course") -> str | None:
        value = self.body.get(name)
        if value is None or value == "":
            self.errors[name] = f"Give the {what}'s id or slug."
            return None
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            self.errors[name] = "Must be a string (id or slug) or an integer id."
            return None
        text = str(value).strip()
        if not text or len(text) > 120:
            self.errors[name] = "Must be 1 to 120 characters."
            return None
        if _has_control_characters(text):
            self.errors[name] = CONTROL_CHARACTERS_MESSAGE
            return None
        return text

    def string(self, name: str, *, required: bool = False, max_length: int = 255) -> str | None:
        value = self.body.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.errors[name] = "This field is required."
            return None
        if not isinstance(value, str):
            self.errors[name] = "Must be a string."
            return None
        if len(value.strip()) > max_length:
            self.errors[name] = f"Must be at most {max_length} characters."
            return None
        if _has_control_characters(value):
            self.errors[name] = CONTROL_CHARACTERS_MESSAGE
            return None
        return value.strip()

    def has(self, name: str) -> bool:
        return name in self.body

    def integer(self, name: str, *, minimum: int = 0, maximum: int = 2_147_483_647,
                required: bool = False) -> int | None:
        """A whole number (JSON integer) in range; None when absent or null."""
        value = self.body.get(name)
        if value is None:
            if required:
                self.errors[name] = "This field is required."
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
            self.errors[name] = f"Must be a whole number from {minimum} to {maximum}."
            return None
        return value

    def number(self, name: str) -> Decimal | None:
        """A JSON number (a percentage: not money), exactly as sent."""
        value = self.body.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            self.errors[name] = "Must be a number."
            return None
        return Decimal(str(value))

    def boolean(self, name: str) -> bool | None:
        value = self.body.get(name)
        if value is not None and not isinstance(value, bool):
            self.errors[name] = "Must be true or false."
            return None
        return value

    def choice(self, name: str, choices, *, required: bool = False) -> str | None:
        value = self.string(name, required=required, max_length=40)
        if value is not None and value not in choices:
            self.errors[name] = f"Must be one of {', '.join(choices)}."
            return None
        return value

    def timestamp(self, name: str) -> datetime | None:
        """An ISO 8601 time with its offset (`2026-12-01T00:00:00Z`), as aware UTC."""
        value = self.string(name, max_length=40)
        if value is None:
            return None
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            parsed = None
        if parsed is None or parsed.tzinfo is None or not 1970 <= parsed.year <= 9999:
            self.errors[name] = "Must be an ISO 8601 time with a zone, like 2026-12-01T00:00:00Z."
            return None
        return parsed.astimezone(timezone.utc)

    def course_keys(self, name: str) -> list[str] | None:
        value = self.body.get(name)
        if value is None:
            return None
        if not isinstance(value, list) or len(value) > 500:
            self.errors[name] = "Must be a list of course ids or slugs."
            return None
        keys = []
        for item in value:
            if isinstance(item, bool) or not isinstance(item, (str, int)) or not str(item).strip() \
                    or len(str(item)) > 120 or _has_control_characters(str(item)):
                self.errors[name] = "Must be a list of course ids or slugs."
                return None
            keys.append(str(item).strip())
        return keys

    def redirect_url(self, name: str, allowed_origins: list[str]) -> str | None:
        """An absolute http(s) URL on one of the allowed origins: no open redirects."""
        value = self.string(name, max_length=2000)
        if value is None:
            return None
        if origin_of(value) not in {origin_of(allowed) for allowed in allowed_origins}:
            self.errors[name] = "Must be a URL on an allowed origin of this site."
            return None
        return value

    def done(self) -> None:
        if self.errors:
            raise ValidationFailed(self.errors)


class PageRequest:
    """`limit` and `startingAfter` from the query string (Stripe's cursor pagination)."""

    def __init__(self, *, integer_ids: bool) -> None:
        errors: dict[str, str] = {}
        self.limit = pagination.DEFAULT_LIMIT
        raw_limit = request.args.get("limit")
        if raw_limit is not None:
            if raw_limit.isascii() and raw_limit.isdigit() and 1 <= int(raw_limit) <= pagination.MAX_LIMIT:
                self.limit = int(raw_limit)
            else:
                errors["limit"] = f"Must be a whole number from 1 to {pagination.MAX_LIMIT}."
        self.starting_after: str | int | None = request.args.get("startingAfter") or None
        if self.starting_after is not None:
            text = str(self.starting_after)
            if integer_ids and not (text.isascii() and text.isdigit() and len(text) <= 18):
                errors["startingAfter"] = "Must be the id of the last item you received."
            elif len(text) > 255 or _has_control_characters(text):
                errors["startingAfter"] = "Must be the id of the last item you received."
            elif integer_ids:
                self.starting_after = int(text)
        if errors:
            raise ValidationFailed(errors)


def query_day(name: str) -> date | None:
    """A day (`2026-11-26`) from the query string; a 400 on the field for anything else."""
    text = request.args.get(name)
    if not text:
        return None
    try:
        if not DAY.fullmatch(text):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed({name: "Must be a day like 2026-11-26."}) from None


def query_choice(name: str, choices) -> str:
    text = request.args.get(name, "")
    if text and text not in choices:
        raise ValidationFailed({name: f"Must be one of {', '.join(choices)}."})
    return text


def query_int(name: str) -> int | None:
    text = request.args.get(name)
    if not text:
        return None
    if not (text.isascii() and text.isdigit() and len(text) <= 9):
        raise ValidationFailed({name: "Must be a whole number."})
    return int(text)


def query_bool(name: str) -> bool | None:
    text = request.args.get(name)
    if text is None or text == "":
        return None
    if text not in ("true", "false"):
        raise ValidationFailed({name: "Must be true or false."})
    return text == "true"


def query_text(name: str, max_length: int = 200) -> str:
    text = request.args.get(name, "")
    if len(text) > max_length or _has_control_characters(text):
        raise ValidationFailed({name: f"At most {max_length} characters, no control characters."})
    return text


CONTROL_CHARACTERS_MESSAGE = "Must not contain control characters."


def _has_control_characters(text: str) -> bool:
    # NUL in particular: PostgreSQL refuses it in text, which would surface as a 500.
    return any(ord(char) < 32 or ord(char) == 127 for char in text)


def origin_of(url: str) -> str | None:
    """scheme://host[:port], lower-cased with default ports dropped; None when not absolute http(s)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
        return None
    if "\\" in url or any(ord(char) < 32 for char in url):
        return None
    default = {"http": 80, "https": 443}[parts.scheme]
    suffix = f":{port}" if port and port != default else ""
    return f"{parts.scheme}://{parts.hostname.lower()}{suffix}"
