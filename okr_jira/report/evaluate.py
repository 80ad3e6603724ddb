"""Stored state -> the computed OKR tree of a cycle (what `tree`, sync and publish show).

Live mode computes every KR from its current scope (open links), the issue snapshots, the latest
check-ins and the mapping errors. A past date uses the progress history instead, so `tree --at`
shows what was known then.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import NamedTuple

from sqlmodel import Session

from okr_jira.domain.days import UTC_NAME, day_end, local_day, zone
from okr_jira.domain.models import (
    Cycle,
    IssueSnapshot,
    KeyResult,
    KrProgress,
    OkrSet,
    PaceThresholds,
)
from okr_jira.domain.progress import compute_kr_progress
from okr_jira.domain.report import CycleReport
from okr_jira.domain.rollup import build_tree
from okr_jira.storage import state
from okr_jira.storage.checkins import checkins_of, latest_values
from okr_jira.storage.issues import progress_snapshots
from okr_jira.storage.okrs import (
    cycle_frozen_at,
    get_cycle,
    load_okrs,
    mapping_errors,
    unresolved_mappings,
)
from okr_jira.storage.progress import final_progress, progress_as_of
from okr_jira.storage.tables import utcnow

log = logging.getLogger(__name__)


KR_CHUNK = 1_000  # KRs whose issues are read at once (kr_states, the backfill)


def site_zone(name: str | None) -> tuple[str, dt.tzinfo]:
    """(name, zone) of the site's time zone; an unknown name is logged and read as UTC."""
    try:
        return (name or UTC_NAME), zone(name)
    except ValueError:
        log.warning("site.time_zone.unknown", extra={"time_zone": name})
        return UTC_NAME, dt.UTC


def kr_states(
    *, session: Session, okrs: OkrSet, krs: list[KeyResult] | None = None
) -> dict[str, KrProgress]:
    """Live progress of `krs` (default: every KR of `okrs`) from stored scope and snapshots."""
    wanted = krs if krs is not None else [kr for o in okrs.objectives for kr in o.key_results]
    if not wanted:
        return {}
    keys = [kr.key for kr in wanted]
    checkins = latest_values(session=session, krs=keys)
    errors = mapping_errors(session=session)
    unsynced = unresolved_mappings(session=session)
    out: dict[str, KrProgress] = {}
    scoped: dict[str, list[IssueSnapshot]] = {}
    for n, kr in enumerate(wanted):
        if n % KR_CHUNK == 0:
            # The issues of a chunk of KRs at a time: a site of a million issues in 20,000 KRs
            # never has every linked snapshot in memory at once.
            chunk = keys[n : n + KR_CHUNK]
            scoped = progress_snapshots(session=session, krs=chunk)
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


class ReadingDay(NamedTuple):
    generated: dt.datetime  # when the report is made
    tz: dt.tzinfo  # the site's zone: where the teams work
    today: dt.date  # today there
    day: dt.date  # the day the report is for (`on`, or today)
    cycle: Cycle  # the cycle it reads


def reading_day(
    *, session: Session, cycle: str | None, on: dt.date | None, now: dt.datetime | None
) -> ReadingDay:
    generated = now or utcnow()
    _, tz = site_zone(state.SITE_TIME_ZONE.get(session=session))
    today = local_day(generated, tz)
    day = on or today
    return ReadingDay(generated, tz, today, day, get_cycle(session=session, key=cycle, on=day))


def evaluate_cycle(
    *,
    session: Session,
    cycle: str | None = None,
    on: dt.date | None = None,
    thresholds: PaceThresholds,
    now: dt.datetime | None = None,
) -> CycleReport:
    generated, tz, today, day, the_cycle = reading_day(session=session, cycle=cycle, on=on, now=now)
    declared = load_okrs(session=session)
    objectives = [o for o in declared.objectives if o.cycle == the_cycle.key]
    krs = [kr for o in objectives for kr in o.key_results]
    frozen_at = cycle_frozen_at(session=session, key=the_cycle.key)
    historical = day < today or frozen_at is not None
    if historical:
        until = day_end(day, tz)  # the end of that day where the teams work
        if frozen_at is not None:
            # A reviewed cycle shows its frozen final scores, whatever Jira does later.
            until = min(until, frozen_at)
        subjects = [k.key for k in krs]
        if frozen_at is not None and day >= the_cycle.end:
            rows = final_progress(session=session, kind="kr", subjects=subjects)
        else:
            rows = progress_as_of(session=session, kind="kr", subjects=subjects, until=until)
        states = {
            kr.key: KrProgress(
                key=kr.key,
                progress=rows[kr.key].progress,
                current=rows[kr.key].current,
                issues_total=rows[kr.key].issues_total,
                issues_done=rows[kr.key].issues_done,
                issues_in_progress=rows[kr.key].issues_in_progress,
                scope=rows[kr.key].scope,
            )
            if kr.key in rows
            else KrProgress(key=kr.key, progress=0.0, warnings=("no progress recorded by then",))
            for kr in krs
        }
    else:
        states = kr_states(session=session, okrs=declared, krs=krs)
    # Check-ins known on `day` (all of them for today: one typed a minute ago shows).
    seen_until = None if day >= today else day_end(day, tz)
    checkins = checkins_of(
        session=session, objectives=[o.key for o in objectives], until=seen_until
    )
    return CycleReport(
        cycle=the_cycle,
        on=day,
        generated_at=generated,
        nodes=build_tree(objectives, states),
        teams={t.key: t for t in declared.teams},
        thresholds=thresholds,
        historical=historical,
        objectives={o.key: o for o in objectives},
        checkins=checkins,
    )
