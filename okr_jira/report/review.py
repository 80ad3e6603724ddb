"""The end-of-cycle review: final scores frozen, and what happened to each KR.

After a cycle ends, its last progress is recorded with reason "final" and the cycle is frozen: the
tree of a frozen cycle shows the final scores, whatever Jira does later. The review lists each
KR's final score, its pace history (one point per week) and the scope changes that moved it.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine
from sqlmodel import Session

from okr_jira.domain import pace
from okr_jira.domain.models import PaceThresholds
from okr_jira.domain.report import KrReview
from okr_jira.report.evaluate import evaluate_cycle
from okr_jira.report.record import record_report
from okr_jira.storage import links, progress
from okr_jira.storage.db import session_scope
from okr_jira.storage.okrs import ended_unfrozen_cycles, freeze_cycle, get_cycle, load_okrs


def freeze_ended_cycles(
    *, engine: Engine, now: dt.datetime, thresholds: PaceThresholds
) -> list[str]:
    """Record final progress of every ended, unfrozen cycle and freeze it; returns their keys."""
    with session_scope(engine) as session:
        ended = ended_unfrozen_cycles(session=session, today=now.date())
        for key in ended:
            # The live state (not the history) is final: what Jira says when the cycle closed.
            report = evaluate_cycle(session=session, cycle=key, now=now, thresholds=thresholds)
            record_report(session=session, report=report, reason="final")
            freeze_cycle(session=session, key=key, at=now)
    return ended


def review(*, session: Session, cycle: str, thresholds: PaceThresholds) -> list[KrReview]:
    the_cycle = get_cycle(session=session, key=cycle)
    okrs = load_okrs(session=session, include_archived=True)
    out = []
    for objective in okrs.objectives:
        if objective.cycle != cycle:
            continue
        for kr in objective.key_results:
            rows = progress.history(session=session, kind="kr", subject=kr.key)
            weekly: dict[dt.date, tuple[dt.date, float, str]] = {}
            for r in rows:
                day = r.taken_at.date()
                week = day - dt.timedelta(days=day.weekday())
                status = pace.pace_status(
                    r.progress, the_cycle, min(day, the_cycle.end), thresholds
                )
                weekly[week] = (day, r.progress, status)  # the last point of each week
            final = next(
                (r for r in reversed(rows) if r.reason == "final"), rows[-1] if rows else None
            )
            final_progress = final.progress if final else 0.0
            scope = links.history(session=session, kr=kr.key)
            out.append(
                KrReview(
                    key=kr.key,
                    title=kr.title,
                    objective=objective.key,
                    final_progress=final_progress,
                    final_status=pace.pace_status(
                        final_progress, the_cycle, the_cycle.end, thresholds
                    ),
                    weekly=tuple(weekly[w] for w in sorted(weekly)),
                    joined=tuple(
                        (link.joined_at.date(), link.issue_key, link.done_when_joined)
                        for link in scope
                    ),
                    left=tuple(
                        (link.left_at.date(), link.issue_key, link.done_when_left)
                        for link in scope
                        if link.left_at is not None
                    ),
                )
            )
    return out
