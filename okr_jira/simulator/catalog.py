"""Fixed Jira metadata the simulator serves: statuses, issue types, priorities, fields."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Flavor = Literal["cloud", "datacenter"]


@dataclass(frozen=True, slots=True)
class Status:
    id: str
    name: str
    category: str  # new | indeterminate | done


@dataclass(frozen=True, slots=True)
class IssueType:
    id: str
    name: str
    subtask: bool = False
    hierarchy_level: int = 0
    description: str = ""


STATUS_CATEGORIES = {
    "undefined": (1, "No Category", "medium-gray"),
    "new": (2, "To Do", "blue-gray"),
    "indeterminate": (4, "In Progress", "yellow"),
    "done": (3, "Done", "green"),
}
STATUSES = {
    s.name: s
    for s in (
        Status("10000", "To Do", "new"),
        Status("3", "In Progress", "indeterminate"),
        Status("10001", "In Review", "indeterminate"),
        Status("10002", "Done", "done"),
    )
}
ISSUE_TYPES = {
    t.name: t
    for t in (
        IssueType("10000", "Epic", hierarchy_level=1, description="A big user story."),
        IssueType("10001", "Story", description="Functionality or a feature."),
        IssueType("10002", "Task", description="A small, distinct piece of work."),
        IssueType("10003", "Bug", description="A problem or error."),
        IssueType("10004", "Sub-task", subtask=True, hierarchy_level=-1),
        IssueType("10005", "Incident", description="A service interruption."),
    )
}
PRIORITIES = {
    "Highest": ("1", "highest"),
    "High": ("2", "high"),
    "Medium": ("3", "medium"),
    "Low": ("4", "low"),
    "Lowest": ("5", "lowest"),
}
RESOLUTION_DONE = {"id": "10000", "name": "Done", "description": "Work on this issue is done."}


@dataclass(frozen=True, slots=True)
class CustomFields:
    """Per-flavor custom field ids: the ids differ between Cloud and Data Center sites."""

    story_points: str
    story_points_name: str
    story_points_schema: str
    epic_link: str
    epic_name: str | None
    sprint: str
    rank: str
    hours_saved: str
    team: str
    customer_tier: str


CLOUD_FIELDS = CustomFields(
    story_points="customfield_10016",
    story_points_name="Story point estimate",
    story_points_schema="com.pyxis.greenhopper.jira:jsw-story-points",
    epic_link="customfield_10014",  # deprecated on Cloud: listed, never filled
    epic_name=None,
    sprint="customfield_10020",
    rank="customfield_10019",
    hours_saved="customfield_10050",
    team="customfield_10001",
    customer_tier="customfield_10060",
)
DATACENTER_FIELDS = CustomFields(
    story_points="customfield_10002",
    story_points_name="Story Points",
    story_points_schema="com.atlassian.jira.plugin.system.customfieldtypes:float",
    epic_link="customfield_10006",
    epic_name="customfield_10005",
    sprint="customfield_10004",
    rank="customfield_10007",
    hours_saved="customfield_10300",
    team="customfield_10400",
    customer_tier="customfield_10401",
)


def custom_fields(flavor: Flavor) -> CustomFields:
    return CLOUD_FIELDS if flavor == "cloud" else DATACENTER_FIELDS


_FLOAT = "com.atlassian.jira.plugin.system.customfieldtypes:float"
_SELECT = "com.atlassian.jira.plugin.system.customfieldtypes:select"

# id, name, schema, clause names, navigable (system fields)
_SYSTEM_FIELDS: tuple[tuple[str, str, dict[str, str], tuple[str, ...], bool], ...] = (
    ("summary", "Summary", {"type": "string", "system": "summary"}, ("summary",), True),
    (
        "issuetype",
        "Issue Type",
        {"type": "issuetype", "system": "issuetype"},
        ("issuetype", "type"),
        True,
    ),
    ("project", "Project", {"type": "project", "system": "project"}, ("project",), True),
    ("status", "Status", {"type": "status", "system": "status"}, ("status",), True),
    ("priority", "Priority", {"type": "priority", "system": "priority"}, ("priority",), True),
    (
        "labels",
        "Labels",
        {"type": "array", "items": "string", "system": "labels"},
        ("labels",),
        True,
    ),
    (
        "components",
        "Components",
        {"type": "array", "items": "component", "system": "components"},
        ("component",),
        True,
    ),
    (
        "fixVersions",
        "Fix versions",
        {"type": "array", "items": "version", "system": "fixVersions"},
        ("fixVersion",),
        True,
    ),
    (
        "versions",
        "Affects versions",
        {"type": "array", "items": "version", "system": "versions"},
        ("affectedVersion",),
        True,
    ),
    ("assignee", "Assignee", {"type": "user", "system": "assignee"}, ("assignee",), True),
    ("reporter", "Reporter", {"type": "user", "system": "reporter"}, ("reporter",), True),
    ("creator", "Creator", {"type": "user", "system": "creator"}, ("creator",), True),
    (
        "created",
        "Created",
        {"type": "datetime", "system": "created"},
        ("created", "createdDate"),
        True,
    ),
    (
        "updated",
        "Updated",
        {"type": "datetime", "system": "updated"},
        ("updated", "updatedDate"),
        True,
    ),
    (
        "resolutiondate",
        "Resolved",
        {"type": "datetime", "system": "resolutiondate"},
        ("resolutiondate", "resolved"),
        True,
    ),
    (
        "resolution",
        "Resolution",
        {"type": "resolution", "system": "resolution"},
        ("resolution",),
        True,
    ),
    (
        "description",
        "Description",
        {"type": "string", "system": "description"},
        ("description",),
        True,
    ),
    (
        "timeoriginalestimate",
        "Original estimate",
        {"type": "number", "system": "timeoriginalestimate"},
        ("originalEstimate", "timeoriginalestimate"),
        True,
    ),
    (
        "timeestimate",
        "Remaining Estimate",
        {"type": "number", "system": "timeestimate"},
        ("remainingEstimate", "timeestimate"),
        True,
    ),
    ("timespent", "Time Spent", {"type": "number", "system": "timespent"}, ("timespent",), True),
    ("duedate", "Due date", {"type": "date", "system": "duedate"}, ("due", "duedate"), True),
    ("parent", "Parent", {"type": "issuelink", "system": "parent"}, ("parent",), True),
    (
        "subtasks",
        "Sub-tasks",
        {"type": "array", "items": "issuelinks", "system": "subtasks"},
        ("subtasks",),
        True,
    ),
    (
        "issuelinks",
        "Linked Issues",
        {"type": "array", "items": "issuelinks", "system": "issuelinks"},
        ("issueLink",),
        True,
    ),
    (
        "statuscategorychangedate",
        "Status Category Changed",
        {"type": "datetime", "system": "statuscategorychangedate"},
        ("statusCategoryChangedDate",),
        True,
    ),
    ("watches", "Watchers", {"type": "watches", "system": "watches"}, ("watchers",), True),
    ("comment", "Comment", {"type": "comments-page", "system": "comment"}, ("comment",), False),
    ("worklog", "Log Work", {"type": "array", "items": "worklog", "system": "worklog"}, (), False),
    (
        "attachment",
        "Attachment",
        {"type": "array", "items": "attachment", "system": "attachment"},
        ("attachments",),
        True,
    ),
)


def field_list(flavor: Flavor) -> list[dict[str, object]]:
    """The /field answer: system fields, the Agile custom fields and some noise."""
    cf = custom_fields(flavor)
    result: list[dict[str, object]] = []
    for fid, name, schema, clauses, navigable in _SYSTEM_FIELDS:
        if fid == "statuscategorychangedate" and flavor != "cloud":
            continue
        entry: dict[str, object] = {
            "id": fid,
            "name": name,
            "custom": False,
            "orderable": fid not in ("created", "updated", "resolutiondate", "subtasks", "watches"),
            "navigable": navigable,
            "searchable": bool(clauses),
            "clauseNames": list(clauses),
            "schema": schema,
        }
        if flavor == "cloud":
            entry["key"] = fid
        result.append(entry)
    customs: list[tuple[str, str, str, str]] = [
        (cf.story_points, cf.story_points_name, "number", cf.story_points_schema),
        (cf.epic_link, "Epic Link", "any", "com.pyxis.greenhopper.jira:gh-epic-link"),
        (cf.sprint, "Sprint", "array", "com.pyxis.greenhopper.jira:gh-sprint"),
        (cf.rank, "Rank", "any", "com.pyxis.greenhopper.jira:gh-lexo-rank"),
        (cf.hours_saved, "Hours Saved", "number", _FLOAT),
        (cf.team, "Team", "string", "com.atlassian.jira.plugin.system.customfieldtypes:textfield"),
        (cf.customer_tier, "Customer Tier", "option", _SELECT),
    ]
    if cf.epic_name:
        customs.append(
            (cf.epic_name, "Epic Name", "string", "com.pyxis.greenhopper.jira:gh-epic-label")
        )
    for fid, name, typ, custom in customs:
        number = int(fid.removeprefix("customfield_"))
        custom_schema: dict[str, object] = {"type": typ, "custom": custom, "customId": number}
        if typ == "array":
            custom_schema["items"] = "json"
        entry = {
            "id": fid,
            "name": name,
            "custom": True,
            "orderable": True,
            "navigable": True,
            "searchable": True,
            "clauseNames": [f"cf[{number}]", name],
            "schema": custom_schema,
        }
        if flavor == "cloud":
            entry["key"] = fid
            entry["untranslatedName"] = name
        result.append(entry)
    return result
