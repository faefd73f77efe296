"""Stripe's error envelope, so the `stripe` library raises its usual exception classes.

stripe-python picks the class from the HTTP status and `error.type`:
400/404 -> InvalidRequestError (IdempotencyError when type is idempotency_error),
401 -> AuthenticationError, 402 -> CardError, 429 -> RateLimitError, else APIError.
"""
from __future__ import annotations


class ApiError(Exception):
    """An error answered with Stripe's `{"error": {...}}` body and status code."""

    # Whether an idempotent request that failed with this error is remembered. Stripe saves a
    # response once the endpoint started executing; a request refused at validation is not.
    remembered = True

    def __init__(self, status: int, message: str, *, type_: str = "invalid_request_error",
                 code: str | None = None, param: str | None = None,
                 decline_code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type_
        self.code = code
        self.param = param
        self.decline_code = decline_code

    def envelope(self) -> dict:
        error = {"type": self.type, "message": self.message}
        if self.code:
            error["code"] = self.code
            error["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
        if self.param:
            error["param"] = self.param
        if self.decline_code:
            error["decline_code"] = self.decline_code
        return {"error": error}


class ParamError(ApiError):
    """A request refused before any work was done (unknown, missing or malformed parameter)."""

    remembered = False

    def __init__(self, message: str, param: str | None, code: str = "parameter_invalid") -> None:
        super().__init__(400, message, code=code, param=param)


def not_found(kind: str, object_id: str, param: str = "id") -> ApiError:
    return ApiError(404, f"No such {kind}: '{object_id}'", code="resource_missing", param=param)
