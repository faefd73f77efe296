"""Domain errors that services raise and views map onto form fields or JSON error bodies."""


class DomainError(Exception):
    """A rule refused the request. `code` is stable (for the API); `message` is for people."""

    code = "INVALID_REQUEST"
    status = 400

    def __init__(self, message: str, code: str | None = None, field: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if status:
            self.status = status
        self.field = field


class FieldErrors(DomainError):
    """Several field errors at once (a staff form); `errors` maps a field name to its message."""

    status = 422

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()), field=next(iter(errors)))
        self.errors = errors


class NotFound(DomainError):
    code = "NOT_FOUND"
    status = 404


class Conflict(DomainError):
    code = "CONFLICT"
    status = 409


class Forbidden(DomainError):
    code = "FORBIDDEN"
    status = 403
