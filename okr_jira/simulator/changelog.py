"""The history items Jira writes for a change (a changelog's `items`, in webhooks and in
`expand=changelog`): field names, ids and display strings as each flavor spells them."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from okr_jira.simulator.catalog import ISSUE_TYPES, PRIORITIES, STATUSES, custom_fields
from okr_jira.simulator.records import IssueRecord

if TYPE_CHECKING:
    from okr_jira.simulator.jira import JiraSim

Payload = dict[str, Any]


def item(
    field_name: str,
    from_id: str | None,
    from_string: str | None,
    to_id: str | None,
    to_string: str | None,
    *,
    field_id: str | None = None,
    custom: bool = False,
) -> Payload:
    return {
        "field": field_name,
        "fieldtype": "custom" if custom else "jira",
        "fieldId": field_id or field_name,
        "from": from_id,
        "fromString": from_string,
        "to": to_id,
        "toString": to_string,
    }


def status_items(rec: IssueRecord, old: str, new: str, now: datetime) -> list[Payload]:
    """The resolution items a status change brings (and the dates it moves on `rec`)."""
    items = []
    was_done = STATUSES[old].category == "done"
    is_done = STATUSES[new].category == "done"
    if STATUSES[old].category != STATUSES[new].category:
        rec.status_changed = now
    if is_done and not was_done:
        rec.resolved = now
        items.append(item("resolution", None, None, "10000", "Done"))
    elif was_done and not is_done:
        rec.resolved = None
        items.append(item("resolution", "10000", "Done", None, None))
    return items


def change_items(sim: JiraSim, rec: IssueRecord, name: str, old: Any, new: Any) -> list[Payload]:
    """The items for one changed field of `rec` (`name` as IssueRecord spells it)."""
    cf = custom_fields(sim.flavor)
    proj = sim.projects[rec.project]

    def key_id(key: str | None) -> str | None:
        other = sim.get(key) if key else None
        return str(other.id) if other else None

    match name:
        case "status":
            return [item("status", STATUSES[old].id, old, STATUSES[new].id, new)]
        case "labels":
            return [item("labels", None, " ".join(old) or None, None, " ".join(new) or None)]
        case "components" | "fix_versions":
            label, fid, ids = (
                ("Component", "components", proj.components)
                if name == "components"
                else ("Fix Version", "fixVersions", proj.versions)
            )
            return [
                item(label, _ids(ids, old), ", ".join(old) or None, _ids(ids, new),
                     ", ".join(new) or None, field_id=fid)
            ]  # fmt: skip
        case "epic" if sim.flavor == "cloud":
            return [
                item("IssueParentAssociation", key_id(old), old, key_id(new), new,
                     field_id="parent")
            ]  # fmt: skip
        case "epic":
            return [
                item("Epic Link", key_id(old), old, key_id(new), new, field_id=cf.epic_link,
                     custom=True)
            ]  # fmt: skip
        case "parent":
            return [item("Parent", key_id(old), old, key_id(new), new, field_id="parent")]
        case "story_points" | "hours_saved":
            label, fid = (
                (cf.story_points_name, cf.story_points)
                if name == "story_points"
                else ("Hours Saved", cf.hours_saved)
            )
            return [item(label, None, _num(old), None, _num(new), field_id=fid, custom=True)]
        case "estimate_seconds":
            return [item("timeoriginalestimate", _num(old), _num(old), _num(new), _num(new))]
        case "priority":
            return [item("priority", PRIORITIES[old][0], old, PRIORITIES[new][0], new)]
        case "issue_type":
            return [item("issuetype", ISSUE_TYPES[old].id, old, ISSUE_TYPES[new].id, new)]
        case "assignee":

            def who(n: str | None) -> tuple[str | None, str | None]:
                u = sim.users.get(n or "")
                if u is None:
                    return None, None
                return (u.account_id if sim.flavor == "cloud" else u.name), u.display_name

            (from_id, from_name), (to_id, to_name) = who(old), who(new)
            return [item("assignee", from_id, from_name, to_id, to_name)]
        case _:
            return [item(name, None, old, None, new)]


def _ids(by_name: dict[str, int], names: tuple[str, ...]) -> str | None:
    return ", ".join(str(by_name[n]) for n in names if n in by_name) or None


def _num(value: float | int | None) -> str | None:
    if value is None:
        return None
    return str(int(value)) if float(value).is_integer() else str(value)
