"""The end-of-cycle review: final scores frozen, and a review page of what happened.

After a cycle ends, its last progress is recorded with reason "final" and the cycle is frozen: the
tree of a frozen cycle shows the final scores, whatever Jira does later. The review page lists each
KR's final score, its pace history (one point per week) and the scope changes that moved it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from okr_jira.domain import pace
from okr_jira.domain.models import PaceStatus
from okr_jira.evaluate import evaluate_cycle, record_report
from okr_jira.render.dialect import StorageDialect
from okr_jira.render.markup import el, join
from okr_jira.render.pages import PACE_COLOUR
from okr_jira.storage import repo
from okr_jira.storage.db import session_scope
from okr_jira.storage.tables import CycleRow, KrIssueLinkRow, ProgressSnapshotRow


@dataclass(frozen=True)
class KrReview:
    key: str
    title: str
    objective: str
    final_progress: float
    final_status: PaceStatus
    weekly: tuple[tuple[dt.date, float, str], ...]
    joined: tuple[tuple[dt.date, str, bool], ...]  # (when, issue, done then)
    left: tuple[tuple[dt.date, str, bool | None], ...]


def freeze_ended_cycles(*, engine: Engine, now: dt.datetime) -> list[str]:
    """Record final progress of every ended, unfrozen cycle and freeze it; returns their keys."""
    frozen = []
    with session_scope(engine) as session:
        ended = session.exec(
            select(CycleRow).where(
                col(CycleRow.end) < now.date(), col(CycleRow.frozen_at).is_(None)
            )
        ).all()
        for row in ended:
            # The live state (not the history) is final: what Jira says when the cycle closed.
            report = evaluate_cycle(session=session, cycle=row.key, now=now)
            record_report(session=session, report=report, reason="final")
            row.frozen_at = now
            session.add(row)
            frozen.append(row.key)
    return frozen


def review(*, session: Session, cycle: str) -> list[KrReview]:
    the_cycle = repo.get_cycle(session=session, key=cycle)
    okrs = repo.load_okrs(session=session, include_archived=True)
    out = []
    for objective in okrs.objectives:
        if objective.cycle != cycle:
            continue
        for kr in objective.key_results:
            rows = session.exec(
                select(ProgressSnapshotRow)
                .where(
                    col(ProgressSnapshotRow.kind) == "kr",
                    col(ProgressSnapshotRow.subject) == kr.key,
                )
                .order_by(col(ProgressSnapshotRow.taken_at), col(ProgressSnapshotRow.id))
            ).all()
            weekly: dict[dt.date, tuple[dt.date, float, str]] = {}
            for r in rows:
                day = r.taken_at.date()
                week = day - dt.timedelta(days=day.weekday())
                status = pace.pace_status(r.progress, the_cycle, min(day, the_cycle.end))
                weekly[week] = (day, r.progress, status)  # the last point of each week
            final = next(
                (r for r in reversed(rows) if r.reason == "final"), rows[-1] if rows else None
            )
            progress = final.progress if final else 0.0
            links = session.exec(
                select(KrIssueLinkRow).where(col(KrIssueLinkRow.kr) == kr.key)
                .order_by(col(KrIssueLinkRow.joined_at))
            ).all()  # fmt: skip
            out.append(
                KrReview(
                    key=kr.key,
                    title=kr.title,
                    objective=objective.key,
                    final_progress=progress,
                    final_status=pace.pace_status(progress, the_cycle, the_cycle.end),
                    weekly=tuple(weekly[w] for w in sorted(weekly)),
                    joined=tuple(
                        (link.joined_at.date(), link.issue_key, link.done_when_joined)
                        for link in links
                    ),
                    left=tuple(
                        (link.left_at.date(), link.issue_key, link.done_when_left)
                        for link in links
                        if link.left_at is not None
                    ),
                )
            )
    return out


# Only built-in macros, so no space key or Jira server id is needed.
_STORAGE = StorageDialect(space_key="", server_id=None)


def review_page_body(cycle_name: str, reviews: list[KrReview]) -> str:
    """Confluence storage XHTML of the review page; every value escaped."""
    rows = [el("tr", None, *(el("th", None, h) for h in (
        "Key result", "Objective", "Final score", "Final pace", "Pace history", "Scope changes",
    )))]  # fmt: skip
    for r in reviews:
        history = ", ".join(
            f"{day.isoformat()}: {p:.0%} {status.replace('_', ' ')}" for day, p, status in r.weekly
        )
        scope_lines = [
            f"+ {issue} joined {day.isoformat()}" + (" (already done)" if done else "")
            for day, issue, done in r.joined
        ] + [
            f"- {issue} left {day.isoformat()}" + (" (was done)" if done else "")
            for day, issue, done in r.left
        ]
        rows.append(
            el(
                "tr", None,
                el("td", None, f"{r.key} {r.title}"),
                el("td", None, r.objective),
                el("td", None, f"{pace.score(r.final_progress):.2f}"),
                el("td", None, _STORAGE.lozenge(
                    r.final_status.replace("_", " "), PACE_COLOUR[r.final_status])),
                el("td", None, history or "no history recorded"),
                el("td", None, join(el("p", None, line) for line in scope_lines) or "none"),
            )
        )  # fmt: skip
    note = _STORAGE.panel("info", el("p", None,
        f"End-of-cycle review of {cycle_name}, generated by okr-jira from the recorded history. "
        "Edits are overwritten."))  # fmt: skip
    return str(join([note, el("table", None, el("tbody", None, *rows))]))
