"""The one place the web app's exceptions become answers: JSON under /api, pages elsewhere."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, jsonify
from flask_wtf.csrf import CSRFError
from pydantic import ValidationError

from okr_jira.adapters.jira import JiraError
from okr_jira.errors import ConfigError, InvalidInput, NotFoundError, OkrJiraError
from okr_jira.okrs.edit import ConflictError, EditError
from okr_jira.web.auth import Forbidden, Unauthenticated
from okr_jira.web.service import FileRules

log = logging.getLogger(__name__)


def error_body(
    status: int, code: str, message: str, problems: list[dict[str, str]] | None = None
) -> Response:
    response = jsonify({"error": code, "message": message, "problems": problems or []})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="okr-jira"'
    return response


def classify(exc: Exception) -> tuple[int, str, str, list[dict[str, str]]]:
    """(status, code, message, problems) of an exception a request may raise."""
    if isinstance(exc, Unauthenticated):
        return 401, "unauthorized", str(exc), []
    if isinstance(exc, Forbidden):
        return 403, "forbidden", str(exc), []
    if isinstance(exc, CSRFError):
        return 400, "csrf", "the form expired or did not come from this site; reload it", []
    if isinstance(exc, NotFoundError):
        return 404, "not_found", str(exc), []
    if isinstance(exc, EditError):
        problems = [{"field": f, "message": m} for f, m in exc.problems]
        return 422, "invalid", str(exc), problems
    if isinstance(exc, InvalidInput):
        return 422, "invalid", str(exc), [{"field": exc.field, "message": str(exc)}]
    if isinstance(exc, ConflictError | FileRules):
        return 409, "conflict", str(exc), []
    if isinstance(exc, ConfigError):
        return 503, "not_configured", str(exc), []
    if isinstance(exc, JiraError):
        log.warning("web.jira_failed", extra={"status": exc.status})
        return 502, "jira_unavailable", f"Jira did not answer: {exc.message}", []
    if isinstance(exc, OkrJiraError):
        return 422, "invalid", str(exc), []
    raise exc


def register_api_errors(bp: Blueprint) -> None:
    def handle(exc: Exception) -> Response:
        status, code, message, problems = classify(exc)
        return error_body(status, code, message, problems)

    for kind in (Unauthenticated, Forbidden, CSRFError, OkrJiraError):
        bp.register_error_handler(kind, handle)


def validation_error(e: ValidationError) -> Response:
    """flask-openapi3's callback: 422 naming each field (`title`, `source.projects.0`)."""
    problems = [
        {"field": ".".join(str(p) for p in err["loc"]), "message": err["msg"]}
        for err in e.errors(include_url=False, include_input=False)
    ]
    names = ", ".join(p["field"] or "body" for p in problems)
    return error_body(422, "invalid", f"invalid request: {names}", problems)


def problems_by_field(problems: list[dict[str, str]]) -> dict[str, Any]:
    out: dict[str, list[str]] = {}
    for p in problems:
        out.setdefault(p["field"], []).append(p["message"])
    return out
