"""Reading a posted form into the API's pydantic models, and a failure into errors by field, so
a page and the API validate alike."""

from __future__ import annotations

from typing import Any

from flask import request
from pydantic import ValidationError

from okr_jira.errors import OkrJiraError
from okr_jira.web import schemas as s
from okr_jira.web.errors import classify

SOURCE_LISTS = (
    "projects", "epics", "issues", "labels", "components", "issue_types", "fix_versions",
    "include", "exclude",
)  # fmt: skip

OBJECTIVE_FIELDS = ("key", "cycle", "team", "title", "parent", "weight", "rollup", "description")
KR_FIELDS = (
    "key", "title", "kind", "start", "target", "unit", "weight", "indicator", "weight_by",
    "in_progress_credit", "default_weight", "field",
)  # fmt: skip


def posted(fields: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in fields:
        value = request.form.get(name, "").strip()
        if value:
            out[name] = value
    return out


def blank_to_null(form: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """An edit form sends every field: a blank optional field clears it."""
    return {name: form.get(name) for name in fields}


def source_from_form(form: dict[str, str]) -> s.SourceIn:
    data: dict[str, Any] = {
        n: [v.strip() for v in form.get(n, "").replace("\n", ",").split(",") if v.strip()]
        for n in SOURCE_LISTS
    }
    if form.get("jql", "").strip():
        data["jql"] = form["jql"]
    return s.SourceIn.model_validate(data)


def form_errors(exc: ValidationError | OkrJiraError | Exception) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    if isinstance(exc, ValidationError):
        for err in exc.errors(include_url=False, include_input=False):
            field = ".".join(str(p) for p in err["loc"]) or "form"
            out.setdefault(field, []).append(err["msg"])
        return out
    _status, _code, message, problems = classify(exc)
    for p in problems:
        out.setdefault(p["field"] or "form", []).append(p["message"])
    if not problems:
        out.setdefault("form", []).append(message)
    return out


def error_status(exc: Exception) -> int:
    return 422 if isinstance(exc, ValidationError) else classify(exc)[0]
