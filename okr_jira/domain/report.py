"""A cycle's computed tree as the pages, the CLI and the API show it, and its review."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property

from okr_jira.domain import pace
from okr_jira.domain.checkins import CheckIn
from okr_jira.domain.models import (
    Cycle,
    Objective,
    ObjectiveNode,
    PaceStatus,
    PaceThresholds,
    Team,
)
from okr_jira.domain.rollup import iter_nodes


@dataclass(frozen=True)
class CycleReport:
    cycle: Cycle
    on: dt.date
    generated_at: dt.datetime
    nodes: list[ObjectiveNode]
    teams: dict[str, Team]
    thresholds: PaceThresholds
    historical: bool = False
    objectives: dict[str, Objective] = field(default_factory=dict)
    # objective key -> its check-ins known on `on` (on it and on its KRs), oldest first
    checkins: dict[str, tuple[CheckIn, ...]] = field(default_factory=dict)

    def status(self, progress: float) -> PaceStatus:
        if self.on < self.cycle.start:
            return "not_started"
        return pace.status_against(progress, self._expected, self.thresholds)

    @cached_property
    def _expected(self) -> float:
        return pace.expected_progress(self.cycle, self.on)

    def all_nodes(self) -> list[ObjectiveNode]:
        return list(iter_nodes(self.nodes))


@dataclass(frozen=True)
class KrReview:
    """One KR at the end of its cycle: final score and pace, weekly pace, scope changes."""

    key: str
    title: str
    objective: str
    final_progress: float
    final_status: PaceStatus
    weekly: tuple[tuple[dt.date, float, str], ...]
    joined: tuple[tuple[dt.date, str, bool], ...]  # (when, issue, done then)
    left: tuple[tuple[dt.date, str, bool | None], ...]


@dataclass(frozen=True)
class ObjectiveMonth:
    """One objective over one month: progress then (the month's start) and now (its end, or
    today), pace now, the confidence the team checked in, and the month's check-in notes."""

    key: str
    title: str
    team: str
    progress_then: float | None  # None: nothing recorded before the month
    progress_now: float | None
    status_now: PaceStatus | None
    confidence: tuple[int, ...]
    notes: tuple[tuple[dt.date, str, str], ...]  # (day, objective or KR key, what was said)


@dataclass(frozen=True)
class MonthReview:
    month: dt.date  # its first day
    start: dt.date  # the month within the cycle, up to today
    end: dt.date
    objectives: tuple[ObjectiveMonth, ...]


@dataclass(frozen=True)
class Retrospective:
    """An objective at the end of its cycle, with the team's retrospective notes."""

    key: str
    title: str
    team: str
    final_progress: float
    notes: tuple[str, ...]
