"""History for the days nothing was recorded: reconstructed after a full sync.

A key result whose mapping a sync resolves for the first time has no history; nor has an
objective made only of such key results. For every day of the cycle before a subject's first
recorded point (up to yesterday, in the site's time zone), a point is reconstructed and stored
with reason "backfill": sourced key results from the issues they select now (see
domain/backfill.py), manual ones from their check-ins (nothing before the first), objectives by
the usual rollup of their key results' states that day (reconstructed, else recorded, else 0).
A subject that has history keeps it: only the days before its first point are filled, so this
is idempotent and a changed mapping never rewrites what was known then.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlmodel import Session

from okr_jira.domain import pace
from okr_jira.domain.backfill import reconstruct
from okr_jira.domain.days import day_end, days, local_day
from okr_jira.domain.models import Cycle, KeyResult, KrProgress, Objective, PaceThresholds
from okr_jira.domain.progress import compute_kr_progress
from okr_jira.domain.rollup import build_tree, iter_nodes, tree_chunks
from okr_jira.report.evaluate import KR_CHUNK
from okr_jira.storage.checkins import checkin_history
from okr_jira.storage.issues import progress_snapshots
from okr_jira.storage.okrs import (
    cycle_frozen_at,
    load_okrs,
    mapping_errors,
    unresolved_mappings,
)
from okr_jira.storage.progress import first_recorded, progress_as_of, record_backfill

_POINTS_AT_ONCE = 20_000  # reconstructed points written per statement batch


def backfill_history(
    *,
    session: Session,
    now: dt.datetime,
    tz: dt.tzinfo,
    thresholds: PaceThresholds,
    chunk: int = KR_CHUNK,
) -> int:
    """Reconstruct the missing days of every running or past, unfrozen cycle; points written.
    The objectives are worked on in runs of about `chunk` key results (each with its whole
    tree): a large site's cycle never has every key result's days in memory at once."""
    okrs = load_okrs(session=session)
    written = 0
    for cycle in okrs.cycles:
        if cycle.start > local_day(now, tz) or cycle_frozen_at(session=session, key=cycle.key):
            continue
        objectives = [o for o in okrs.objectives if o.cycle == cycle.key]
        if not objectives:
            continue
        last = min(cycle.end, local_day(now, tz) - dt.timedelta(days=1))
        span = days(cycle.start, last)
        if not span:
            continue
        krs = [kr.key for o in objectives for kr in o.key_results]
        first_kr = _first_days(session, "kr", krs, tz)
        first_objective = _first_days(session, "objective", [o.key for o in objectives], tz)
        if all(first_kr.get(k, last) <= cycle.start for k in krs) and all(
            first_objective.get(o.key, last) <= cycle.start for o in objectives
        ):
            continue  # every subject has history from the cycle's first day (the nightly case)
        for run in tree_chunks(objectives, chunk):
            written += _backfill_run(
                session, cycle, run, span, (first_kr, first_objective), tz, thresholds
            )
    return written


def _backfill_run(
    session: Session,
    cycle: Cycle,
    objectives: list[Objective],
    span: list[dt.date],
    first: tuple[dict[str, dt.date], dict[str, dt.date]],
    tz: dt.tzinfo,
    thresholds: PaceThresholds,
) -> int:
    """The missing days of `objectives` (whole trees) and their key results."""
    first_kr, first_objective = first
    ends = [day_end(day, tz) for day in span]
    krs = [kr for o in objectives for kr in o.key_results]
    states = _reconstructed(session, krs, first_kr, span, ends)
    points: list[dict[str, Any]] = []
    written = 0
    for kr in krs:
        for n, state in enumerate(states.get(kr.key, ())):
            if state is not None and span[n] < first_kr.get(kr.key, dt.date.max):
                points.append(_point("kr", kr.key, cycle, span[n], ends[n], state, thresholds))
        if len(points) >= _POINTS_AT_ONCE:
            written += record_backfill(session=session, points=points)
            points = []
    recorded = [kr.key for kr in krs if kr.key in first_kr]
    for n, day in enumerate(span):
        wanted = [o for o in objectives if day < first_objective.get(o.key, dt.date.max)]
        if not wanted:
            continue
        # A KR's recorded history wins from its first point on.
        today: dict[str, KrProgress] = {}
        for key, series in states.items():
            state = series[n]
            if state is not None and day < first_kr.get(key, dt.date.max):
                today[key] = state
        before = [k for k in recorded if k not in today and first_kr[k] <= day]
        for key, row in progress_as_of(
            session=session, kind="kr", subjects=before, until=ends[n]
        ).items():
            today[key] = KrProgress(
                key=key, progress=row.progress, current=row.current,
                issues_total=row.issues_total, scope=row.scope,
            )  # fmt: skip
        for kr in krs:
            today.setdefault(kr.key, KrProgress(key=kr.key, progress=0.0))
        keys = {o.key for o in wanted}
        for node in iter_nodes(build_tree(objectives, today)):
            if node.objective.key not in keys:
                continue
            issues = sum(today[kr.key].issues_total for kr, _ in node.key_results)
            point = KrProgress(
                key=node.objective.key, progress=node.progress, scope=float(issues) or None
            )
            points.append(
                _point("objective", node.objective.key, cycle, day, ends[n], point, thresholds)
            )
        if len(points) >= _POINTS_AT_ONCE:
            written += record_backfill(session=session, points=points)
            points = []
    return written + record_backfill(session=session, points=points)


def _reconstructed(
    session: Session,
    krs: Sequence[KeyResult],
    first: dict[str, dt.date],
    span: list[dt.date],
    ends: list[dt.datetime],
) -> dict[str, list[KrProgress | None]]:
    """Each KR's state per day of `span` where it can be told (None where it cannot)."""
    needed = [kr for kr in krs if first.get(kr.key, dt.date.max) > span[0]]
    errors = mapping_errors(session=session)
    unsynced = unresolved_mappings(session=session)
    sourced = [
        kr
        for kr in needed
        if kr.kind != "manual"
        and kr.source is not None
        and kr.key not in errors
        and kr.key not in unsynced
    ]
    out: dict[str, list[KrProgress | None]] = {}
    if sourced:
        for n in range(0, len(sourced), KR_CHUNK):
            # A chunk of KRs at a time: never every linked issue of a large site in memory.
            chunk = sourced[n : n + KR_CHUNK]
            scoped = progress_snapshots(
                session=session, krs=[kr.key for kr in chunk], with_dates=True
            )
            for kr in chunk:
                out[kr.key] = list(reconstruct(kr, scoped.get(kr.key, []), ends, field_id=kr.field))
            del scoped
    manual = [kr for kr in needed if kr.kind == "manual"]
    checkins = checkin_history(session=session, krs=[kr.key for kr in manual])
    for kr in manual:
        values = checkins.get(kr.key, [])
        series: list[KrProgress | None] = []
        for end in ends:
            seen = [value for at, value in values if at <= end]
            series.append(compute_kr_progress(kr, [], manual_current=seen[-1]) if seen else None)
        out[kr.key] = series
    return out


def _first_days(
    session: Session, kind: str, subjects: list[str], tz: dt.tzinfo
) -> dict[str, dt.date]:
    return {
        subject: local_day(at, tz)
        for subject, at in first_recorded(session=session, kind=kind, subjects=subjects).items()
    }


def _point(
    kind: str,
    subject: str,
    cycle: Cycle,
    day: dt.date,
    end: dt.datetime,
    state: KrProgress,
    thresholds: PaceThresholds,
) -> dict[str, Any]:
    return {
        "kind": kind,
        "subject": subject,
        "cycle": cycle.key,
        "taken_at": end,
        "progress": state.progress,
        "current": state.current,
        "status": pace.pace_status(state.progress, cycle, day, thresholds),
        "issues_total": state.issues_total,
        "issues_done": state.issues_done,
        "issues_in_progress": state.issues_in_progress,
        "scope": state.scope,
    }
