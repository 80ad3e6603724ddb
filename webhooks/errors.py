"""The one place exceptions become HTTP answers: a small JSON body and a status.

Messages never echo what the client sent beyond a short reason, and never a secret.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException

from okr_jira.errors import SchemaBehindError

log = logging.getLogger(__name__)


class ApiError(Exception):
    """A request okr-jira refuses, with the status and a message safe to send back."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field  # the request field refused, when one is


class BadPayload(ApiError):
    status, code = 400, "bad_payload"


class Unauthorized(ApiError):
    status, code = 401, "unauthorized"


class UnsupportedMediaType(ApiError):
    status, code = 415, "unsupported_media_type"


MAX_MESSAGE = 500  # an error never carries a long echo of what the client sent


def _body(status: int, code: str, message: str, field: str | None = None) -> Response:
    if len(message) > MAX_MESSAGE:
        message = message[:MAX_MESSAGE] + "..."
    body = {"error": code, "message": message}
    if field is not None:
        body["field"] = field
    response = jsonify(body)
    response.status_code = status
    return response


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def api_error(exc: ApiError) -> Response:
        return _body(exc.status, exc.code, exc.message, exc.field)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        code = (exc.name or "error").lower().replace(" ", "_")
        status = exc.code or 500
        response = _body(status, code, exc.name or "error")
        if status == 405 and exc.response is None:
            allowed = getattr(exc, "valid_methods", None)
            if allowed:
                response.headers["Allow"] = ", ".join(allowed)
        return response

    @app.errorhandler(DBAPIError)
    def database_error(exc: DBAPIError) -> Response:
        # Jira retries on 5xx: a 503 while the database is away loses nothing.
        log.error("webhooks.database_unavailable", extra={"error": type(exc.orig).__name__})
        return _body(503, "database_unavailable", "the database is unavailable; retry later")

    @app.errorhandler(SchemaBehindError)
    def schema_error(exc: SchemaBehindError) -> Response:
        return _body(503, "schema_not_current", str(exc))

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response:
        log.exception("webhooks.unexpected_error")
        return _body(500, "internal_error", "unexpected error")
