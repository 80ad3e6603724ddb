"""One key result, or one objective, with everything its page shows: the issues behind it with
their weight and contribution, the formula in words, the JQL, the progress history with the
expected pace, the scope history, warnings and mapping errors."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlmodel import Session

from okr_jira.adapters.jira_fields import epic_clause
from okr_jira.domain.models import (
    Cycle,
    IssueSnapshot,
    KeyResult,
    KrProgress,
    Objective,
    ObjectiveNode,
    PaceThresholds,
)
from okr_jira.domain.progress import issue_contributions
from okr_jira.domain.report import CycleReport
from okr_jira.domain.rollup import iter_nodes, sort_key
from okr_jira.domain.selectors import source_to_jql
from okr_jira.errors import NotFoundError
from okr_jira.render.context import History
from okr_jira.render.words import formula
from okr_jira.report.charts import daily_history
from okr_jira.report.evaluate import kr_states, site_zone
from okr_jira.report.stored import stored_cycle
from okr_jira.storage import links, progress, state
from okr_jira.storage.checkins import recent_of_kr
from okr_jira.storage.issues import snapshots
from okr_jira.storage.okrs import load_okrs
from okr_jira.storage.tables import CheckinRow, KrIssueLinkRow, utcnow


@dataclass(frozen=True)
class KrDetail:
    objective: Objective
    kr: KeyResult
    cycle: Cycle
    state: KrProgress
    formula: str
    jql: str | None
    contributions: list[tuple[IssueSnapshot, float | None, float]]
    history: History
    scope: list[KrIssueLinkRow]
    checkins: list[CheckinRow]


@dataclass(frozen=True)
class ObjectiveDetail:
    report: CycleReport
    node: ObjectiveNode
    parent: Objective | None
    history: History


def _history(session: Session, kind: str, subject: str) -> History:
    """A subject's daily chart points in the site's time zone (as its Confluence page draws)."""
    _, tz = site_zone(state.SITE_TIME_ZONE.get(session=session))
    return daily_history(progress.subject_points(session=session, kind=kind, subject=subject), tz)


def kr_detail(*, session: Session, key: str, now: dt.datetime | None = None) -> KrDetail:
    okrs = load_okrs(session=session)
    found = [(o, kr) for o in okrs.objectives for kr in o.key_results if kr.key == key]
    if not found:
        raise NotFoundError(f"key result '{key}' does not exist")
    objective, kr = found[0]
    cycles = {c.key: c for c in okrs.cycles}
    current = kr_states(session=session, okrs=okrs, krs=[kr])[key]
    scope_keys = links.open_links(session=session, krs=[key]).get(key, set())
    issues = snapshots(session=session, keys=sorted(scope_keys))
    ordered = [issues[k] for k in sorted(issues, key=sort_key)]
    contributions = issue_contributions(kr, ordered, field_id=kr.field)
    jql = None
    if kr.source is not None:
        team = next((t for t in okrs.teams if t.key == objective.team), None)
        flavor = (state.SITE_FACTS.get(session=session) or {}).get("flavor")
        try:
            jql = source_to_jql(
                kr.source,
                scope_projects=team.jira_projects if team else (),
                epic_clause=epic_clause(flavor),
            )
        except ValueError:
            jql = None
    return KrDetail(
        objective=objective,
        kr=kr,
        cycle=cycles[objective.cycle],
        state=current,
        formula=formula(kr, current, contributions),
        jql=jql,
        contributions=contributions,
        history=_history(session, "kr", key),
        scope=links.history(session=session, kr=key),
        checkins=recent_of_kr(session=session, kr=key),
    )


def objective_detail(
    *,
    session: Session,
    key: str,
    thresholds: PaceThresholds,
    now: dt.datetime | None = None,
) -> ObjectiveDetail:
    okrs = load_okrs(session=session)
    objective = next((o for o in okrs.objectives if o.key == key), None)
    if objective is None:
        raise NotFoundError(f"objective '{key}' does not exist")
    report = stored_cycle(
        session=session, cycle=objective.cycle, thresholds=thresholds, now=now or utcnow()
    )
    node = next(n for n in iter_nodes(report.nodes) if n.objective.key == key)
    parent = next((o for o in okrs.objectives if o.key == objective.parent), None)
    return ObjectiveDetail(
        report=report,
        node=node,
        parent=parent,
        history=_history(session, "objective", key),
    )
