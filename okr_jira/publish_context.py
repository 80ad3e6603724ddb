"""Stored state -> what the page renderers need (`RenderContext`) for one cycle.

Progress comes from `evaluate_cycle`, the issues behind each KR from its open scope links and the
stored snapshots, the charts from the progress history (one point per day, the day's last value, so
another sync on the same day with nothing new leaves every chart, and so every page, unchanged).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

from sqlmodel import Session, col, func, select

from okr_jira.adapters.jira_fields import epic_clause
from okr_jira.domain.models import IssueSnapshot, PaceThresholds
from okr_jira.domain.selectors import source_to_jql
from okr_jira.evaluate import CycleReport, evaluate_cycle
from okr_jira.render import RenderContext
from okr_jira.render.context import History
from okr_jira.storage import repo
from okr_jira.storage.tables import ProgressSnapshotRow, utcnow
from okr_jira.sync import SITE_FACTS


@dataclass(frozen=True)
class ContextOptions:
    """What the pages show that is not in storage."""

    space_key: str = ""
    jira_base_url: str = ""
    jira_server_id: str | None = None
    thresholds: PaceThresholds = field(default_factory=PaceThresholds)


def daily_history(rows: list[tuple[dt.datetime, float]]) -> History:
    """One (day, progress) point per day, the last value of each day, oldest first."""
    by_day: dict[dt.date, float] = {}
    for at, progress in sorted(rows, key=lambda r: r[0]):
        by_day[at.date()] = progress
    return tuple(by_day.items())


def _objective_history(session: Session, cycle: str) -> dict[str, History]:
    query = (
        select(
            ProgressSnapshotRow.subject, ProgressSnapshotRow.taken_at, ProgressSnapshotRow.progress
        )
        .where(
            col(ProgressSnapshotRow.kind) == "objective", col(ProgressSnapshotRow.cycle) == cycle
        )
        .order_by(col(ProgressSnapshotRow.taken_at), col(ProgressSnapshotRow.id))
    )
    raw: dict[str, list[tuple[dt.datetime, float]]] = {}
    for subject, at, progress in session.exec(query):
        raw.setdefault(subject, []).append((at, progress))
    return {subject: daily_history(rows) for subject, rows in raw.items()}


def last_sync(session: Session, cycle: str) -> dt.datetime | None:
    """When progress was last recorded for the cycle (by a sync or a webhook)."""
    query = select(func.max(ProgressSnapshotRow.taken_at)).where(
        col(ProgressSnapshotRow.cycle) == cycle
    )
    return session.exec(query).one()


def _epic_clause(session: Session) -> str:
    facts = repo.get_state(session=session, name=SITE_FACTS)
    return epic_clause(json.loads(facts).get("flavor") if facts else None)


def build_context(
    *,
    session: Session,
    cycle: str | None,
    options: ContextOptions,
    now: dt.datetime | None = None,
) -> tuple[RenderContext, CycleReport]:
    """The render context of `cycle` (default: the running one) as of `now`."""
    moment = now or utcnow()
    report = evaluate_cycle(session=session, cycle=cycle, thresholds=options.thresholds, now=moment)
    krs = [kr for node in report.all_nodes() for kr, _ in node.key_results]
    links = repo.open_links(session=session, krs=[kr.key for kr in krs])
    snaps = repo.snapshots(session=session, keys={k for keys in links.values() for k in keys})
    issues: dict[str, tuple[IssueSnapshot, ...]] = {
        kr: tuple(snaps[k] for k in sorted(keys) if k in snaps) for kr, keys in links.items()
    }
    epic_clause = _epic_clause(session)
    team_of = {node.objective.key: node.objective.team for node in report.all_nodes()}
    jql: dict[str, str] = {}
    for node in report.all_nodes():
        team = report.teams.get(team_of[node.objective.key])
        for kr, _ in node.key_results:
            if kr.source is None or kr.kind == "manual":
                continue
            try:
                jql[kr.key] = source_to_jql(
                    kr.source,
                    scope_projects=team.jira_projects if team else (),
                    epic_clause=epic_clause,
                )
            except ValueError:
                continue  # a source that selects nothing: the page shows the mapping error
    context = RenderContext(
        cycle=report.cycle,
        space_key=options.space_key,
        roots=tuple(report.nodes),
        today=report.on,
        teams={key: team.name for key, team in report.teams.items()},
        issues=issues,
        jql=jql,
        history=_objective_history(session, report.cycle.key),
        jira_base_url=options.jira_base_url,
        jira_server_id=options.jira_server_id,
        last_sync=last_sync(session, report.cycle.key),
        thresholds=options.thresholds,
    )
    return context, report
