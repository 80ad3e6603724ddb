"""Stored state -> the computed OKR tree of a cycle (what `tree`, sync and publish show).

Live mode computes every KR from its current scope (open links), the issue snapshots, the latest
check-ins and the mapping errors. A past date uses the progress history instead, so `tree --at`
shows what was known then.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlmodel import Session

from okr_jira.domain import pace
from okr_jira.domain.models import (
    Cycle,
    KeyResult,
    KrProgress,
    Objective,
    ObjectiveNode,
    OkrSet,
    PaceThresholds,
    Team,
)
from okr_jira.domain.progress import compute_kr_progress
from okr_jira.domain.rollup import build_tree, iter_nodes
from okr_jira.storage import repo
from okr_jira.storage.tables import utcnow


@dataclass(frozen=True)
class CycleReport:
    cycle: Cycle
    on: dt.date
    generated_at: dt.datetime
    nodes: list[ObjectiveNode]
    teams: dict[str, Team]
    thresholds: PaceThresholds = field(default_factory=PaceThresholds)
    historical: bool = False
    objectives: dict[str, Objective] = field(default_factory=dict)

    def status(self, progress: float) -> str:
        return pace.pace_status(progress, self.cycle, self.on, self.thresholds)

    def all_nodes(self) -> list[ObjectiveNode]:
        return list(iter_nodes(self.nodes))


def kr_states(
    *, session: Session, okrs: OkrSet, krs: list[KeyResult] | None = None
) -> dict[str, KrProgress]:
    """Live progress of `krs` (default: every KR of `okrs`) from stored scope and snapshots."""
    wanted = krs if krs is not None else [kr for o in okrs.objectives for kr in o.key_results]
    if not wanted:
        return {}
    keys = [kr.key for kr in wanted]
    scoped = repo.progress_snapshots(session=session, krs=keys)
    checkins = repo.latest_checkins(session=session, krs=keys)
    errors = repo.mapping_errors(session=session)
    unsynced = repo.unresolved_mappings(session=session)
    out: dict[str, KrProgress] = {}
    for kr in wanted:
        if kr.key in unsynced and kr.key not in errors:
            # Zero matches before the first sync would read as "done" for a decreasing target.
            out[kr.key] = KrProgress(
                key=kr.key, progress=0.0, warnings=("not synced from Jira yet",)
            )
            continue
        out[kr.key] = compute_kr_progress(
            kr,
            scoped.get(kr.key, []),
            manual_current=checkins.get(kr.key),
            field_id=kr.field,
            error=errors.get(kr.key),
        )
    return out


def evaluate_cycle(
    *,
    session: Session,
    cycle: str | None = None,
    on: dt.date | None = None,
    thresholds: PaceThresholds | None = None,
    now: dt.datetime | None = None,
) -> CycleReport:
    generated = now or utcnow()
    today = generated.date()
    day = on or today
    the_cycle = repo.get_cycle(session=session, key=cycle, on=day)
    okrs = repo.load_okrs(session=session)
    objectives = [o for o in okrs.objectives if o.cycle == the_cycle.key]
    krs = [kr for o in objectives for kr in o.key_results]
    frozen_at = repo.cycle_frozen_at(session=session, key=the_cycle.key)
    historical = day < today or frozen_at is not None
    if historical:
        until = dt.datetime.combine(day, dt.time.max, tzinfo=dt.UTC)
        if frozen_at is not None:
            # A reviewed cycle shows its frozen final scores, whatever Jira does later.
            until = min(until, frozen_at)
        subjects = [k.key for k in krs]
        if frozen_at is not None and day >= the_cycle.end:
            rows = repo.final_progress(session=session, kind="kr", subjects=subjects)
        else:
            rows = repo.progress_as_of(session=session, kind="kr", subjects=subjects, until=until)
        states = {
            kr.key: KrProgress(
                key=kr.key,
                progress=rows[kr.key].progress,
                current=rows[kr.key].current,
                issues_total=rows[kr.key].issues_total,
                issues_done=rows[kr.key].issues_done,
                issues_in_progress=rows[kr.key].issues_in_progress,
            )
            if kr.key in rows
            else KrProgress(key=kr.key, progress=0.0, warnings=("no progress recorded by then",))
            for kr in krs
        }
    else:
        states = kr_states(session=session, okrs=okrs, krs=krs)
    return CycleReport(
        cycle=the_cycle,
        on=day,
        generated_at=generated,
        nodes=build_tree(objectives, states),
        teams={t.key: t for t in okrs.teams},
        thresholds=thresholds or PaceThresholds(),
        historical=historical,
        objectives={o.key: o for o in objectives},
    )


def record_report(*, session: Session, report: CycleReport, reason: str = "sync") -> int:
    """Store one progress snapshot per KR and objective of the report; returns rows written."""
    written = 0
    at = report.generated_at
    for node in report.all_nodes():
        repo.record_progress(
            session=session, kind="objective", subject=node.objective.key,
            cycle=report.cycle.key, progress=node.progress, status=report.status(node.progress),
            reason=reason, at=at,
        )  # fmt: skip
        written += 1
        for kr, state in node.key_results:
            repo.record_progress(
                session=session, kind="kr", subject=kr.key, cycle=report.cycle.key,
                progress=state.progress, current=state.current,
                status=report.status(state.progress),
                issues=(state.issues_total, state.issues_done, state.issues_in_progress),
                reason=reason, at=at,
            )  # fmt: skip
            written += 1
    return written
