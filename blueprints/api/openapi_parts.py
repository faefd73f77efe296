"""Building blocks of the OpenAPI description, shared by openapi.py (the spec's endpoints)
and openapi_staff.py (the back office)."""
from __future__ import annotations

from typing import Any

NULLABLE_STRING = {"type": ["string", "null"]}
NULLABLE_DATETIME = {"type": ["string", "null"], "format": "date-time"}
MONEY = {"type": "integer", "minimum": 0, "description": "An amount in minor units (cents; yen has none)."}
CURRENCY = {"type": "string", "pattern": "^[A-Z]{3}$", "description": "ISO 4217 code."}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def success(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "required": ["success", *required],
            "properties": {"success": {"const": True}, **properties}}


def json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def errors(*statuses: int) -> dict[str, Any]:
    return {str(status): {"$ref": f"#/components/responses/E{status}"} for status in statuses}


def body(properties: dict[str, Any], required: list[str], example: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "required": required, "properties": properties}, "example": example}}}


IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key", "in": "header", "required": False,
    "description": "Your unique value for this request (a UUID). The same key with the same body within 24 hours "
                   "returns the first response again (with `Idempotent-Replayed: true`) without running it twice; "
                   "the same key with another body is 409 IDEMPOTENCY_KEY_REUSED; while the first request runs, "
                   "409 IDEMPOTENCY_KEY_IN_USE. 5xx answers are not kept.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
}


def list_params(cursor: str) -> list[dict[str, Any]]:
    return [
        {"name": "limit", "in": "query", "required": False, "description": "Items per page (default 20).",
         "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}},
        {"name": "startingAfter", "in": "query", "required": False,
         "description": f"A cursor: the {cursor} of the last item of the previous page. Omit for the first page.",
         "schema": {"type": "string", "minLength": 1, "maxLength": 255}},
    ]


def list_response(name: str, item: dict[str, Any], description: str) -> dict[str, Any]:
    return json(success({name: {"type": "array", "items": item},
                         "hasMore": {"type": "boolean", "description": "Whether another page follows: ask for it "
                                                                       "with startingAfter."}},
                        [name, "hasMore"]), description)
