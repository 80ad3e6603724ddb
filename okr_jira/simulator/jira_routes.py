"""The Jira REST endpoints of the simulator, per flavor (Cloud or Data Center)."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from flask import Flask, Response, g, request

from okr_jira.jql import JqlError
from okr_jira.simulator.catalog import STATUS_CATEGORIES, STATUSES
from okr_jira.simulator.http import (
    base_url,
    body_json,
    error_response,
    int_value,
    json_response,
    list_param,
    list_value,
)
from okr_jira.simulator.jira import JiraSim
from okr_jira.simulator.remote_links import RemoteLinkError
from okr_jira.simulator.render import (
    issue_json,
    jira_time,
    project_json,
    search_expansions,
    status_category_json,
    status_json,
    user_json,
)
from okr_jira.simulator.webhook_routes import register_webhook_routes

REMOVED_SEARCH = (
    "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. "
    "A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046"
)
UNBOUNDED = (
    "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."
)
ISSUE_MISSING = "Issue does not exist or you do not have permission to see it."
DC_MAX_RESULTS = 1000
CLOUD_MAX_WITH_FIELDS = 100
CLOUD_MAX_IDS = 5000


def register_jira_routes(app: Flask, sim: JiraSim) -> None:
    cloud = sim.flavor == "cloud"
    versions = '<any("2","3","latest"):ver>' if cloud else '<any("2","latest"):ver>'
    api = f"/rest/api/{versions}"

    def render_version(ver: str) -> str:
        return "3" if ver == "3" else "2"

    def current_user() -> str:
        return str(getattr(g, "sim_user", None) or sim.bot)

    def jql_identity() -> str:
        user = sim.users[current_user()]
        return user.account_id if cloud else user.name

    def jql_error(exc: JqlError) -> Response:
        return json_response(exc.response_body(), 400)

    @app.get(f"{api}/serverInfo")
    def server_info(ver: str) -> Response:
        now = sim.clock()
        info: dict[str, Any] = {
            "baseUrl": base_url(),
            "serverTime": jira_time(now),
            "scmInfo": "0c4b0f6b5d1e2f3a4b5c6d7e8f90a1b2c3d4e5f6",
            "serverTitle": "Jira",
        }
        if cloud:
            info |= {
                "version": "1001.0.0-SNAPSHOT",
                "versionNumbers": [1001, 0, 0],
                "deploymentType": "Cloud",
                "buildNumber": 100289,
                "buildDate": "2026-09-30T00:00:00.000+0000",
                "defaultLocale": {"locale": "en_US"},
                "serverTimeZone": "Etc/UTC",
            }
        else:
            info |= {
                "version": "9.12.15",
                "versionNumbers": [9, 12, 15],
                "deploymentType": "Server",
                "buildNumber": 9120015,
                "buildDate": "2024-10-01T00:00:00.000+0000",
                "databaseBuildNumber": 9120015,
            }
        return json_response(info)

    @app.get(f"{api}/myself")
    def myself(ver: str) -> Response:
        body = user_json(sim, sim.users[current_user()], base_url())
        body |= {
            "locale": "en_US",
            "groups": {"size": 1, "items": []},
            "applicationRoles": {"size": 1, "items": []},
            "expand": "groups,applicationRoles",
        }
        return json_response(body)

    @app.get(f"{api}/mypermissions")
    def my_permissions(ver: str) -> Response:
        wanted = [p for p in request.args.get("permissions", "").split(",") if p]
        if cloud and not wanted:
            return error_response(400, "The permissions query parameter is required.")
        granted = {"LINK_ISSUES": sim.remote.can_link}
        return json_response(
            {"permissions": {
                p: {"key": p, "name": p.replace("_", " ").title(), "type": "PROJECT",
                    "havePermission": granted.get(p, True)}
                for p in (wanted or sorted(granted))
            }}
        )  # fmt: skip

    @app.get(f"{api}/field")
    def fields(ver: str) -> Response:
        return json_response(sim.field_list())

    @app.get(f"{api}/status")
    def statuses(ver: str) -> Response:
        return json_response([status_json(name, base_url()) for name in STATUSES])

    @app.get(f"{api}/statuscategory")
    def status_categories(ver: str) -> Response:
        return json_response([status_category_json(k, base_url()) for k in STATUS_CATEGORIES])

    @app.get(f"{api}/project")
    def projects(ver: str) -> Response:
        with sim.lock:
            return json_response([project_json(sim, k, base_url()) for k in sim.projects])

    @app.get(f"{api}/project/<key>")
    def project(ver: str, key: str) -> Response:
        with sim.lock:
            found = next(
                (p for p in sim.projects.values() if key.upper() in (p.key, str(p.id))), None
            )
            if found is None:
                return error_response(404, f"No project could be found with key '{key}'.")
            body = project_json(sim, found.key, base_url())
            body["components"] = [{"id": str(i), "name": n} for n, i in found.components.items()]
            body["versions"] = [
                {"id": str(i), "name": n, "archived": False, "released": False}
                for n, i in found.versions.items()
            ]
            return json_response(body)

    @app.get(f"{api}/issue/<key>")
    def get_issue(ver: str, key: str) -> Response:
        with sim.lock:
            rec = sim.get(key)
            if rec is None:
                return error_response(404, ISSUE_MISSING)
            return json_response(
                issue_json(
                    sim,
                    rec,
                    base_url(),
                    requested=list_param("fields"),
                    default="*all",
                    api_version=render_version(ver),
                    expand=request.args.get("expand", ""),
                )
            )

    # --- remote issue links ---

    def remote_error(exc: RemoteLinkError) -> Response:
        return error_response(exc.status, *exc.messages, errors=exc.errors)

    @app.get(f"{api}/issue/<key>/remotelink")
    def remote_links(ver: str, key: str) -> Response:
        with sim.lock:
            rec = sim.get(key)
            if rec is None:
                return error_response(404, ISSUE_MISSING)
            global_id = request.args.get("globalId")
            try:
                if global_id is not None:
                    link = sim.remote.by_global_id(rec.id, global_id)
                    return json_response(link.json(base_url(), rec.key))
            except RemoteLinkError as exc:
                return remote_error(exc)
            return json_response([ln.json(base_url(), rec.key) for ln in sim.remote.of(rec.id)])

    @app.post(f"{api}/issue/<key>/remotelink")
    def remote_link_upsert(ver: str, key: str) -> Response:
        if sim.get(key) is None:
            return error_response(404, ISSUE_MISSING)
        try:
            link, created = sim.upsert_remote_link(key, request.get_json(silent=True))
        except RemoteLinkError as exc:
            return remote_error(exc)
        rec = sim.get(key)
        assert rec is not None
        body = {
            "id": link.id,
            "self": f"{base_url()}/rest/api/{ver}/issue/{rec.key}/remotelink/{link.id}",
        }
        return json_response(body, 201 if created else 200)

    @app.get(f"{api}/issue/<key>/remotelink/<int:link_id>")
    def remote_link_get(ver: str, key: str, link_id: int) -> Response:
        with sim.lock:
            rec = sim.get(key)
            if rec is None:
                return error_response(404, ISSUE_MISSING)
            try:
                return json_response(sim.remote.get(rec.id, link_id).json(base_url(), rec.key))
            except RemoteLinkError as exc:
                return remote_error(exc)

    @app.put(f"{api}/issue/<key>/remotelink/<int:link_id>")
    def remote_link_put(ver: str, key: str, link_id: int) -> Response:
        if sim.get(key) is None:
            return error_response(404, ISSUE_MISSING)
        try:
            sim.replace_remote_link(key, link_id, request.get_json(silent=True))
        except RemoteLinkError as exc:
            return remote_error(exc)
        return Response(status=204)

    @app.delete(f"{api}/issue/<key>/remotelink/<int:link_id>")
    def remote_link_delete(ver: str, key: str, link_id: int) -> Response:
        if sim.get(key) is None:
            return error_response(404, ISSUE_MISSING)
        try:
            sim.delete_remote_link(key, link_id=link_id)
        except RemoteLinkError as exc:
            return remote_error(exc)
        return Response(status=204)

    @app.delete(f"{api}/issue/<key>/remotelink")
    def remote_link_delete_by_global_id(ver: str, key: str) -> Response:
        if sim.get(key) is None:
            return error_response(404, ISSUE_MISSING)
        global_id = request.args.get("globalId")
        if not global_id:
            return error_response(400, "The global ID of the link to delete is required.")
        try:
            sim.delete_remote_link(key, global_id=global_id)
        except RemoteLinkError as exc:
            return remote_error(exc)
        return Response(status=204)

    # --- search ---

    if cloud:

        @app.route(f"{api}/search", methods=["GET", "POST"])
        def removed_search(ver: str) -> Response:
            return error_response(410, REMOVED_SEARCH)

        @app.route(f"{api}/search/jql", methods=["GET", "POST"])
        def enhanced_search(ver: str) -> Response:
            if request.method == "POST":
                body = body_json()
                jql = str(body.get("jql") or "")
                token = body.get("nextPageToken")
                max_results = body.get("maxResults")
                requested = list_value(body.get("fields"))
                expand = ",".join(list_value(body.get("expand")) or [])
            else:
                jql = request.args.get("jql", "")
                token = request.args.get("nextPageToken")
                max_results = request.args.get("maxResults")
                requested = list_param("fields")
                expand = request.args.get("expand", "")
            try:
                query = sim.parse(jql)
            except JqlError as exc:
                return jql_error(exc)
            if not query.is_bounded:
                return error_response(400, UNBOUNDED)
            ids_only = not requested or {f.strip() for f in requested} <= {"id", "key"}
            cap = CLOUD_MAX_IDS if ids_only else CLOUD_MAX_WITH_FIELDS
            limit = min(max(int_value(max_results, 50), 1), cap)
            offset = _decode_token(token, jql) if token else 0
            if offset is None:
                return error_response(400, "The provided next page token is invalid or expired.")
            keys = sim.search(jql, current_user=jql_identity())
            page = keys[offset : offset + limit]
            per_issue = _issue_expand(expand)
            with sim.lock:
                issues = [
                    _enhanced_issue(sim, rec, requested, ver, per_issue)
                    for k in page
                    if (rec := sim.issues.get(k)) is not None
                ]
            out: dict[str, Any] = {"issues": issues}
            if not ids_only:
                out |= search_expansions(sim, requested, default="*navigable", expand=expand)
            if offset + limit < len(keys):
                out["nextPageToken"] = _encode_token(offset + limit, jql)
                out["isLast"] = False
            else:
                out["isLast"] = True
            return json_response(out)

        @app.post(f"{api}/search/approximate-count")
        def approximate_count(ver: str) -> Response:
            jql = str(body_json().get("jql") or "")
            try:
                keys = sim.search(jql, current_user=jql_identity())
            except JqlError as exc:
                return jql_error(exc)
            return json_response({"count": len(keys)})

    else:

        @app.route(f"{api}/search", methods=["GET", "POST"])
        def search(ver: str) -> Response:
            if request.method == "POST":
                body = body_json()
                jql = str(body.get("jql") or "")
                start_raw, max_raw = body.get("startAt"), body.get("maxResults")
                requested = list_value(body.get("fields"))
                expand = ",".join(list_value(body.get("expand")) or [])
            else:
                jql = request.args.get("jql", "")
                start_raw, max_raw = request.args.get("startAt"), request.args.get("maxResults")
                requested = list_param("fields")
                expand = request.args.get("expand", "")
            try:
                keys = sim.search(jql, current_user=jql_identity())
            except JqlError as exc:
                return jql_error(exc)
            start = max(int_value(start_raw, 0), 0)
            limit = min(max(int_value(max_raw, 50), 0), DC_MAX_RESULTS)
            with sim.lock:
                issues = [
                    issue_json(
                        sim,
                        rec,
                        base_url(),
                        requested=requested,
                        default="*navigable",
                        api_version="2",
                        expand=_issue_expand(expand),
                    )
                    for k in keys[start : start + limit]
                    if (rec := sim.issues.get(k)) is not None
                ]
            out: dict[str, Any] = {
                "expand": "schema,names",
                "startAt": start,
                "maxResults": limit,
                "total": len(keys),
                "issues": issues,
            }
            out |= search_expansions(sim, requested, default="*navigable", expand=expand)
            return json_response(out)

    register_webhook_routes(app, sim, current_user)


def _enhanced_issue(
    sim: JiraSim, rec: Any, requested: list[str] | None, ver: str, expand: str
) -> dict[str, Any]:
    if not requested:
        return {"id": str(rec.id)}
    wanted = {f.strip() for f in requested}
    if wanted <= {"id", "key"}:
        out: dict[str, Any] = {"id": str(rec.id)}
        if "key" in wanted:
            out["key"] = rec.key
        return out
    return issue_json(
        sim,
        rec,
        base_url(),
        requested=requested,
        default="*navigable",
        api_version="3" if ver == "3" else "2",
        expand=expand,
    )


def _issue_expand(expand: str) -> str:
    """What of a search's `expand` goes on each issue: names and schema go once, on top."""
    return ",".join(e for e in expand.split(",") if e.strip() not in ("names", "schema"))


def _encode_token(offset: int, jql: str) -> str:
    digest = hashlib.sha1(jql.encode()).hexdigest()[:10]
    return base64.urlsafe_b64encode(f"{offset}:{digest}".encode()).decode()


def _decode_token(token: Any, jql: str) -> int | None:
    try:
        offset, digest = base64.urlsafe_b64decode(str(token).encode()).decode().split(":")
        if digest != hashlib.sha1(jql.encode()).hexdigest()[:10]:
            return None
        return int(offset)
    except (ValueError, UnicodeDecodeError):
        return None
