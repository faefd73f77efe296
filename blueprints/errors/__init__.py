"""Error pages: HTML in the site layout, JSON under /api/ (`{"success": false, "error": {...}}`)."""
import logging

from flask import Flask, abort, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from extensions import db
from services.errors import DomainError

log = logging.getLogger(__name__)

CODES = {400: "BAD_REQUEST", 401: "UNAUTHENTICATED", 403: "FORBIDDEN", 404: "NOT_FOUND",
         405: "METHOD_NOT_ALLOWED", 409: "CONFLICT", 413: "PAYLOAD_TOO_LARGE", 415: "UNSUPPORTED_MEDIA_TYPE",
         422: "VALIDATION_ERROR", 429: "RATE_LIMITED", 500: "INTERNAL_ERROR"}


def wants_json() -> bool:
    return request.path.startswith("/api/")


def json_error(status: int, code: str, message: str, fields: dict | None = None, headers: dict | None = None):
    error = {"code": code, "message": message}
    if fields:
        error["fields"] = fields
    return jsonify({"success": False, "error": error}), status, headers or {}


def register(app: Flask) -> None:
    @app.before_request
    def refuse_nul_bytes():
        # PostgreSQL text cannot hold NUL: refuse such input here, once, instead of a 500 later.
        values = [request.path, *request.args.values()]
        if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            values += request.form.values()
        if any("\x00" in value for value in values):
            abort(400, "The request contains a NUL character.")

    @app.errorhandler(HTTPException)
    def handle_http_error(error: HTTPException):
        status = error.code or 500
        if status >= 500:
            db.session.rollback()
        headers = dict(error.get_headers()) if status in (401, 405, 429) else {}
        headers.pop("Content-Type", None)
        if wants_json():
            message = error.description if status != 500 else "Something went wrong on our side."
            return json_error(status, CODES.get(status, "HTTP_ERROR"), message, headers=headers)
        return render_template("errors/error.html", status=status, title=error.name,
                               description=_page_description(error)), status, headers

    @app.errorhandler(CSRFError)
    def handle_csrf_error(error: CSRFError):
        if wants_json():
            return json_error(400, "CSRF_FAILED", "The CSRF token is missing or invalid.")
        return render_template("errors/error.html", status=400, title="Your session expired",
                               description="The form was out of date. Go back, reload the page and try again."), 400

    @app.errorhandler(DomainError)
    def handle_domain_error(error: DomainError):
        if wants_json():
            fields = {error.field: error.message} if error.field else None
            return json_error(error.status, error.code, error.message, fields)
        return render_template("errors/error.html", status=error.status, title="We could not do that",
                               description=error.message), error.status

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception):
        log.exception("Unhandled error on %s %s", request.method, request.path)
        db.session.rollback()
        return handle_http_error(InternalServerError())


def _page_description(error: HTTPException) -> str:
    friendly = {
        404: "The page you asked for does not exist, or has moved.",
        403: "You do not have access to this page.",
        405: "That action is not allowed here.",
        500: "Something went wrong on our side. Please try again in a moment.",
        429: "You are going a little fast. Please wait a moment and try again.",
    }
    return friendly.get(error.code or 500, error.description or "")
