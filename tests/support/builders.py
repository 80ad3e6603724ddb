"""Keyword-default builders for domain objects: pass only what a test is about.

    from tests.support.builders import make_issue, make_kr, make_objective

make_issue(key="SUP-3", status_category="done", story_points=5)
make_kr(kind="issue_count", start=40, target=5)
make_objective(key="CX-1", key_results=(make_kr(),), parent="CO-1")
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

from okr_jira.domain.health import GuardrailThresholds
from okr_jira.domain.models import (
    Cycle,
    IssueSnapshot,
    KeyResult,
    KrProgress,
    Objective,
    PaceThresholds,
    Source,
    StatusCategory,
    Team,
)

_STATUS_NAMES: dict[StatusCategory, str] = {
    "new": "To Do",
    "indeterminate": "In Progress",
    "done": "Done",
}


def make_cycle(**overrides: Any) -> Cycle:
    """The example file's quarter: 2026-10-01..2026-12-31 (92 days)."""
    cycle = Cycle(key="2026-Q4", name="Q4 2026", start=date(2026, 10, 1), end=date(2026, 12, 31))
    return replace(cycle, **overrides)


def make_team(**overrides: Any) -> Team:
    team = Team(key="support", name="Support", parent="cx", jira_projects=("SUP",))
    return replace(team, **overrides)


def make_source(**overrides: Any) -> Source:
    """A Source with the given selectors; lists are accepted and turned into tuples."""
    return Source(**{name: _tuple(value) for name, value in overrides.items()})


def make_issue(key: str = "SUP-1", **overrides: Any) -> IssueSnapshot:
    """A live To Do Story; the project defaults to the key's prefix, the status to its category."""
    category: StatusCategory = overrides.get("status_category", "new")
    fields: dict[str, Any] = {
        "project": key.rsplit("-", 1)[0],
        "issue_type": "Story",
        "status": _STATUS_NAMES[category],
        "status_category": category,
        "summary": f"Issue {key}",
    }
    fields.update({name: _tuple(value) for name, value in overrides.items()})
    return IssueSnapshot(key=key, **fields)


def make_kr(key: str = "SUP-1.1", **overrides: Any) -> KeyResult:
    """An ``issues`` KR weighted by count; metric kinds need ``start``/``target`` given."""
    fields: dict[str, Any] = {"title": f"Key result {key}", "kind": "issues"}
    fields.update(overrides)
    if isinstance(fields.get("source"), dict):
        fields["source"] = make_source(**fields["source"])
    return KeyResult(key=key, **fields)


def make_objective(key: str = "SUP-1", **overrides: Any) -> Objective:
    fields: dict[str, Any] = {"cycle": "2026-Q4", "team": "support", "title": f"Objective {key}"}
    fields.update({name: _tuple(value) for name, value in overrides.items()})
    return Objective(key=key, **fields)


def make_progress(key: str = "SUP-1.1", progress: float = 0.0, **overrides: Any) -> KrProgress:
    return KrProgress(key=key, progress=progress, **overrides)


def _tuple(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


# The settings' default pace thresholds, for tests that build reports and pages by hand.
THRESHOLDS = PaceThresholds(on_track=0.10, at_risk=0.25)
# The settings' default guardrail thresholds (OKR_JIRA_HEALTH_*).
GUARDRAILS = GuardrailThresholds(scope_change=0.25, jump=0.3, stale_checkin_days=14)
