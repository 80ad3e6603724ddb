"""A cycle's health from storage: read the guardrails' inputs, compute, keep the result.

Every sync ends by refreshing the health of the cycles that are not frozen (sync/syncer.py), and
`okr-jira health` refreshes the cycle it shows. The tree (`tree --json`, the admin API) and the
pages read what was kept instead of computing it: the inputs include the whole progress history
of the cycle, which grows with every record, while the result is a few rows of JSON. A sync
reads the scope and progress history a chunk of key results at a time (cycle_health).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import replace

from sqlmodel import Session

from okr_jira.domain.guardrails import health_report, key_result_signals
from okr_jira.domain.health import (
    GuardrailThresholds,
    HealthInputs,
    HealthReport,
    PastCycle,
    Signal,
)
from okr_jira.domain.models import Cycle
from okr_jira.domain.rollup import tree_chunks
from okr_jira.report.evaluate import KR_CHUNK
from okr_jira.storage import audit, health, links, progress
from okr_jira.storage.checkins import checkin_times
from okr_jira.storage.okrs import (
    cycle_frozen_at,
    get_cycle,
    load_okrs,
    mapping_baselines,
    team_key_results,
)

log = logging.getLogger(__name__)


def health_inputs(*, session: Session, cycle: Cycle, now: dt.datetime) -> HealthInputs:
    """Everything the guardrail rules read about `cycle`, at once, in a few queries."""
    common = _common_inputs(session, cycle, now)
    scope, issues = links.cycle_scope_history(session=session, cycle=cycle.key)
    history = progress.cycle_points(session=session, cycle=cycle.key)
    return replace(common, scope=scope, issues=issues, history=history)


def _common_inputs(session: Session, cycle: Cycle, now: dt.datetime) -> HealthInputs:
    """The inputs of every key result of `cycle` but its scope and progress history (empty)."""
    declared = load_okrs(session=session)
    objectives = [o for o in declared.objectives if o.cycle == cycle.key]
    krs = [kr for o in objectives for kr in o.key_results]
    manual = [kr.key for kr in krs if kr.kind == "manual"]
    return HealthInputs(
        cycle=cycle,
        now=now,
        objectives=objectives,
        teams={t.key: t for t in declared.teams},
        scope={},
        baselines=mapping_baselines(session=session),
        issues={},
        audit=audit.entries(session=session, entities=("key_result", "mapping")),
        history={},
        checkins=checkin_times(session=session, krs=manual),
        progress=_recorded(session, cycle.key, [kr.key for kr in krs], now),
        previous=_previous_cycles(session, cycle, declared.cycles, now),
    )


def cycle_health(
    *,
    session: Session,
    cycle: Cycle,
    now: dt.datetime,
    thresholds: GuardrailThresholds,
    chunk: int = KR_CHUNK,
) -> HealthReport:
    """What compute_health says of `health_inputs`, reading the scope and progress history of
    about `chunk` key results at a time (a large site's cycle has millions of links and
    points), and for the overlaps between teams the open scope of shared issues only."""
    common = _common_inputs(session, cycle, now)
    signals: list[Signal] = []
    for part in tree_chunks(common.objectives, chunk):
        keys = [kr.key for o in part for kr in o.key_results]
        scope, issues = links.cycle_scope_history(session=session, cycle=cycle.key, krs=keys)
        history = progress.cycle_points(session=session, cycle=cycle.key, krs=keys)
        inputs = replace(common, objectives=part, scope=scope, issues=issues, history=history)
        signals += key_result_signals(inputs, thresholds)
        del scope, issues, history, inputs
    shared = links.cycle_shared_scope(session=session, cycle=cycle.key)
    return health_report(replace(common, scope=shared), signals)


def _recorded(session: Session, cycle: str, krs: list[str], now: dt.datetime) -> dict[str, float]:
    """Each KR's progress as last recorded (every sync records it before health is computed),
    or as frozen by the review of an ended cycle."""
    if cycle_frozen_at(session=session, key=cycle) is not None:
        rows = progress.final_progress(session=session, kind="kr", subjects=krs)
    else:
        rows = progress.progress_as_of(session=session, kind="kr", subjects=krs, until=now)
    return {key: row.progress for key, row in rows.items()}


def _previous_cycles(
    session: Session, cycle: Cycle, cycles: Sequence[Cycle], now: dt.datetime
) -> dict[str, PastCycle]:
    """team -> how it stood at the end of the last earlier cycle it had key results in."""
    out: dict[str, PastCycle] = {}
    for past in sorted((c for c in cycles if c.start < cycle.start), key=lambda c: c.start)[::-1]:
        teams = {
            team: krs
            for team, krs in team_key_results(session=session, cycle=past.key).items()
            if team not in out
        }
        if not teams:
            continue
        rows = _recorded(session, past.key, [k for krs in teams.values() for k in krs], now)
        for team, krs in teams.items():
            out[team] = PastCycle(past.key, past.name, tuple(rows.get(k, 0.0) for k in krs))
    return out


def refresh_health(
    *,
    session: Session,
    cycle: str | None,
    now: dt.datetime,
    thresholds: GuardrailThresholds,
    chunk: int = KR_CHUNK,
) -> HealthReport:
    """Compute the health of `cycle` (default: the running one) and keep it for pages and tree."""
    the_cycle = get_cycle(session=session, key=cycle, on=now.date())
    report = cycle_health(
        session=session, cycle=the_cycle, now=now, thresholds=thresholds, chunk=chunk
    )
    health.save_health(session=session, cycle=the_cycle.key, computed_at=now, body=report.to_dict())
    return report


def refresh_open_cycles(
    *, session: Session, now: dt.datetime, thresholds: GuardrailThresholds, chunk: int = KR_CHUNK
) -> list[HealthReport]:
    """Refresh every cycle that has objectives and is not frozen (what a sync can change)."""
    declared = load_okrs(session=session)
    keys = sorted({o.cycle for o in declared.objectives})
    out = []
    for key in keys:
        if cycle_frozen_at(session=session, key=key) is not None:
            continue
        report = refresh_health(
            session=session, cycle=key, now=now, thresholds=thresholds, chunk=chunk
        )
        if report.signals:
            log.info("health.signals", extra={"cycle": key, "signals": len(report.signals)})
        out.append(report)
    return out


def stored_health(*, session: Session, cycle: str) -> HealthReport | None:
    """The health kept by the last sync (or `okr-jira health`) of `cycle`; None before any."""
    body = health.load_health(session=session, cycle=cycle)
    return HealthReport.from_dict(body) if body is not None else None
