"""A cycle's tree from the progress okr-jira recorded (progress_latest), not recomputed: what the
web pages and GET /api/v1/tree show, fast at any size. Rollup, score and pace are derived from it
(cheap, and always under the current weights); a past date or a frozen cycle reads the history
as `evaluate_cycle` does."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session

from okr_jira.domain.models import KrProgress, OkrSet, PaceThresholds
from okr_jira.domain.report import CycleReport
from okr_jira.domain.rollup import build_tree
from okr_jira.report.evaluate import evaluate_cycle, reading_day
from okr_jira.storage import state
from okr_jira.storage.okrs import (
    cycle_frozen_at,
    load_okrs,
    mapping_errors,
    unresolved_mappings,
)
from okr_jira.storage.progress import latest_points

_CACHE: dict[str, tuple[str, OkrSet]] = {}


def declared_okrs(session: Session) -> OkrSet:
    """The stored declaration, kept in memory while its version (moved by every apply and edit)
    stays the same: reading 2,000 key results and their sources costs more than the tree."""
    version = state.DECLARATION_VERSION.get(session=session)
    where = str(session.connection().engine.url)
    cached = _CACHE.get(where)
    if version is not None and cached is not None and cached[0] == version:
        return cached[1]
    okrs = load_okrs(session=session)
    if version is not None:
        _CACHE[where] = (version, okrs)
    return okrs


def stored_cycle(
    *,
    session: Session,
    cycle: str | None = None,
    on: dt.date | None = None,
    thresholds: PaceThresholds,
    now: dt.datetime | None = None,
) -> CycleReport:
    generated, _, today, day, the_cycle = reading_day(session=session, cycle=cycle, on=on, now=now)
    if day < today or cycle_frozen_at(session=session, key=the_cycle.key):
        return evaluate_cycle(
            session=session, cycle=the_cycle.key, on=day, thresholds=thresholds, now=generated
        )
    declared = declared_okrs(session)
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
