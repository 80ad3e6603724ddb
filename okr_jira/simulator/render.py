"""Jira JSON for the simulator's records, per flavor and API version, built on request."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from okr_jira.simulator.catalog import (
    ISSUE_TYPES,
    PRIORITIES,
    RESOLUTION_DONE,
    STATUS_CATEGORIES,
    STATUSES,
    custom_fields,
)
from okr_jira.simulator.records import IssueRecord, User

if TYPE_CHECKING:
    from okr_jira.simulator.jira import JiraSim

ISSUE_EXPAND = "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations"
NOT_NAVIGABLE = frozenset({"comment", "worklog"})


def jira_time(moment: datetime | None) -> str | None:
    """Jira's timestamp format: 2026-10-05T14:03:12.000+0000."""
    if moment is None:
        return None
    moment = moment.astimezone(UTC) if moment.tzinfo else moment
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def avatar_urls(kind: str, ident: str) -> dict[str, str]:
    base = f"https://avatar.example.invalid/{kind}/{ident}"
    return {size: f"{base}?s={size.split('x')[0]}" for size in ("48x48", "24x24", "16x16", "32x32")}


def user_json(sim: JiraSim, user: User, base: str) -> dict[str, object]:
    if sim.flavor == "cloud":
        return {
            "self": f"{base}/rest/api/2/user?accountId={user.account_id}",
            "accountId": user.account_id,
            "emailAddress": user.email,
            "avatarUrls": avatar_urls("user", user.account_id),
            "displayName": user.display_name,
            "active": True,
            "timeZone": sim.time_zone,
            "accountType": "atlassian",
        }
    return {
        "self": f"{base}/rest/api/2/user?username={user.name}",
        "name": user.name,
        "key": user.key,
        "emailAddress": user.email,
        "avatarUrls": avatar_urls("user", user.name),
        "displayName": user.display_name,
        "active": True,
        "timeZone": sim.time_zone,
    }


def status_category_json(key: str, base: str) -> dict[str, object]:
    cid, name, color = STATUS_CATEGORIES[key]
    return {
        "self": f"{base}/rest/api/2/statuscategory/{cid}",
        "id": cid,
        "key": key,
        "colorName": color,
        "name": name,
    }


def status_json(name: str, base: str) -> dict[str, object]:
    st = STATUSES[name]
    return {
        "self": f"{base}/rest/api/2/status/{st.id}",
        "description": "",
        "iconUrl": f"{base}/images/icons/statuses/generic.png",
        "name": st.name,
        "id": st.id,
        "statusCategory": status_category_json(st.category, base),
    }


def issuetype_json(name: str, base: str) -> dict[str, object]:
    it = ISSUE_TYPES[name]
    return {
        "self": f"{base}/rest/api/2/issuetype/{it.id}",
        "id": it.id,
        "description": it.description,
        "iconUrl": f"{base}/rest/api/2/universal_avatar/view/type/issuetype/avatar/{it.id}",
        "name": it.name,
        "subtask": it.subtask,
        "avatarId": 10300 + int(it.id) % 100,
        "hierarchyLevel": it.hierarchy_level,
    }


def priority_json(name: str, base: str) -> dict[str, object]:
    pid, icon = PRIORITIES[name]
    return {
        "self": f"{base}/rest/api/2/priority/{pid}",
        "iconUrl": f"{base}/images/icons/priorities/{icon}.svg",
        "name": name,
        "id": pid,
    }


def project_json(sim: JiraSim, key: str, base: str) -> dict[str, object]:
    p = sim.projects[key]
    out: dict[str, object] = {
        "self": f"{base}/rest/api/2/project/{p.id}",
        "id": str(p.id),
        "key": p.key,
        "name": p.name,
        "projectTypeKey": "software",
        "avatarUrls": avatar_urls("project", p.key),
    }
    if sim.flavor == "cloud":
        out["simplified"] = False
    return out


def adf(text: str) -> dict[str, object] | None:
    """Atlassian Document Format, as v3 of the Cloud API returns rich text."""
    if not text:
        return None
    paragraphs = [
        {"type": "paragraph", "content": [{"type": "text", "text": line}]}
        for line in text.split("\n")
        if line
    ]
    return {"type": "doc", "version": 1, "content": paragraphs}


def issue_ref(sim: JiraSim, key: str, base: str) -> dict[str, object] | None:
    """The short form Jira nests for parent / sub-task links."""
    rec = sim.issues.get(key)
    if rec is None:
        return None
    return {
        "id": str(rec.id),
        "key": rec.key,
        "self": f"{base}/rest/api/2/issue/{rec.id}",
        "fields": {
            "summary": rec.summary,
            "status": status_json(rec.status, base),
            "priority": priority_json(rec.priority, base),
            "issuetype": issuetype_json(rec.issue_type, base),
        },
    }


def all_fields(sim: JiraSim, rec: IssueRecord, base: str, api_version: str) -> dict[str, object]:
    cf = custom_fields(sim.flavor)
    project = sim.projects[rec.project]
    users = sim.users
    assignee = users.get(rec.assignee or "")
    reporter = users.get(rec.reporter)
    est = rec.estimate_seconds
    fields: dict[str, object] = {
        "summary": rec.summary,
        "issuetype": issuetype_json(rec.issue_type, base),
        "project": project_json(sim, rec.project, base),
        "status": status_json(rec.status, base),
        "priority": priority_json(rec.priority, base),
        "labels": list(rec.labels),
        "components": [
            {
                "self": f"{base}/rest/api/2/component/{project.components[c]}",
                "id": str(project.components[c]),
                "name": c,
            }
            for c in rec.components
        ],
        "fixVersions": [
            {
                "self": f"{base}/rest/api/2/version/{project.versions[v]}",
                "id": str(project.versions[v]),
                "description": "",
                "name": v,
                "archived": False,
                "released": False,
            }
            for v in rec.fix_versions
        ],
        "versions": [],
        "assignee": user_json(sim, assignee, base) if assignee else None,
        "reporter": user_json(sim, reporter, base) if reporter else None,
        "creator": user_json(sim, reporter, base) if reporter else None,
        "created": jira_time(rec.created),
        "updated": jira_time(rec.updated),
        "resolutiondate": jira_time(rec.resolved),
        "resolution": dict(RESOLUTION_DONE, self=f"{base}/rest/api/2/resolution/10000")
        if rec.resolved
        else None,
        "description": (adf(rec.description) if api_version == "3" else rec.description or None),
        "timeoriginalestimate": est,
        "aggregatetimeoriginalestimate": est,
        "timeestimate": 0 if est is not None and rec.resolved else est,
        "timespent": None,
        "duedate": None,
        "environment": None,
        "security": None,
        "lastViewed": None,
        "workratio": -1,
        "issuelinks": [],
        "subtasks": [
            ref for k in sim.children.get(rec.key, ()) if (ref := issue_ref(sim, k, base))
        ],
        "watches": {
            "self": f"{base}/rest/api/2/issue/{rec.key}/watchers",
            "watchCount": 0,
            "isWatching": False,
        },
        "progress": {"progress": 0, "total": 0},
        "aggregateprogress": {"progress": 0, "total": 0},
        "attachment": [],
        "comment": {
            "comments": [],
            "self": f"{base}/rest/api/2/issue/{rec.id}/comment",
            "maxResults": 0,
            "total": 0,
            "startAt": 0,
        },
        "worklog": {"startAt": 0, "maxResults": 20, "total": 0, "worklogs": []},
        cf.story_points: rec.story_points,
        cf.sprint: None,
        cf.rank: f"0|i{rec.id:05x}:",
        cf.hours_saved: rec.hours_saved,
        cf.team: None,
        cf.customer_tier: None,
        cf.epic_link: rec.epic if sim.flavor == "datacenter" else None,
    }
    if cf.epic_name:
        fields[cf.epic_name] = rec.summary if rec.issue_type == "Epic" else None
    if sim.flavor == "cloud":
        fields["statuscategorychangedate"] = jira_time(rec.status_changed or rec.created)
    parent = rec.parent or (rec.epic if sim.flavor == "cloud" else None)
    if parent and (ref := issue_ref(sim, parent, base)):
        fields["parent"] = ref
    return fields


def select_fields(
    requested: Collection[str] | None, *, default: str
) -> tuple[set[str] | None, set[str]]:
    """Parse a `fields` request into (ids to keep or None for every navigable/all, ids to drop).

    Returns (None, drop) for `*all`, ({"*navigable"}, drop) for `*navigable`.
    """
    items = [f.strip() for f in (requested or [default]) if f.strip()]
    keep: set[str] = set()
    drop: set[str] = set()
    for item in items:
        if item.startswith("-"):
            drop.add(item[1:])
        else:
            keep.add(item)
    if "*all" in keep:
        return None, drop
    return keep, drop


def search_expansions(
    sim: JiraSim, requested: Collection[str] | None, *, default: str, expand: str
) -> dict[str, object]:
    """A search answer's top-level `names` and `schema` (asked with `expand`): the display name
    and schema of every field the request selects."""
    wanted = {e.strip() for e in expand.split(",")} & {"names", "schema"}
    if not wanted:
        return {}
    keep, drop = select_fields(requested, default=default)
    navigable = keep is not None and "*navigable" in keep
    chosen = [
        f
        for f in sim.field_list()
        if (fid := str(f["id"])) not in drop
        and (keep is None or fid in keep or (navigable and fid not in NOT_NAVIGABLE))
    ]
    out: dict[str, object] = {}
    if "names" in wanted:
        out["names"] = {str(f["id"]): f["name"] for f in chosen}
    if "schema" in wanted:
        out["schema"] = {str(f["id"]): f["schema"] for f in chosen if f.get("schema")}
    return out


def issue_json(
    sim: JiraSim,
    rec: IssueRecord,
    base: str,
    *,
    requested: Collection[str] | None,
    default: str,
    api_version: str,
    expand: str = "",
) -> dict[str, object]:
    keep, drop = select_fields(requested, default=default)
    fields = all_fields(sim, rec, base, api_version)
    if keep is None:
        chosen = {k: v for k, v in fields.items() if k not in drop}
    else:
        navigable = "*navigable" in keep
        chosen = {
            k: v
            for k, v in fields.items()
            if k not in drop and (k in keep or (navigable and k not in NOT_NAVIGABLE))
        }
    out: dict[str, object] = {
        "expand": ISSUE_EXPAND,
        "id": str(rec.id),
        "self": f"{base}/rest/api/{api_version}/issue/{rec.id}",
        "key": rec.key,
        "fields": chosen,
    }
    if "changelog" in expand.split(","):
        histories = sim.changelogs.get(rec.key, [])
        out["changelog"] = {
            "startAt": 0,
            "maxResults": len(histories),
            "total": len(histories),
            "histories": histories,
        }
    if "names" in expand.split(","):
        names = {str(f["id"]): f["name"] for f in sim.field_list()}
        out["names"] = {k: names.get(k, k) for k in chosen}
    return out
