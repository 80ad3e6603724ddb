"""The admin API: declare OKRs and mappings, record check-ins, read the tree, the health signals
and the audit log.

Authenticated with `Authorization: Bearer <OKR_JIRA_ADMIN_TOKEN>` (constant-time compare); without a
configured token the API is off (404). It calls the same functions as the CLI, nothing more.
"""

from __future__ import annotations

import datetime as dt
import hmac
from dataclasses import dataclass

from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from okr_jira.errors import NotFoundError, OkrFileError
from okr_jira.okrs.file import parse_okr_document
from okr_jira.okrs.lint import lint_document
from okr_jira.okrs.plan import apply_plan, make_plan
from okr_jira.render.tree import tree_json
from okr_jira.report.evaluate import evaluate_cycle
from okr_jira.report.health import refresh_health, stored_health
from okr_jira.runtime.wiring import Wiring
from okr_jira.storage import audit as audit_log
from okr_jira.storage.db import session_scope
from okr_jira.storage.okrs import add_checkin, get_key_result
from webhooks.errors import ApiError, BadPayload, Unauthorized

admin = Blueprint("admin", __name__, url_prefix="/api")


@dataclass(frozen=True)
class AdminState:
    wiring: Wiring
    token: str | None


class NotFound(ApiError):
    status, code = 404, "not_found"


class Invalid(ApiError):
    status, code = 422, "invalid"


def _state() -> AdminState:
    state: AdminState = current_app.extensions["okr_jira_admin"]
    return state


@admin.before_request
def _authenticate() -> None:
    token = _state().token
    if token is None:
        raise NotFound("the admin API is off: set OKR_JIRA_ADMIN_TOKEN to enable it")
    given = request.headers.get("Authorization", "")
    scheme, _, value = given.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(value.encode(), token.encode()):
        raise Unauthorized("a valid admin bearer token is required")


def _actor() -> str:
    return request.headers.get("X-Okr-Actor", "admin-api")[:200]


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
    """Body: the OKR file (YAML). `?dry_run=1` plans only; `?prune=1` deletes what is missing.
    The answer lists the lint rules' findings as `warnings` (they never stop an apply)."""
    text = request.get_data(as_text=True)
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
        else:
            apply_plan(session, plan, actor=_actor())
    return jsonify(
        {"applied": not dry_run and not plan.empty, "changes": changes, "warnings": warnings}
    )


@admin.post("/checkins")
def checkin() -> ResponseReturnValue:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise BadPayload("send a JSON object {kr, value, note}")
    kr, value = data.get("kr"), data.get("value")
    if not isinstance(kr, str) or isinstance(value, bool) or not isinstance(value, int | float):
        raise BadPayload("kr (string) and value (number) are required")
    with session_scope(_state().wiring.engine) as session:
        try:
            row = get_key_result(session=session, key=kr)
        except NotFoundError as exc:
            raise NotFound(str(exc)) from None
        if row.kind != "manual":
            raise Invalid(f"{kr} is a '{row.kind}' key result: its progress comes from Jira")
        note = data.get("note") if isinstance(data.get("note"), str) else None
        add_checkin(session=session, kr=kr, value=float(value), note=note, author=_actor())
    return jsonify({"kr": kr, "value": value}), 201


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
