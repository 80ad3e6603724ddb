"""A cycle's tree from the progress okr-jira recorded (progress_latest), not recomputed: what the
web pages and GET /api/v1/tree show, fast at any size. Rollup, score and pace are derived from it
(cheap, and always under the current weights); a past date or a frozen cycle reads the history
as `evaluate_cycle` does."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session

from okr_jira.domain.models import KrProgress, PaceThresholds
from okr_jira.domain.report import CycleReport
from okr_jira.domain.rollup import build_tree
from okr_jira.report.evaluate import evaluate_cycle
from okr_jira.storage.okrs import (
    cycle_frozen_at,
    get_cycle,
    load_okrs,
    mapping_errors,
    unresolved_mappings,
)
from okr_jira.storage.progress import latest_points
from okr_jira.storage.tables import utcnow


def stored_cycle(
    *,
    session: Session,
    cycle: str | None = None,
    on: dt.date | None = None,
    thresholds: PaceThresholds,
    now: dt.datetime | None = None,
) -> CycleReport:
    generated = now or utcnow()
    day = on or generated.date()
    the_cycle = get_cycle(session=session, key=cycle, on=day)
    if day < generated.date() or cycle_frozen_at(session=session, key=the_cycle.key):
        return evaluate_cycle(
            session=session, cycle=the_cycle.key, on=day, thresholds=thresholds, now=generated
        )
    declared = load_okrs(session=session)
    objectives = [o for o in declared.objectives if o.cycle == the_cycle.key]
    points = latest_points(session=session, kind="kr")
    errors = mapping_errors(session=session)
    unsynced = unresolved_mappings(session=session)
    states: dict[str, KrProgress] = {}
    for objective in objectives:
        for kr in objective.key_results:
            point = points.get(kr.key)
            warnings: tuple[str, ...] = ()
            if kr.key in unsynced and kr.key not in errors:
                warnings = ("mapping changed: not synced from Jira yet",)
            if point is None:
                states[kr.key] = KrProgress(
                    key=kr.key, progress=0.0, error=errors.get(kr.key),
                    warnings=(*warnings, "no progress recorded yet"),
                )  # fmt: skip
                continue
            states[kr.key] = KrProgress(
                key=kr.key, progress=point.progress, current=point.current,
                issues_total=point.issues_total, issues_done=point.issues_done,
                issues_in_progress=point.issues_in_progress, warnings=warnings,
                error=errors.get(kr.key),
            )  # fmt: skip
    return CycleReport(
        cycle=the_cycle,
        on=day,
        generated_at=generated,
        nodes=build_tree(objectives, states),
        teams={t.key: t for t in declared.teams},
        thresholds=thresholds,
        objectives={o.key: o for o in objectives},
    )
