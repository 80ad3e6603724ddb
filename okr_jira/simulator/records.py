"""Compact per-issue records and the reference data (projects, users) they point at."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from okr_jira.simulator.catalog import STATUSES, Flavor


@dataclass(frozen=True, slots=True)
class User:
    account_id: str  # Cloud identity
    name: str  # Data Center username
    key: str  # Data Center user key
    display_name: str
    email: str

    def identities(self) -> tuple[str, ...]:
        return (self.account_id, self.name, self.display_name, self.email)


@dataclass(slots=True)
class Project:
    id: int
    key: str
    name: str
    components: dict[str, int]  # name -> id
    versions: dict[str, int]  # name -> id
    next_number: int = 1


@dataclass(slots=True)
class IssueRecord:
    """One issue, kept small: JSON is built per request from these fields."""

    id: int
    key: str
    project: str
    issue_type: str
    status: str
    summary: str
    created: datetime
    updated: datetime
    priority: str = "Medium"
    labels: tuple[str, ...] = ()
    components: tuple[str, ...] = ()
    fix_versions: tuple[str, ...] = ()
    parent: str | None = None  # a sub-task's parent issue
    epic: str | None = None  # the epic of a standard issue
    story_points: float | None = None
    estimate_seconds: int | None = None
    hours_saved: float | None = None
    assignee: str | None = None  # User.name
    reporter: str = ""
    resolved: datetime | None = None
    status_changed: datetime | None = None
    description: str = ""
    old_keys: tuple[str, ...] = ()

    @property
    def status_category(self) -> str:
        return STATUSES[self.status].category


class IssueView:
    """JqlIssue over a record, with the flavor's meaning of `parent`."""

    __slots__ = ("flavor", "projects", "rec", "users")

    def __init__(
        self,
        rec: IssueRecord,
        flavor: Flavor,
        projects: dict[str, Project],
        users: dict[str, User],
    ) -> None:
        self.rec = rec
        self.flavor = flavor
        self.projects = projects
        self.users = users

    def jql_values(self, field: str) -> Sequence[object]:
        r = self.rec
        single: object | None = None
        match field:
            case "project":
                return (r.project, self.projects[r.project].name, str(self.projects[r.project].id))
            case "key":
                return (r.key, str(r.id), *r.old_keys)
            case "issuetype":
                single = r.issue_type
            case "status":
                single = r.status
            case "statusCategory":
                single = r.status_category
            case "priority":
                single = r.priority
            case "labels":
                return r.labels
            case "component":
                return r.components
            case "fixVersion":
                return r.fix_versions
            case "parent":
                # Cloud: an epic is its children's parent. Data Center: only sub-tasks have one.
                single = r.parent or (r.epic if self.flavor == "cloud" else None)
            case "Epic Link":
                single = r.epic
            case "assignee" | "reporter":
                user = self.users.get((r.assignee if field == "assignee" else r.reporter) or "")
                return user.identities() if user else ()
            case "created":
                single = r.created
            case "updated":
                single = r.updated
            case "resolved":
                single = r.resolved
            case "summary":
                single = r.summary
            case "description":
                single = r.description or None
            case "text":
                return (r.summary, r.description)
        return () if single is None else (single,)
