"""The end-of-cycle review (final scores frozen, what happened to each KR, the teams'
retrospective notes) and the monthly review of a running cycle.

After a cycle ends, its last progress is recorded with reason "final" and the cycle is frozen: the
tree of a frozen cycle shows the final scores, whatever Jira does later. The review lists each
KR's final score, its pace history (one point per week) and the scope changes that moved it.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine
from sqlmodel import Session

from okr_jira.domain import pace
from okr_jira.domain.models import Cycle, PaceThresholds
from okr_jira.domain.report import KrReview, MonthReview, ObjectiveMonth, Retrospective
from okr_jira.report.evaluate import evaluate_cycle
from okr_jira.report.record import record_report
from okr_jira.storage import links, progress
from okr_jira.storage.checkins import checkins_of
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


def months_of(cycle: Cycle, today: dt.date) -> list[dt.date]:
    """First days of the months of `cycle` that have started by `today`."""
    last = min(today, cycle.end)
    month = cycle.start.replace(day=1)
    out = []
    while month <= last:
        out.append(month)
        month = (month + dt.timedelta(days=32)).replace(day=1)
    return out


def monthly_review(
    *, session: Session, cycle: str, month: dt.date, today: dt.date, thresholds: PaceThresholds
) -> MonthReview:
    """`month` of `cycle`: each objective's progress then and now, pace, confidence, notes."""
    the_cycle = get_cycle(session=session, key=cycle)
    start = max(month, the_cycle.start)
    next_month = (month + dt.timedelta(days=32)).replace(day=1)
    end = min(next_month - dt.timedelta(days=1), the_cycle.end, today)
    objectives = [o for o in load_okrs(session=session).objectives if o.cycle == cycle]
    keys = [o.key for o in objectives]
    then = progress.progress_as_of(session=session, kind="objective", subjects=keys,
                                   until=_end_of(start - dt.timedelta(days=1)))  # fmt: skip
    now = progress.progress_as_of(session=session, kind="objective", subjects=keys,
                                  until=_end_of(end))  # fmt: skip
    said = checkins_of(session=session, objectives=keys, until=_end_of(end))
    out = []
    for o in objectives:
        month_checkins = [c for c in said.get(o.key, ()) if c.at.date() >= start]
        now_row = now.get(o.key)
        out.append(
            ObjectiveMonth(
                key=o.key,
                title=o.title,
                team=o.team,
                progress_then=then[o.key].progress if o.key in then else None,
                progress_now=now_row.progress if now_row else None,
                status_now=pace.pace_status(now_row.progress, the_cycle, end, thresholds)
                if now_row
                else None,
                confidence=tuple(
                    c.confidence
                    for c in month_checkins
                    if c.kr is None and c.confidence is not None
                ),
                notes=tuple(
                    (c.at.date(), c.subject, text)
                    for c in month_checkins
                    for text in _said(c.note, c.blockers, c.retro)
                ),
            )
        )
    return MonthReview(month=month, start=start, end=end, objectives=tuple(out))


def retrospectives(*, session: Session, cycle: str) -> list[Retrospective]:
    """Each objective of `cycle` with its final progress and the team's retrospective notes."""
    objectives = [
        o for o in load_okrs(session=session, include_archived=True).objectives if o.cycle == cycle
    ]
    keys = [o.key for o in objectives]
    final = progress.final_progress(session=session, kind="objective", subjects=keys)
    said = checkins_of(session=session, objectives=keys)
    return [
        Retrospective(
            key=o.key,
            title=o.title,
            team=o.team,
            final_progress=final[o.key].progress if o.key in final else 0.0,
            notes=tuple(c.retro for c in said.get(o.key, ()) if c.retro),
        )
        for o in objectives
    ]


def _said(note: str | None, blockers: str | None, retro: str | None) -> list[str]:
    out = [note] if note else []
    if blockers:
        out.append(f"Blockers: {blockers}")
    if retro:
        out.append(f"Retrospective: {retro}")
    return out


def _end_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.max, tzinfo=dt.UTC)
