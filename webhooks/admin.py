"""The first admin API (kept working beside /api/v1): declare OKRs and mappings, record
check-ins, read the tree, the health signals and the audit log.

Authenticated as /api/v1 is (okr_jira.web.auth): an admin token (`okr-jira tokens` or
OKR_JIRA_ADMIN_TOKEN) for every route. It calls the same functions as the CLI, nothing more.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from okr_jira.errors import InvalidInput, NotFoundError, OkrFileError
from okr_jira.okrs.checkins import record_checkin
from okr_jira.okrs.file import parse_okr_document
from okr_jira.okrs.lint import lint_document
from okr_jira.okrs.plan import apply_plan, make_plan
from okr_jira.render.tree import tree_json
from okr_jira.report.evaluate import evaluate_cycle
from okr_jira.report.health import refresh_health, stored_health
from okr_jira.runtime.jobs import request_publish
from okr_jira.runtime.wiring import Wiring
from okr_jira.storage import audit as audit_log
from okr_jira.storage.db import session_scope
from okr_jira.web.auth import actor, identify
from webhooks.bodies import parse_json, read_body
from webhooks.errors import ApiError, BadPayload, Unauthorized

admin = Blueprint("admin", __name__, url_prefix="/api")


@dataclass(frozen=True)
class AdminState:
    wiring: Wiring
    token: str | None
    max_bytes: int


class NotFound(ApiError):
    status, code = 404, "not_found"


class Invalid(ApiError):
    status, code = 422, "invalid"


def _state() -> AdminState:
    state: AdminState = current_app.extensions["okr_jira_admin"]
    return state


@admin.before_request
def _authenticate() -> None:
    who = identify()
    if who is None or who.via == "session":  # scripts only: a bearer token, no cookie
        raise Unauthorized("a valid admin bearer token is required")
    if not who.admin:
        raise Forbidden("this needs an admin token")


def _actor() -> str:
    who = identify()
    assert who is not None
    return actor(who)


class Forbidden(ApiError):
    status, code = 403, "forbidden"


class FileRules(ApiError):
    status, code = 409, "conflict"


class Confirm(ApiError):
    status, code = 409, "confirm"


@admin.get("/tree")
def tree() -> ResponseReturnValue:
    at = request.args.get("at")
    try:
        on = dt.date.fromisoformat(at) if at else None
    except ValueError:
        raise BadPayload("at must be a date (YYYY-MM-DD)") from None
    wiring = _state().wiring
    with session_scope(wiring.engine) as session:
        try:
            report = evaluate_cycle(
                session=session, cycle=request.args.get("cycle"), on=on,
                thresholds=wiring.thresholds,
            )  # fmt: skip
        except NotFoundError as exc:
            raise NotFound(str(exc)) from None
        health = stored_health(session=session, cycle=report.cycle.key)
    return jsonify(tree_json(report, health))


@admin.get("/health")
def health() -> ResponseReturnValue:
    """`okr-jira health --json`: the cycle's signals and calibration report, computed now."""
    wiring = _state().wiring
    with session_scope(wiring.engine) as session:
        try:
            report = refresh_health(
                session=session, cycle=request.args.get("cycle"), now=wiring.clock(),
                thresholds=wiring.guardrails,
            )  # fmt: skip
        except NotFoundError as exc:
            raise NotFound(str(exc)) from None
    return jsonify(report.to_dict())


@admin.post("/okrs")
def apply_okrs() -> ResponseReturnValue:
    """Body: the OKR file (YAML). `?dry_run=1` plans only; `?prune=1` deletes what is missing;
    a file that would archive every objective is refused (409) unless `?yes=1` confirms it.
    The answer lists the lint rules' findings as `warnings` (they never stop an apply)."""
    if _state().wiring.settings.okr_file:
        raise FileRules("OKR_JIRA_OKR_FILE is set: the OKR file rules here, change it instead")
    try:
        text = read_body(_state().max_bytes).decode("utf-8")
    except UnicodeDecodeError:
        raise BadPayload("the OKR file must be UTF-8 text") from None
    try:
        document = parse_okr_document(text, "<request body>")
    except OkrFileError as exc:
        return jsonify(
            {
                "error": "invalid",
                "problems": [
                    {"line": p.line, "column": p.column, "field": p.field, "message": p.message}
                    for p in exc.problems
                ],
            }
        ), 422
    dry_run = request.args.get("dry_run") in ("1", "true")
    warnings = [p.to_dict() for p in lint_document(document)]
    with session_scope(_state().wiring.engine) as session:
        prune = request.args.get("prune") in ("1", "true")
        plan = make_plan(session, document.okrs, prune=prune)
        changes = [
            {"entity": c.entity, "key": c.key, "action": c.action, "field": c.field,
             "old": c.old, "new": c.new}
            for c in plan.changes
        ]  # fmt: skip
        if dry_run or plan.empty:
            session.rollback()
        elif plan.removes_every_objective and request.args.get("yes") not in ("1", "true"):
            session.rollback()
            raise Confirm(
                f"this file would archive every objective ({plan.live_objectives}) and keep "
                "none; send it again with ?yes=1 if that is intended"
            )
        else:
            apply_plan(session, plan, actor=_actor())
    if not dry_run and not plan.empty:
        request_publish(_state().wiring)
    return jsonify(
        {"applied": not dry_run and not plan.empty, "changes": changes, "warnings": warnings}
    )


@admin.post("/checkins")
def checkin() -> ResponseReturnValue:
    """Body: {"key": objective or KR, "value", "confidence", "note", "blockers", "retro"}
    ("kr" is accepted for "key"). 422 names the refused field and its range."""
    data = parse_json(read_body(_state().max_bytes))
    if not isinstance(data, dict):
        raise BadPayload("send a JSON object {key, value, confidence, note, blockers, retro}")
    key = data.get("key", data.get("kr", data.get("objective")))
    if not isinstance(key, str) or not key.strip():
        raise BadPayload("key (an objective or key result, as a string) is required", field="key")
    unknown = sorted(set(data) - _CHECKIN_FIELDS)
    if unknown:
        raise BadPayload(f"unknown field(s): {', '.join(unknown)}", field=unknown[0])
    for name in ("value", "confidence"):
        raw = data.get(name)
        if raw is not None and (isinstance(raw, bool) or not isinstance(raw, int | float)):
            raise Invalid(f"{name}: must be a JSON number", field=name)
    wiring = _state().wiring
    try:
        with session_scope(wiring.engine) as session:
            recorded = record_checkin(
                session=session, key=key.strip(), value=data.get("value"),
                confidence=data.get("confidence"), note=data.get("note"),
                blockers=data.get("blockers"), retro=data.get("retro"), author=_actor(),
                now=wiring.clock(), thresholds=wiring.thresholds,
            )  # fmt: skip
    except NotFoundError as exc:
        raise NotFound(str(exc), field="key") from None
    except InvalidInput as exc:
        raise Invalid(str(exc), field=exc.field) from None
    request_publish(wiring)
    c = recorded.checkin
    body = {
        "key": c.subject, "objective": c.objective, "kr": c.kr, "at": c.at.isoformat(),
        "value": c.value, "confidence": c.confidence, "note": c.note, "blockers": c.blockers,
        "retro": c.retro,
    }  # fmt: skip
    return jsonify(body), 201


_CHECKIN_FIELDS = frozenset(
    {"key", "kr", "objective", "value", "confidence", "note", "blockers", "retro"}
)


@admin.get("/audit")
def audit() -> ResponseReturnValue:
    limit = min(max(request.args.get("limit", 100, type=int) or 100, 1), 1000)
    with session_scope(_state().wiring.engine) as session:
        rows = audit_log.recent(session=session, limit=limit)
        out = [
            {"at": r.at.isoformat(), "actor": r.actor, "entity": r.entity, "key": r.entity_key,
             "action": r.action, "field": r.field, "old": r.old, "new": r.new}
            for r in rows
        ]  # fmt: skip
    return jsonify(out)
