"""Jira JSON -> domain values, in exactly one place (the sync and the webhook receiver share it).

Field ids differ per site: story points, Epic Link and sprint are custom fields found by schema
and name in `/field`. Status is read by its category (new / indeterminate / done), never by name.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from okr_jira.domain.models import IssueSnapshot

STORY_POINTS_SCHEMA = "com.pyxis.greenhopper.jira:jsw-story-points"
STORY_POINTS_NAMES = ("story point estimate", "story points")
EPIC_LINK_SCHEMA = "com.pyxis.greenhopper.jira:gh-epic-link"
SPRINT_SCHEMA = "com.pyxis.greenhopper.jira:gh-sprint"
BASE_FIELDS = (
    "summary", "status", "issuetype", "project", "priority", "labels", "components",
    "fixVersions", "parent", "created", "updated", "resolutiondate", "timeoriginalestimate",
    "statuscategorychangedate",  # Cloud only; Data Center ignores a field it does not have
)  # fmt: skip
_CATEGORIES = {"new", "indeterminate", "done"}


def epic_clause(flavor: str | None) -> str:
    """The JQL field naming an issue's epic: `parent` on Cloud, Epic Link on Data Center."""
    return "Epic Link" if flavor == "datacenter" else "parent"


@dataclass(frozen=True)
class FieldMap:
    """The site's field ids for what okr-jira reads."""

    story_points: tuple[str, ...] = ()
    epic_link: str | None = None
    sprint: str | None = None
    by_name: Mapping[str, str] = field(default_factory=dict)  # casefolded name -> id
    numeric: frozenset[str] = frozenset()

    def resolve(self, name_or_id: str) -> str | None:
        """A field id from a name as users see it, or an id; None when the site has none."""
        if name_or_id in self.by_name.values():
            return name_or_id
        name = name_or_id.strip().casefold()
        if name in STORY_POINTS_NAMES and self.story_points:
            # "Story Points" (Data Center, company-managed) and "Story point estimate" (Cloud
            # team-managed) name the same idea; admins should not need to know which one a site has.
            return self.story_points[0]
        return self.by_name.get(name)

    def request_fields(self, extra: Iterable[str] = ()) -> list[str]:
        ids = [*BASE_FIELDS, *self.story_points]
        if self.epic_link:
            ids.append(self.epic_link)
        ids.extend(e for e in extra if e not in ids)
        return ids


def field_map_to_json(fm: FieldMap) -> dict[str, Any]:
    return {
        "story_points": list(fm.story_points),
        "epic_link": fm.epic_link,
        "sprint": fm.sprint,
        "by_name": dict(fm.by_name),
        "numeric": sorted(fm.numeric),
    }


def field_map_from_json(data: Mapping[str, Any]) -> FieldMap:
    return FieldMap(
        story_points=tuple(data.get("story_points") or ()),
        epic_link=data.get("epic_link"),
        sprint=data.get("sprint"),
        by_name=dict(data.get("by_name") or {}),
        numeric=frozenset(data.get("numeric") or ()),
    )


def field_map(fields: Iterable[Mapping[str, Any]]) -> FieldMap:
    """Build a FieldMap from the `/rest/api/2/field` response."""
    points: list[str] = []
    epic = sprint = None
    by_name: dict[str, str] = {}
    numeric: set[str] = set()
    for f in fields:
        fid, name = str(f.get("id", "")), str(f.get("name", ""))
        schema = f.get("schema") or {}
        custom = schema.get("custom", "")
        by_name.setdefault(name.casefold(), fid)
        if schema.get("type") == "number":
            numeric.add(fid)
        if custom == STORY_POINTS_SCHEMA or name.casefold() in STORY_POINTS_NAMES:
            points.append(fid)
        if custom == EPIC_LINK_SCHEMA or (epic is None and name == "Epic Link"):
            epic = fid
        if custom == SPRINT_SCHEMA:
            sprint = fid
    return FieldMap(
        story_points=tuple(dict.fromkeys(points)),
        epic_link=epic,
        sprint=sprint,
        by_name=by_name,
        numeric=frozenset(numeric),
    )


def parse_time(value: Any) -> dt.datetime | None:
    """Jira's timestamps ("2026-10-05T14:03:12.000+0000") as aware UTC datetimes."""
    if not value or not isinstance(value, str):
        return None
    text = value.strip()
    if len(text) >= 5 and text[-5] in "+-" and text[-4:].isdigit():
        text = text[:-2] + ":" + text[-2:]
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _names(values: Any, attr: str = "name") -> tuple[str, ...]:
    if not isinstance(values, list):
        return ()
    return tuple(str(v[attr]) for v in values if isinstance(v, dict) and v.get(attr) is not None)


def parse_issue(
    raw: Mapping[str, Any], fields_map: FieldMap, numbers: Mapping[str, str] = {}
) -> IssueSnapshot:
    """An issue (search result, GET issue, or webhook `issue`) as an IssueSnapshot.

    `numbers` maps the names KRs use for field_sum (e.g. "Hours Saved") to field ids; their values
    are stored under the KR's name so progress needs no field map.
    """
    f: Mapping[str, Any] = raw.get("fields") or {}
    status = f.get("status") or {}
    category = str((status.get("statusCategory") or {}).get("key") or "new")
    project = f.get("project") or {}
    key = str(raw.get("key", ""))
    parent = f.get("parent") or {}
    epic: str | None = None
    if fields_map.epic_link and isinstance(f.get(fields_map.epic_link), str):
        epic = f[fields_map.epic_link]
    elif parent:
        ptype = (parent.get("fields") or {}).get("issuetype") or {}
        # Cloud: an epic is the parent one level up; a sub-task's parent is a story, not an epic.
        if ptype.get("hierarchyLevel") == 1 or ptype.get("name") == "Epic" or not ptype:
            epic = parent.get("key")
    points = None
    for fid in fields_map.story_points:
        points = _number(f.get(fid))
        if points is not None:
            break
    values: dict[str, float] = {}
    for name, fid in numbers.items():
        number = points if fid in fields_map.story_points else _number(f.get(fid))
        if number is not None:
            values[name] = number
    return IssueSnapshot(
        key=key,
        project=str(project.get("key") or key.rsplit("-", 1)[0]).upper(),
        issue_type=str((f.get("issuetype") or {}).get("name") or ""),
        status=str(status.get("name") or ""),
        status_category=category if category in _CATEGORIES else "new",  # type: ignore[arg-type]
        summary=str(f.get("summary") or ""),
        priority=(f.get("priority") or {}).get("name"),
        labels=tuple(str(label) for label in f.get("labels") or ()),
        components=_names(f.get("components")),
        fix_versions=_names(f.get("fixVersions")),
        epic=epic.upper() if epic else None,
        parent=str(parent["key"]).upper() if parent.get("key") else None,
        story_points=points,
        estimate_seconds=_number(f.get("timeoriginalestimate")),
        numbers=tuple(sorted(values.items())),
        created=parse_time(f.get("created")),
        updated=parse_time(f.get("updated")),
        resolved=parse_time(f.get("resolutiondate")),
        status_changed=parse_time(f.get("statuscategorychangedate")),
    )
