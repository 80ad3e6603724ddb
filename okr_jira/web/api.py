"""The JSON API under /api/v1, validated by the pydantic models of schemas.py, which also generate
/api/openapi.json (flask-openapi3). Reads need a `read` token, writes an `admin` one."""

from __future__ import annotations

import datetime as dt
from http import HTTPStatus
from typing import Any

from flask import Response, current_app, jsonify, request
from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel

from okr_jira.domain import pace
from okr_jira.okrs.edit import Edited
from okr_jira.okrs.preview import Preview
from okr_jira.render.context import History
from okr_jira.render.tree import kr_json, tree_json
from okr_jira.render.words import formula
from okr_jira.report.details import KrDetail
from okr_jira.web import schemas as s
from okr_jira.web.auth import CSRF_HEADER, actor, check_csrf, csrf_needed, require
from okr_jira.web.errors import register_api_errors
from okr_jira.web.service import Services, filtered_nodes

SECURITY: list[dict[str, list[str]]] = [{"bearer": []}]
Responses = dict[str | int | HTTPStatus, type[BaseModel] | dict[Any, Any] | None]
_ERRORS: Responses = {401: s.ErrorOut, 403: s.ErrorOut, 404: s.ErrorOut, 422: s.ErrorOut}
_WRITE_ERRORS: Responses = {**_ERRORS, 409: s.ErrorOut}

api = APIBlueprint(
    "api_v1",
    __name__,
    url_prefix="/api/v1",
    abp_security=SECURITY,
    abp_responses=_ERRORS,
)
okrs_tag, audit_tag, jobs_tag = Tag(name="okrs"), Tag(name="audit"), Tag(name="jobs")
register_api_errors(api)


def services() -> Services:
    found: Services = current_app.extensions["okr_jira_services"]
    return found


@api.before_request
def _authorise() -> None:
    write = request.method not in ("GET", "HEAD", "OPTIONS")
    require("admin" if write else "read")
    if csrf_needed():
        check_csrf(request.headers.get(CSRF_HEADER))


def _actor() -> str:
    return actor(require("admin"))


def _changes(edited: Edited) -> list[dict[str, Any]]:
    return [
        {"entity": c.entity, "key": c.key, "action": c.action, "field": c.field,
         "old": c.old, "new": c.new}
        for c in edited.plan.changes
    ]  # fmt: skip


# --- reading -------------------------------------------------------------------------------------


@api.get("/me", responses={200: s.MeOut})
def me() -> Response:
    """Who the token or session is, and its role."""
    who = require("read")
    return jsonify({"name": who.name, "role": who.role, "via": who.via})


@api.get("/tree", tags=[okrs_tag], responses={200: s.TreeOut})
def tree(query: s.TreeQuery) -> Response:
    """The cycle's tree (default: the running cycle) from recorded progress; `team` and `status`
    keep the matching objectives and the path to them."""
    report = services().tree(query.cycle, query.at)
    data = tree_json(report)
    if query.team or query.status:
        shown = filtered_nodes(report, query.team, query.status)
        data["objectives"] = _prune(data["objectives"], shown)
    return jsonify(data)


def _prune(nodes: list[dict[str, Any]], shown: set[str]) -> list[dict[str, Any]]:
    return [{**n, "children": _prune(n["children"], shown)} for n in nodes if n["key"] in shown]


@api.get("/cycles", tags=[okrs_tag], responses={200: s.Open})
def cycles() -> Response:
    return jsonify(
        {
            "cycles": [
                {"key": c.key, "name": c.name, "start": c.start.isoformat(),
                 "end": c.end.isoformat()}
                for c in services().cycles()
            ]
        }
    )  # fmt: skip


@api.get("/objectives/<key>", tags=[okrs_tag], responses={200: s.ObjectiveOut})
def objective(path: s.KeyPath) -> Response:
    """An objective with its key results, aligned objectives and progress history."""
    detail = services().objective(path.key)
    report, node = detail.report, detail.node
    o = node.objective
    score = pace.score(node.progress)
    return jsonify(
        {
            "key": o.key, "title": o.title, "cycle": o.cycle, "team": o.team,
            "parent": o.parent, "weight": o.weight, "rollup": o.rollup,
            "description": o.description, "cross_cycle": o.cross_cycle,
            "progress": round(node.progress, 4), "score": score, "grade": pace.grade(score),
            "status": report.status(node.progress),
            "key_results": [kr_json(report, kr, st) for kr, st in node.key_results],
            "children": [c.objective.key for c in node.children],
            "history": history_json(detail.history),
        }
    )  # fmt: skip


def history_json(history: History) -> list[dict[str, Any]]:
    """One point per day: progress, scope (total weight) and whether it was reconstructed."""
    return [
        {"day": p.day.isoformat(), "progress": round(p.progress, 4), "scope": p.scope,
         "reconstructed": p.backfilled}
        for p in history
    ]  # fmt: skip


def kr_detail_json(d: KrDetail) -> dict[str, Any]:
    kr, st = d.kr, d.state
    return {
        "key": kr.key, "title": kr.title, "kind": kr.kind, "objective": d.objective.key,
        "cycle": d.cycle.key, "start": kr.start, "target": kr.target, "unit": kr.unit,
        "weight": kr.weight, "indicator": kr.indicator, "weight_by": kr.weight_by,
        "in_progress_credit": kr.in_progress_credit, "default_weight": kr.default_weight,
        "field": kr.field, "done_only": kr.done_only,
        "source": None if kr.source is None else source_json(kr.source),
        "progress": round(st.progress, 4), "score": pace.score(st.progress),
        "status": pace.pace_status(st.progress, d.cycle, dt.date.today(), _thresholds()),
        "current": st.current, "formula": d.formula, "jql": d.jql,
        "warnings": list(st.warnings), "error": st.error,
        "issues": [
            {"key": i.key, "summary": i.summary, "status": i.status,
             "status_category": i.status_category, "weight": w,
             "contribution": round(c, 6)}
            for i, w, c in d.contributions
        ],
        "history": history_json(d.history),
        "scope": [
            {"issue": r.issue_key, "joined_at": r.joined_at.isoformat(),
             "done_when_joined": r.done_when_joined,
             "left_at": r.left_at.isoformat() if r.left_at else None,
             "done_when_left": r.done_when_left, "reason": r.reason}
            for r in d.scope
        ],
        "checkins": [
            {"value": c.value, "note": c.note, "author": c.author,
             "at": c.created_at.isoformat()}
            for c in d.checkins
        ],
    }  # fmt: skip


def source_json(source: Any) -> dict[str, Any]:
    from okr_jira.okrs.export import source_map

    return {
        k: (list(v) if isinstance(v, list | tuple) else v) for k, v in source_map(source).items()
    }


def _thresholds() -> Any:
    return services().thresholds


@api.get("/key-results/<key>", tags=[okrs_tag], responses={200: s.KeyResultOut})
def key_result(path: s.KeyPath) -> Response:
    """A key result with the issues behind it (weight, contribution), the formula in words, its
    JQL, progress history, scope history and check-ins."""
    return jsonify(kr_detail_json(services().key_result(path.key)))


@api.get("/audit", tags=[audit_tag], responses={200: s.AuditOut})
def audit(query: s.AuditQuery) -> Response:
    rows = services().audit(
        objective=query.objective, kr=query.kr, actor=query.actor, since=query.since,
        until=query.until, limit=query.limit,
    )  # fmt: skip
    return jsonify({"entries": [audit_json(r) for r in rows]})


def audit_json(r: Any) -> dict[str, Any]:
    return {
        "at": r.at.isoformat(), "actor": r.actor, "entity": r.entity, "key": r.entity_key,
        "action": r.action, "field": r.field, "old": r.old, "new": r.new,
    }  # fmt: skip


@api.get("/jobs/<int:job_id>", tags=[jobs_tag], responses={200: s.JobOut})
def job(path: s.JobPath) -> Response | tuple[Response, int]:
    row = services().job(path.job_id)
    if row is None:
        return jsonify({"error": "not_found", "message": f"job {path.job_id} does not exist"}), 404
    return jsonify(job_json(row))


def job_json(row: Any) -> dict[str, Any]:
    return {
        "job": row.id, "kind": row.kind, "status": row.status,
        "requested_by": row.requested_by, "requested_at": row.requested_at.isoformat(),
        "started_at": row.started_at.isoformat() if row.started_at else None,
        "finished_at": row.finished_at.isoformat() if row.finished_at else None,
        "message": row.message,
    }  # fmt: skip


# --- writing -------------------------------------------------------------------------------------


@api.post("/objectives", tags=[okrs_tag], responses={201: s.ChangesOut, **_WRITE_ERRORS})
def create_objective(body: s.ObjectiveCreate) -> tuple[Response, int]:
    edited = services().create_objective(body.model_dump(), actor=_actor())
    return jsonify({"key": body.key, "changes": _changes(edited)}), 201


@api.patch("/objectives/<key>", tags=[okrs_tag], responses={200: s.ChangesOut, **_WRITE_ERRORS})
def update_objective(path: s.KeyPath, body: s.ObjectiveUpdate) -> Response:
    changes = body.model_dump(exclude_unset=True)
    for name, default in (("weight", 1.0), ("rollup", "both"), ("cross_cycle", False)):
        if name in changes and changes[name] is None:
            changes[name] = default
    edited = services().update_objective(path.key, changes, actor=_actor())
    return jsonify({"key": path.key, "changes": _changes(edited)})


@api.post(
    "/objectives/<key>/archive", tags=[okrs_tag], responses={200: s.ChangesOut, **_WRITE_ERRORS}
)
def archive_objective(path: s.KeyPath) -> Response:
    edited = services().archive_objective(path.key, actor=_actor())
    return jsonify({"key": path.key, "changes": _changes(edited)})


@api.post("/key-results", tags=[okrs_tag], responses={201: s.ChangesOut, **_WRITE_ERRORS})
def create_key_result(body: s.KeyResultCreate) -> tuple[Response, int]:
    values = body.changes()
    values.pop("objective", None)
    edited = services().create_key_result(body.objective, values, actor=_actor())
    return jsonify({"key": body.key, "changes": _changes(edited)}), 201


@api.patch("/key-results/<key>", tags=[okrs_tag], responses={200: s.ChangesOut, **_WRITE_ERRORS})
def update_key_result(path: s.KeyPath, body: s.KeyResultFields) -> Response:
    edited = services().update_key_result(path.key, body.changes(), actor=_actor())
    return jsonify({"key": path.key, "changes": _changes(edited)})


@api.post(
    "/key-results/<key>/archive", tags=[okrs_tag], responses={200: s.ChangesOut, **_WRITE_ERRORS}
)
def archive_key_result(path: s.KeyPath) -> Response:
    edited = services().archive_key_result(path.key, actor=_actor())
    return jsonify({"key": path.key, "changes": _changes(edited)})


@api.post("/key-results/<key>/preview", tags=[okrs_tag], responses={200: s.PreviewOut})
def preview(path: s.KeyPath, body: s.SourceBody) -> Response:
    """The issues `source` selects now and the progress before and after; saves nothing."""
    return jsonify(preview_json(services().preview(path.key, body.source.to_domain())))


def kr_of(p: Preview) -> Any:
    return p.kr_value


def preview_json(p: Preview) -> dict[str, Any]:
    return {
        "issues": p.issues, "jql": p.jql, "answered_by": p.answered_by,
        "progress_now": round(p.now.progress, 4), "progress_after": round(p.after.progress, 4),
        "formula_after": formula(kr_of(p), p.after), "added": p.added, "removed": p.removed,
        "warnings": p.warnings,
        "details": [
            {"key": i.key, "summary": i.summary, "status": i.status,
             "status_category": i.status_category}
            for i in p.snapshots[:200]
        ],
    }  # fmt: skip


@api.put(
    "/key-results/<key>/source", tags=[okrs_tag], responses={200: s.ChangesOut, **_WRITE_ERRORS}
)
def put_source(path: s.KeyPath, body: s.SourceBody) -> Response:
    """Save the source (checked as the preview checks it; audited); a sync is queued."""
    edited, job_id = services().save_source(path.key, body.source.to_domain(), actor=_actor())
    return jsonify({"key": path.key, "changes": _changes(edited), "sync_job": job_id})


@api.post("/checkins", tags=[okrs_tag], responses={201: s.CheckinOut, **_WRITE_ERRORS})
def checkin(body: s.CheckinIn) -> tuple[Response, int]:
    """Record a manual key result's value (accepted even when the OKR file rules)."""
    services().checkin(body.kr, body.value, body.note, actor=_actor())
    return jsonify({"kr": body.kr, "value": body.value, "note": body.note}), 201


@api.post("/sync", tags=[jobs_tag], responses={202: s.JobOut, **_WRITE_ERRORS})
def sync(query: s.SyncIn) -> tuple[Response, int]:
    """Queue a sync (incremental, or `?full=true`); poll GET /api/v1/jobs/{id}."""
    job_id = services().queue("sync", {"full": query.full}, actor=_actor())
    return jsonify({"job": job_id, "kind": "sync", "status": "queued"}), 202


@api.post("/publish", tags=[jobs_tag], responses={202: s.JobOut, **_WRITE_ERRORS})
def publish() -> tuple[Response, int]:
    """Queue a publish of the running cycles to Confluence; poll GET /api/v1/jobs/{id}."""
    job_id = services().queue("publish", {}, actor=_actor())
    return jsonify({"job": job_id, "kind": "publish", "status": "queued"}), 202
