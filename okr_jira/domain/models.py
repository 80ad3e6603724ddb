"""Frozen value types shared by every layer.

Everything here is plain data: the OKR declaration (cycles, teams, objectives, key results,
sources), the issue snapshots progress is computed from, and the computed results.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

KrKind = Literal["issues", "issue_count", "field_sum", "manual"]
KR_KINDS: tuple[KrKind, ...] = ("issues", "issue_count", "field_sum", "manual")
METRIC_KINDS: frozenset[str] = frozenset({"issue_count", "field_sum", "manual"})
WeightBy = Literal["count", "story_points", "estimate"]
Indicator = Literal["leading", "lagging"]
Rollup = Literal["key_results", "children", "both"]
StatusCategory = Literal["new", "indeterminate", "done"]
Grade = Literal["strong", "moderate", "weak"]
PaceStatus = Literal["not_started", "on_track", "at_risk", "off_track", "done"]

# Selector names of a KR `source`, in the order the docs list them.
SELECTOR_FIELDS: tuple[str, ...] = (
    "jql",
    "projects",
    "epics",
    "issues",
    "labels",
    "components",
    "issue_types",
    "fix_versions",
)


@dataclass(frozen=True, slots=True)
class Cycle:
    key: str
    name: str
    start: date
    end: date


@dataclass(frozen=True, slots=True)
class Notify:
    """Where a team's digests and reminders go. Webhook URLs are secrets: the file names the
    environment variables that hold them, never the URLs."""

    slack_env: str | None = None
    teams_env: str | None = None
    email: tuple[str, ...] = ()

    def configured(self) -> bool:
        return bool(self.slack_env or self.teams_env or self.email)


@dataclass(frozen=True, slots=True)
class Team:
    key: str
    name: str
    parent: str | None = None
    jira_projects: tuple[str, ...] = ()
    notify: Notify = field(default_factory=Notify)


@dataclass(frozen=True, slots=True)
class Source:
    """Which Jira issues a KR counts. Present selectors are ANDed; include/exclude adjust."""

    jql: str | None = None
    projects: tuple[str, ...] = ()
    epics: tuple[str, ...] = ()
    issues: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    components: tuple[str, ...] = ()
    issue_types: tuple[str, ...] = ()
    fix_versions: tuple[str, ...] = ()
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    def has_selector(self) -> bool:
        return any(getattr(self, name) for name in SELECTOR_FIELDS)


@dataclass(frozen=True, slots=True)
class KeyResult:
    key: str
    title: str
    kind: KrKind
    start: float | None = None
    target: float | None = None
    unit: str | None = None
    weight: float = 1.0
    indicator: Indicator | None = None
    # kind == "issues"
    weight_by: WeightBy = "count"
    in_progress_credit: float = 0.0
    default_weight: float = 1.0
    # kind == "field_sum": a field name as Jira's /field lists it, or a custom field id
    field: str | None = None
    done_only: bool = False
    source: Source | None = None
    # The key result of an earlier cycle this one continues (`okr-jira cycle rollover`).
    carried_from: str | None = None


@dataclass(frozen=True, slots=True)
class Objective:
    key: str
    cycle: str
    team: str
    title: str
    key_results: tuple[KeyResult, ...] = ()
    parent: str | None = None
    weight: float = 1.0
    rollup: Rollup = "both"
    description: str | None = None
    # Alignment to an objective of another cycle must be declared, never implied.
    cross_cycle: bool = False
    # The objective of an earlier cycle this one continues (`okr-jira cycle rollover`).
    carried_from: str | None = None


@dataclass(frozen=True, slots=True)
class OkrSet:
    """One whole OKR file: the admin's declaration."""

    cycles: tuple[Cycle, ...] = ()
    teams: tuple[Team, ...] = ()
    objectives: tuple[Objective, ...] = ()


@dataclass(frozen=True, slots=True)
class IssueSnapshot:
    """The fields progress needs of one Jira issue, as last seen."""

    key: str
    project: str
    issue_type: str
    status: str
    status_category: StatusCategory
    summary: str = ""
    priority: str | None = None
    labels: tuple[str, ...] = ()
    components: tuple[str, ...] = ()
    fix_versions: tuple[str, ...] = ()
    epic: str | None = None  # the parent epic: Cloud `parent`, Data Center Epic Link
    parent: str | None = None  # JQL's `parent`: Cloud's parent of any issue, a sub-task's on DC
    story_points: float | None = None
    estimate_seconds: float | None = None  # original estimate
    numbers: tuple[tuple[str, float], ...] = ()  # other numeric fields by id, for field_sum
    created: datetime | None = None
    updated: datetime | None = None
    resolved: datetime | None = None
    # When the status category last changed (Cloud's `statuscategorychangedate`; Data Center has
    # no such field): when a done issue without a resolution was done, or an issue started.
    status_changed: datetime | None = None
    deleted: bool = False

    def number(self, field_id: str) -> float | None:
        for name, value in self.numbers:
            if name == field_id:
                return value
        return None


@dataclass(frozen=True, slots=True)
class KrProgress:
    """A key result's computed state."""

    key: str
    progress: float  # 0..1
    current: float | None = None
    issues_total: int = 0
    issues_done: int = 0
    issues_in_progress: int = 0
    warnings: tuple[str, ...] = ()
    error: str | None = None
    # The KR's scope: its total weight (issues KRs: points, hours or issues), the number of
    # issues counted (issue_count, field_sum); None for manual KRs.
    scope: float | None = None


@dataclass(frozen=True, slots=True)
class PaceThresholds:
    """How far behind the elapsed share of the cycle is still on track, and still at risk.

    No defaults here: the configured values (OKR_JIRA_PACE_ON_TRACK, _AT_RISK) come from the
    wiring, so every page, report and record judges pace alike."""

    on_track: float
    at_risk: float


@dataclass(frozen=True, slots=True)
class ObjectiveNode:
    """An objective with its computed progress, its KRs and its aligned children."""

    objective: Objective
    progress: float
    key_results: tuple[tuple[KeyResult, KrProgress], ...] = ()
    children: tuple[ObjectiveNode, ...] = field(default=())
