"""check-config, Jira: set up, reachable, accepts the credentials, is the configured flavor, has
the fields the OKRs need (story points, Epic Link on Data Center, fields named by field_sum KRs),
and lets the account browse every project the OKRs map."""

from __future__ import annotations

from okr_jira.adapters.jira import JiraAdapter, JiraError
from okr_jira.domain.models import OkrSet
from okr_jira.domain.selectors import mapped_projects
from okr_jira.errors import ConfigError
from okr_jira.runtime.checkconfig.result import Check, Outcome
from okr_jira.runtime.wiring import check_policy, make_jira
from okr_jira.settings import Settings


def _link_permission(jira: JiraAdapter) -> Check:
    """Remote links need the Link issues permission (with Browse projects, checked below)."""
    name = "jira remote links"
    try:
        data = jira.call("GET", "rest/api/2/mypermissions", params={"permissions": "LINK_ISSUES"})
    except JiraError as exc:
        return Check(name, "warn", f"could not ask Jira for the Link issues permission: {exc}")
    granted = (((data or {}).get("permissions") or {}).get("LINK_ISSUES") or {}).get(
        "havePermission"
    )
    if granted:
        return Check(name, "ok", "the account may link issues (OKR_JIRA_JIRA_REMOTE_LINKS=true)")
    detail = (
        "OKR_JIRA_JIRA_REMOTE_LINKS=true but the account lacks Link issues: grant it in the "
        "projects' permission scheme, or set OKR_JIRA_JIRA_REMOTE_LINKS=false"
    )
    return Check(name, "fail", detail)


def check_jira(
    settings: Settings, okrs: OkrSet | None, jira: JiraAdapter | None, out: list[Check]
) -> JiraAdapter | None:
    """The Jira checks; the adapter when Jira is reachable, accepts the credentials and is the
    configured flavor (the checks of what syncing needs then follow), else None."""
    if jira is None:
        try:
            jira = make_jira(settings, policy=check_policy(settings))
        except ConfigError as exc:
            out.append(Check("jira settings", "fail", str(exc)))
            return None
    url = jira.url
    try:
        info = jira.server_info()
    except JiraError as exc:
        if exc.status is None:
            detail = (
                f"no answer from {url} ({exc.message}): check OKR_JIRA_JIRA_URL and that Jira "
                "is up and reachable from here"
            )
            out.append(Check("jira reachable", "fail", detail))
            return None
        if exc.status not in (401, 403):
            detail = f"{url} answered HTTP {exc.status}: is OKR_JIRA_JIRA_URL Jira's base URL?"
            out.append(Check("jira reachable", "fail", detail))
            return None
        info = {}
    out.append(Check("jira reachable", "ok", url))
    try:
        me = jira.myself()
    except JiraError as exc:
        if exc.status in (401, 403):
            who = (
                "OKR_JIRA_JIRA_USER and OKR_JIRA_JIRA_TOKEN"
                if settings.jira_user
                else ("OKR_JIRA_JIRA_TOKEN")
            )
            detail = (
                f"Jira refused them (HTTP {exc.status}): check {who} (Cloud: the account "
                "e-mail and an API token; Data Center: a personal access token, no user)"
            )
            out.append(Check("jira credentials", "fail", detail))
        else:
            out.append(Check("jira credentials", "fail", str(exc)))
        return None
    name = me.get("displayName") or me.get("name") or me.get("accountId") or "?"
    out.append(Check("jira credentials", "ok", f"logged in as {name}"))
    if settings.time_zone:
        out.append(Check("time zone", "ok", f"{settings.time_zone} (OKR_JIRA_TIME_ZONE)"))
    else:
        zone = me.get("timeZone") or "UTC"
        detail = f"{zone}, the Jira account's (set OKR_JIRA_TIME_ZONE to choose another)"
        out.append(Check("time zone", "ok", detail))
    if settings.jira_remote_links:
        out.append(_link_permission(jira))
    detected = (
        "cloud" if (info or jira.server_info()).get("deploymentType") == "Cloud" else ("datacenter")
    )
    if settings.jira_flavor not in ("auto", detected):
        out.append(
            Check(
                "jira flavor",
                "fail",
                f"OKR_JIRA_JIRA_FLAVOR is {settings.jira_flavor} but {url} is {detected}: "
                f"set it to {detected} or auto",
            )
        )
        return None
    out.append(Check("jira flavor", "ok", detected))
    try:
        fmap = jira.fields()
    except JiraError as exc:
        out.append(Check("jira fields", "fail", str(exc)))
        return None
    okrs = okrs or OkrSet()
    krs = [kr for o in okrs.objectives for kr in o.key_results]
    needs_points = any(kr.weight_by == "story_points" for kr in krs if kr.kind == "issues")
    if fmap.story_points:
        out.append(Check("story points field", "ok", ", ".join(fmap.story_points)))
    else:
        outcome: Outcome = "fail" if needs_points else "warn"
        detail = "Jira has no story points field: weight_by: story_points needs one"
        out.append(Check("story points field", outcome, detail))
    uses_epics = any(kr.source is not None and kr.source.epics for kr in krs)
    if detected == "datacenter":
        if fmap.epic_link:
            out.append(Check("epic link field", "ok", fmap.epic_link))
        else:
            outcome = "fail" if uses_epics else "warn"
            out.append(Check("epic link field", outcome, "Jira has no Epic Link field"))
    for kr in krs:
        if kr.kind == "field_sum" and kr.field:
            fid = fmap.resolve(kr.field)
            if fid is None:
                detail = (
                    f"KR {kr.key}: Jira has no field named '{kr.field}': fix `field` in the "
                    "OKR file (the name as Jira shows it, or its id)"
                )
                out.append(Check("field_sum field", "fail", detail))
            else:
                out.append(Check("field_sum field", "ok", f"KR {kr.key}: '{kr.field}' is {fid}"))
    for project in mapped_projects(okrs):
        try:
            ok = jira.can_browse_project(project)
        except JiraError as exc:
            out.append(Check(f"project {project}", "fail", str(exc)))
            continue
        if ok:
            out.append(Check(f"project {project}", "ok", "browsable"))
        else:
            detail = (
                "does not exist, or these credentials may not browse it: fix the key in the "
                "OKR file, or give the account Browse projects there"
            )
            out.append(Check(f"project {project}", "fail", detail))
    return jira
