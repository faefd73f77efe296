"""Parsing JSON request bodies into checked values, with one message per bad field.

Deliberately small: each endpoint takes two to four fields, and a schema library would add
a dependency for what a dozen lines do. Every failure becomes a 400 VALIDATION_ERROR whose
`fields` names each bad field, so clients can show the message next to the input.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import request

from services import pagination
from services.errors import DomainError


class ValidationFailed(DomainError):
    code = "VALIDATION_ERROR"
    status = 400

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("Some fields are missing or invalid.")
        self.fields = fields


def json_body() -> dict[str, Any]:
    """The request's JSON object; a 400 naming the problem for anything else."""
    if not request.is_json:
        raise DomainError("Send a JSON object with `Content-Type: application/json`.", code="INVALID_JSON",
                          status=415)
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise DomainError("The request body must be a JSON object.", code="INVALID_JSON")
    return body


class Fields:
    """Collects field errors while values are read; `done()` raises them all at once."""

    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body
        self.errors: dict[str, str] = {}

    def course_id(self, name: str = "courseId") -> str | None:
        value = self.body.get(name)
        if value is None or value == "":
            self.errors[name] = "Give the course's id or slug."
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

    def amount(self, name: str) -> int | None:
        value = self.body.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            self.errors[name] = "Must be a whole number of minor units (cents), 0 or more."
            return None
        return value

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
