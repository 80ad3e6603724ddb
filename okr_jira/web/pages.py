"""The server-rendered pages: the tree, an objective, a key result, the mapping editor, the forms
that create, edit and archive objectives and key results, check-ins, the audit log, sign-in.

Every form posts to the page itself with a CSRF token; forms are read into the API's pydantic
models (web/forms.py) and handed to the same service functions, so a page and the API cannot
disagree.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    current_app,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_wtf.csrf import CSRFError, generate_csrf
from markupsafe import Markup
from pydantic import ValidationError
from werkzeug.wrappers import Response as WResponse

from okr_jira.domain import pace
from okr_jira.domain.rollup import iter_nodes
from okr_jira.errors import OkrJiraError
from okr_jira.okrs.export import source_map
from okr_jira.render.chart import progress_chart_svg
from okr_jira.render.words import percent
from okr_jira.web import schemas as s
from okr_jira.web.auth import (
    Forbidden,
    Unauthenticated,
    actor,
    check_csrf,
    csrf_needed,
    identify,
    require,
    sign_in,
)
from okr_jira.web.errors import classify
from okr_jira.web.forms import (
    KR_FIELDS,
    OBJECTIVE_FIELDS,
    SOURCE_LISTS,
    blank_to_null,
    error_status,
    form_errors,
    posted,
    source_from_form,
)
from okr_jira.web.service import Services, filtered_nodes
from okr_jira.web.tree_rows import PACE_LABELS, tree_fragment

pages = Blueprint(
    "pages", __name__, template_folder="templates", static_folder="static",
    static_url_path="/assets",
)  # fmt: skip
PUBLIC = ("pages.signin", "pages.static")
Page = str | Response | WResponse | tuple[str, int]


def services() -> Services:
    found: Services = current_app.extensions["okr_jira_services"]
    return found


@pages.before_request
def _gate() -> WResponse | None:
    if request.endpoint in PUBLIC:
        if request.method == "POST":
            check_csrf(request.form.get("csrf_token"))
        return None
    if identify() is None:
        return redirect(url_for("pages.signin", next=request.full_path.rstrip("?")))
    if csrf_needed():
        check_csrf(request.form.get("csrf_token"))
    return None


pages.add_app_template_global(PACE_LABELS, "pace_labels")  # type: ignore[arg-type]


@pages.app_template_global()
def csrf_token() -> str:
    return generate_csrf()


@pages.app_template_filter("pct")
def pct(value: float | None) -> str:
    return "—" if value is None else percent(value)


@pages.app_template_filter("num")
def num(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:g}" if float(value).is_integer() else f"{value:.2f}".rstrip("0")


@pages.app_template_filter("score")
def score_filter(progress: float) -> float:
    return pace.score(progress)


@pages.app_template_filter("grade")
def grade_filter(value: float) -> str:
    return pace.grade(value)


@pages.context_processor
def _globals() -> dict[str, Any]:
    who = g.get("_okr_identity")
    return {
        "who": who,
        "pace_labels": PACE_LABELS,
        "file_rules": services().wiring.settings.okr_file,
    }


# --- sign-in -------------------------------------------------------------------------------------


@pages.route("/signin", methods=["GET", "POST"])
def signin() -> Page:
    target = _safe_next(request.values.get("next"))
    if request.method == "POST":
        who = sign_in(request.form.get("token", ""))
        if who is not None:
            return redirect(target)
        return render_template("signin.html", next=target, failed=True), 401
    return render_template("signin.html", next=target, failed=False)


@pages.post("/signout")
def signout() -> WResponse:
    from flask import session

    session.clear()
    return redirect(url_for("pages.signin"))


def _safe_next(value: str | None) -> str:
    """Only a path on this site (never //host or a scheme): no open redirect."""
    if not value or not value.startswith("/") or value.startswith("//"):
        return url_for("pages.tree")
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or "\\" in value:
        return url_for("pages.tree")
    return value


# --- reading -------------------------------------------------------------------------------------


@pages.get("/")
def tree() -> Page:
    try:
        query = s.TreeQuery.model_validate(
            {k: v for k, v in request.args.items() if v and k in ("cycle", "team", "status")}
        )
    except ValidationError:
        return redirect(url_for("pages.tree"))
    svc = services()
    report = svc.tree(query.cycle)
    shown = filtered_nodes(report, query.team, query.status)
    return render_template(
        "tree.html",
        report=report,
        rows=bool(shown),
        tree_html=tree_fragment(report, shown),
        query=query,
        cycles=svc.cycles(),
        teams={k: t.name for k, t in report.teams.items()},
        expected=pace.expected_progress(report.cycle, report.on),
        counts=_counts(report),
    )


def _counts(report: Any) -> dict[str, int]:
    counts = dict.fromkeys(PACE_LABELS, 0)
    for node in iter_nodes(report.nodes):
        counts[report.status(node.progress)] += 1
    return counts


@pages.get("/objectives/<key>")
def objective(key: str) -> Page:
    detail = services().objective(key)
    report = detail.report
    chart = progress_chart_svg(report.cycle, detail.history, report.on, f"{key} progress over time")
    return render_template(
        "objective.html", d=detail, report=report, node=detail.node, chart=Markup(chart)
    )


@pages.get("/key-results/<key>")
def key_result(key: str) -> Page:
    detail = services().key_result(key)
    status = pace.pace_status(
        detail.state.progress, detail.cycle, dt.date.today(), services().thresholds
    )
    chart = progress_chart_svg(
        detail.cycle, detail.history, dt.date.today(), f"{key} progress over time"
    )
    return render_template(
        "key_result.html", d=detail, status=status, chart=Markup(chart), errors={}, form={}
    )


@pages.get("/audit")
def audit() -> Page:
    args = {k: v for k, v in request.args.items() if v}
    errors: dict[str, list[str]] = {}
    try:
        query = s.AuditQuery.model_validate(args)
    except ValidationError as exc:
        errors, query = form_errors(exc), s.AuditQuery()
    svc = services()
    rows = svc.audit(
        objective=query.objective, kr=query.kr, actor=query.actor, since=query.since,
        until=query.until, limit=query.limit,
    )  # fmt: skip
    return render_template(
        "audit.html", rows=rows, query=query, actors=svc.actors(), errors=errors, form=args
    ), (422 if errors else 200)


# --- the mapping editor --------------------------------------------------------------------------


@pages.route("/key-results/<key>/mapping", methods=["GET", "POST"])
def mapping(key: str) -> Page:
    require("admin")
    svc = services()
    detail = svc.key_result(key)
    if request.method == "GET":
        current = source_map(detail.kr.source) if detail.kr.source else {}
        form = {n: ", ".join(current.get(n, ())) for n in SOURCE_LISTS}
        form["jql"] = current.get("jql", "")
        return render_template("mapping.html", d=detail, form=form, errors={}, preview=None)
    form = {n: request.form.get(n, "") for n in (*SOURCE_LISTS, "jql")}
    errors: dict[str, list[str]] = {}
    preview = None
    try:
        source = source_from_form(form)
        if request.form.get("action") == "save":
            svc.save_source(key, source.to_domain(), actor=actor(require("admin")))
            return redirect(url_for("pages.key_result", key=key, saved="mapping"))
        preview = svc.preview(key, source.to_domain())
    except (ValidationError, OkrJiraError) as exc:
        errors = form_errors(exc)
        return render_template(
            "mapping.html", d=detail, form=form, errors=errors, preview=None
        ), error_status(exc)
    return render_template("mapping.html", d=detail, form=form, errors=errors, preview=preview)


# --- objectives and key results ------------------------------------------------------------------


@pages.route("/objectives/new", methods=["GET", "POST"])
def new_objective() -> Page:
    require("admin")
    svc = services()
    context = {"cycles": svc.cycles(), "teams": svc.teams(), "editing": None}
    if request.method == "GET":
        form: dict[str, Any] = {
            "cycle": request.args.get("cycle", ""),
            "parent": request.args.get("parent", ""),
        }
        return render_template("objective_form.html", form=form, errors={}, **context)
    form = posted(OBJECTIVE_FIELDS)
    form["cross_cycle"] = request.form.get("cross_cycle") == "on"
    try:
        body = s.ObjectiveCreate.model_validate(form)
        svc.create_objective(body.model_dump(), actor=actor(require("admin")))
    except (ValidationError, OkrJiraError) as exc:
        return render_template(
            "objective_form.html", form=form, errors=form_errors(exc), **context
        ), error_status(exc)
    return redirect(url_for("pages.objective", key=body.key))


@pages.route("/objectives/<key>/edit", methods=["GET", "POST"])
def edit_objective(key: str) -> Page:
    require("admin")
    svc = services()
    detail = svc.objective(key)
    context = {"cycles": svc.cycles(), "teams": svc.teams(), "editing": key}
    o = detail.node.objective
    if request.method == "GET":
        form = {n: getattr(o, n) for n in OBJECTIVE_FIELDS} | {"cross_cycle": o.cross_cycle}
        return render_template("objective_form.html", form=form, errors={}, **context)
    fields = tuple(n for n in OBJECTIVE_FIELDS if n != "key")
    form = blank_to_null(posted(fields), fields)
    form["cross_cycle"] = request.form.get("cross_cycle") == "on"
    try:
        changes = s.ObjectiveUpdate.model_validate(form).model_dump()
        changes["weight"] = changes["weight"] or 1.0
        changes["rollup"] = changes["rollup"] or "both"
        svc.update_objective(key, changes, actor=actor(require("admin")))
    except (ValidationError, OkrJiraError) as exc:
        return render_template(
            "objective_form.html", form={**form, "key": key}, errors=form_errors(exc), **context
        ), error_status(exc)
    return redirect(url_for("pages.objective", key=key))


@pages.post("/objectives/<key>/archive")
def archive_objective(key: str) -> Page:
    require("admin")
    try:
        services().archive_objective(key, actor=actor(require("admin")))
    except OkrJiraError as exc:
        return _error_page(exc)
    return redirect(url_for("pages.tree"))


@pages.route("/objectives/<key>/key-results/new", methods=["GET", "POST"])
def new_key_result(key: str) -> Page:
    require("admin")
    svc = services()
    detail = svc.objective(key)
    context = {"objective": detail.node.objective, "editing": None}
    if request.method == "GET":
        return render_template("kr_form.html", form={"kind": "issues"}, errors={}, **context)
    form = posted(KR_FIELDS)
    form["done_only"] = request.form.get("done_only") == "on"
    try:
        body = s.KeyResultCreate.model_validate({**form, "objective": key})
        values = body.changes()
        values.pop("objective", None)
        svc.create_key_result(key, values, actor=actor(require("admin")))
    except (ValidationError, OkrJiraError) as exc:
        return render_template(
            "kr_form.html", form=form, errors=form_errors(exc), **context
        ), error_status(exc)
    target = "pages.mapping" if body.kind != "manual" else "pages.key_result"
    return redirect(url_for(target, key=body.key))


@pages.route("/key-results/<key>/edit", methods=["GET", "POST"])
def edit_key_result(key: str) -> Page:
    require("admin")
    svc = services()
    detail = svc.key_result(key)
    context = {"objective": detail.objective, "editing": key}
    kr = detail.kr
    if request.method == "GET":
        form = {n: getattr(kr, n) for n in KR_FIELDS} | {"done_only": kr.done_only}
        return render_template("kr_form.html", form=form, errors={}, **context)
    fields = tuple(n for n in KR_FIELDS if n != "key")
    form = blank_to_null(posted(fields), fields)
    form["done_only"] = request.form.get("done_only") == "on"
    try:
        body = s.KeyResultFields.model_validate(form)
        svc.update_key_result(key, body.changes(), actor=actor(require("admin")))
    except (ValidationError, OkrJiraError) as exc:
        return render_template(
            "kr_form.html", form={**form, "key": key}, errors=form_errors(exc), **context
        ), error_status(exc)
    return redirect(url_for("pages.key_result", key=key))


@pages.post("/key-results/<key>/archive")
def archive_key_result(key: str) -> Page:
    require("admin")
    svc = services()
    objective_key = svc.key_result(key).objective.key
    try:
        svc.archive_key_result(key, actor=actor(require("admin")))
    except OkrJiraError as exc:
        return _error_page(exc)
    return redirect(url_for("pages.objective", key=objective_key))


@pages.post("/key-results/<key>/checkin")
def checkin(key: str) -> Page:
    require("admin")
    svc = services()
    form = {"kr": key, "value": request.form.get("value", "").strip() or None}
    if request.form.get("note", "").strip():
        form["note"] = request.form["note"]
    try:
        body = s.CheckinIn.model_validate(form)
        svc.checkin(key, body.value, body.note, actor=actor(require("admin")))
    except (ValidationError, OkrJiraError) as exc:
        detail = svc.key_result(key)
        status = pace.pace_status(detail.state.progress, detail.cycle, dt.date.today(),
                                  svc.thresholds)  # fmt: skip
        chart = progress_chart_svg(detail.cycle, detail.history, dt.date.today(),
                                   f"{key} progress over time")  # fmt: skip
        return render_template(
            "key_result.html", d=detail, status=status, chart=Markup(chart),
            errors=form_errors(exc), form=form,
        ), error_status(exc)  # fmt: skip
    return redirect(url_for("pages.key_result", key=key, saved="checkin"))


# --- errors --------------------------------------------------------------------------------------


def _error_page(exc: Exception) -> tuple[str, int]:
    status, _code, message, _problems = classify(exc)
    return render_template("error.html", status=status, message=message), status


@pages.errorhandler(Unauthenticated)
def _unauthenticated(exc: Unauthenticated) -> WResponse:
    return redirect(url_for("pages.signin", next=request.full_path.rstrip("?")))


@pages.errorhandler(Forbidden)
@pages.errorhandler(OkrJiraError)
def _known(exc: Exception) -> tuple[str, int]:
    return _error_page(exc)


@pages.errorhandler(CSRFError)
def _csrf(exc: CSRFError) -> tuple[str, int]:
    return _error_page(exc)
