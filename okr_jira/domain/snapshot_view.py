"""The JQL evaluator's view of a stored IssueSnapshot (what `JqlQuery.matches` reads)."""

from __future__ import annotations

from collections.abc import Sequence

from okr_jira.domain.models import IssueSnapshot


class SnapshotView:
    """Answer jql_values() from a snapshot; fields a snapshot lacks read as empty."""

    __slots__ = ("snapshot",)

    def __init__(self, snapshot: IssueSnapshot) -> None:
        self.snapshot = snapshot

    def jql_values(self, field: str) -> Sequence[object]:
        s = self.snapshot
        single: object | None
        match field:
            case "project":
                single = s.project
            case "key":
                single = s.key
            case "issuetype":
                single = s.issue_type
            case "status":
                single = s.status
            case "statusCategory":
                single = s.status_category
            case "priority":
                single = s.priority
            case "labels":
                return s.labels
            case "component":
                return s.components
            case "fixVersion":
                return s.fix_versions
            case "parent":
                single = s.parent
            case "Epic Link":
                single = s.epic
            case "created":
                single = s.created
            case "updated":
                single = s.updated
            case "resolved":
                single = s.resolved
            case "summary" | "text":
                single = s.summary or None
            case _:
                single = None
        return () if single is None else (single,)
