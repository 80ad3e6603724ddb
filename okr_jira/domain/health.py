"""The health of a cycle's OKRs: guardrail signals, their inputs, and the calibration report.

Plain data (the rules are in `guardrails.py`). A signal names a team, and an objective and key
result when it is about one, never a person: okr-jira keeps no assignee. The only name a signal
carries is the admin who changed a target, from the audit log.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

from okr_jira.domain.models import Cycle, KeyResult, Objective, Team

SignalKind = Literal[
    "scope_change", "backfilled", "target_lowered", "overlap", "jump", "stale_checkin",
    "sandbagging",
]  # fmt: skip
SIGNAL_KINDS: tuple[SignalKind, ...] = (
    "scope_change", "backfilled", "target_lowered", "overlap", "jump", "stale_checkin",
    "sandbagging",
)  # fmt: skip
Severity = Literal["info", "warning"]
# A pattern to discuss at calibration is information; the rest asks someone to look.
SEVERITY: dict[str, Severity] = {kind: "warning" for kind in SIGNAL_KINDS}
SEVERITY["sandbagging"] = "info"
# Score bands of the calibration report: failed, under way, close, and all done (a team always
# at 1.0 is a team whose targets are too easy).
BANDS: tuple[str, ...] = ("0.0-0.3", "0.3-0.7", "0.7-0.99", "1.0")


@dataclass(frozen=True, slots=True)
class GuardrailThresholds:
    """When a signal is raised. No defaults here: the configured values come from the wiring
    (OKR_JIRA_HEALTH_SCOPE_CHANGE, _JUMP, _STALE_CHECKIN_DAYS)."""

    scope_change: float  # share of the baseline's total weight
    jump: float  # progress moved between two consecutive records
    stale_checkin_days: int


@dataclass(frozen=True, slots=True)
class Signal:
    kind: SignalKind
    severity: Severity
    team: str | None
    objective: str | None
    key_result: str | None
    issues: tuple[str, ...]
    detail: str
    since: dt.datetime | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "severity": self.severity,
            "team": self.team,
            "objective": self.objective,
            "key_result": self.key_result,
            "issues": list(self.issues),
            "detail": self.detail,
            "since": self.since.isoformat() if self.since else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Signal:
        since = data.get("since")
        return cls(
            kind=data["kind"],
            severity=data["severity"],
            team=data.get("team"),
            objective=data.get("objective"),
            key_result=data.get("key_result"),
            issues=tuple(data.get("issues") or ()),
            detail=data.get("detail") or "",
            since=dt.datetime.fromisoformat(since) if since else None,
        )


def make_signal(
    kind: SignalKind,
    owner: tuple[Objective, KeyResult] | None,
    detail: str,
    since: dt.datetime | None,
    issues: Sequence[str] = (),
    team: str | None = None,
) -> Signal:
    """A signal about a key result (`owner`: its objective and itself) or about a `team`."""
    objective, kr = owner if owner else (None, None)
    return Signal(
        kind=kind,
        severity=SEVERITY[kind],
        team=objective.team if objective else team,
        objective=objective.key if objective else None,
        key_result=kr.key if kr else None,
        issues=tuple(issues),
        detail=detail,
        since=since,
    )


# The inputs below come by the hundred thousand: named tuples, which cost a fraction of a
# dataclass to build.


class LinkSpan(NamedTuple):
    """One stay of an issue in a KR's scope (a kr_issue_link row)."""

    issue: str
    joined_at: dt.datetime
    done_when_joined: bool
    left_at: dt.datetime | None = None


class IssueFacts(NamedTuple):
    """What the rules read of a linked issue: its weights (as progress counts them) and when
    Jira says it was resolved."""

    story_points: float | None = None
    estimate_seconds: float | None = None
    resolved: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One audit row of a key result or mapping: who changed what, when, old -> new (text)."""

    at: dt.datetime
    actor: str
    entity: str
    key: str
    action: str
    field: str | None = None
    old: str | None = None
    new: str | None = None


class ProgressPoint(NamedTuple):
    """One recorded progress of a KR (a progress_snapshot row)."""

    at: dt.datetime
    progress: float
    issues_total: int = 0
    issues_done: int = 0


@dataclass(frozen=True, slots=True)
class PastCycle:
    """How a team ended (or stands in) its previous cycle: the progress of each of its KRs."""

    cycle: str
    name: str
    progress: tuple[float, ...]


@dataclass(frozen=True)
class HealthInputs:
    """Everything the rules read about one cycle, as storage holds it."""

    cycle: Cycle
    now: dt.datetime
    objectives: Sequence[Objective]  # the cycle's live objectives
    teams: Mapping[str, Team]
    scope: Mapping[str, Sequence[LinkSpan]]  # KR -> its scope history
    baselines: Mapping[str, dt.datetime]  # KR -> when its mapping's scope became the baseline
    issues: Mapping[str, IssueFacts]  # the linked issues: weights and resolution dates
    audit: Sequence[AuditEntry]  # key result and mapping rows, oldest first
    history: Mapping[str, Sequence[ProgressPoint]]  # KR -> its records in the cycle, oldest first
    checkins: Mapping[str, Sequence[dt.datetime]]  # manual KR -> its check-in times, oldest first
    progress: Mapping[str, float]  # KR -> its progress now
    previous: Mapping[str, PastCycle] = field(default_factory=dict)  # team -> its last cycle


@dataclass(frozen=True, slots=True)
class TeamScores:
    """One team's KR scores in the cycle: how many, their mean, how many in each band."""

    team: str
    name: str
    key_results: int
    mean_score: float
    bands: tuple[int, ...]  # counts per BANDS

    def to_dict(self) -> dict[str, Any]:
        return {
            "team": self.team,
            "name": self.name,
            "key_results": self.key_results,
            "mean_score": self.mean_score,
            "bands": dict(zip(BANDS, self.bands, strict=True)),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TeamScores:
        bands = data.get("bands") or {}
        return cls(
            team=data["team"],
            name=data.get("name") or data["team"],
            key_results=int(data.get("key_results") or 0),
            mean_score=float(data.get("mean_score") or 0.0),
            bands=tuple(int(bands.get(b, 0)) for b in BANDS),
        )


@dataclass(frozen=True, slots=True)
class Overlap:
    """Issues counting toward two KRs of teams in different lines of the org chart."""

    key_results: tuple[str, str]
    teams: tuple[str, str]
    issues: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "key_results": list(self.key_results),
            "teams": list(self.teams),
            "issues": list(self.issues),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Overlap:
        a, b = data["key_results"]
        ta, tb = data["teams"]
        return cls((a, b), (ta, tb), tuple(data.get("issues") or ()))


@dataclass(frozen=True)
class HealthReport:
    """A cycle's signals and its calibration report (score distribution by team, overlaps;
    targets lowered and scope moved are the signals of those kinds)."""

    cycle: str
    computed_at: dt.datetime
    signals: tuple[Signal, ...] = ()
    distribution: tuple[TeamScores, ...] = ()
    overlaps: tuple[Overlap, ...] = ()

    def of_kind(self, kind: SignalKind) -> list[Signal]:
        return [s for s in self.signals if s.kind == kind]

    def for_key_result(self, key: str) -> list[Signal]:
        return [s for s in self.signals if s.key_result == key]

    def for_objective(self, objective: Objective) -> list[Signal]:
        """The objective's own signals and its team's (not those of its key results)."""
        return [
            s
            for s in self.signals
            if s.key_result is None
            and (s.objective == objective.key or (s.objective is None and s.team == objective.team))
        ]

    def on_objective_page(self, objective: Objective) -> list[Signal]:
        """What the objective's page shows: its own, its team's and its key results' signals."""
        krs = {kr.key for kr in objective.key_results}
        return [*self.for_objective(objective), *(s for s in self.signals if s.key_result in krs)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "cycle": self.cycle,
            "computed_at": self.computed_at.isoformat(),
            "signals": [s.to_dict() for s in self.signals],
            "calibration": {
                "distribution": [t.to_dict() for t in self.distribution],
                "overlaps": [o.to_dict() for o in self.overlaps],
            },
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HealthReport:
        calibration = data.get("calibration") or {}
        return cls(
            cycle=data["cycle"],
            computed_at=dt.datetime.fromisoformat(data["computed_at"]),
            signals=tuple(Signal.from_dict(s) for s in data.get("signals") or ()),
            distribution=tuple(
                TeamScores.from_dict(t) for t in calibration.get("distribution") or ()
            ),
            overlaps=tuple(Overlap.from_dict(o) for o in calibration.get("overlaps") or ()),
        )
