"""Stored state -> what the page renderers need (`RenderContext`) for one cycle.

Progress comes from `evaluate_cycle`, the issues behind each KR from its open scope links and the
stored snapshots, the guardrail signals from the health the last sync kept, the charts from the
progress history (one point per day of the site's time zone, the day's last value, so another
sync on the same day with nothing new leaves every chart, and so every page, unchanged), the last
change from the first point of the latest run of equal values.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from sqlmodel import Session

from okr_jira.adapters import jira_fields
from okr_jira.domain.models import IssueSnapshot, Objective, PaceThresholds
from okr_jira.domain.report import CycleReport
from okr_jira.domain.rollup import sort_key
from okr_jira.domain.selectors import source_to_jql
from okr_jira.render import RenderContext
from okr_jira.render.context import page_title
from okr_jira.report.charts import daily_history, last_change
from okr_jira.report.evaluate import evaluate_cycle, site_zone
from okr_jira.report.health import stored_health
from okr_jira.storage import state
from okr_jira.storage.issues import snapshots
from okr_jira.storage.links import open_links
from okr_jira.storage.okrs import load_okrs
from okr_jira.storage.progress import cycle_history, last_recorded
from okr_jira.storage.tables import utcnow


@dataclass(frozen=True)
class ContextOptions:
    """What the pages show that is not in storage."""

    thresholds: PaceThresholds
    space_key: str = ""
    jira_base_url: str = ""
    jira_server_id: str | None = None


def carried_titles(session: Session, objectives: Mapping[str, Objective]) -> dict[str, str]:
    """objective -> the page title of the earlier objective it continues (archived ones too)."""
    wanted = {o.key: o.carried_from for o in objectives.values() if o.carried_from}
    if not wanted:
        return {}
    declared = load_okrs(session=session, include_archived=True)
    cycles = {c.key: c for c in declared.cycles}
    earlier = {o.key: o for o in declared.objectives if o.key in set(wanted.values())}
    out = {}
    for key, old in wanted.items():
        objective = earlier.get(old or "")
        if objective is not None and objective.cycle in cycles:
            out[key] = page_title(cycles[objective.cycle], objective)
    return out


def epic_clause(session: Session) -> str:
    facts = state.SITE_FACTS.get(session=session) or {}
    return jira_fields.epic_clause(facts.get("flavor"))


def kr_issues(*, session: Session, krs: Collection[str]) -> dict[str, tuple[IssueSnapshot, ...]]:
    """KR -> the issues in its scope, keys in natural order."""
    links = open_links(session=session, krs=list(krs)) if krs else {}
    snaps = snapshots(session=session, keys={k for keys in links.values() for k in keys})
    return {
        kr: tuple(snaps[k] for k in sorted(keys, key=sort_key) if k in snaps)
        for kr, keys in links.items()
    }


def build_context(
    *,
    session: Session,
    cycle: str | None,
    options: ContextOptions,
    now: dt.datetime | None = None,
    issues_of: Collection[str] | None = None,
) -> tuple[RenderContext, CycleReport]:
    """The render context of `cycle` (default: the running one) as of `now`, with the issues
    of the KRs `issues_of` (default: every KR's; publish adds them a level of pages at a time
    with `kr_issues`)."""
    moment = now or utcnow()
    report = evaluate_cycle(session=session, cycle=cycle, thresholds=options.thresholds, now=moment)
    if issues_of is None:
        issues_of = [kr.key for node in report.all_nodes() for kr, _ in node.key_results]
    issues = kr_issues(session=session, krs=issues_of)
    zone_name, tz = site_zone(state.SITE_TIME_ZONE.get(session=session))
    epics = epic_clause(session)
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
                    epic_clause=epics,
                )
            except ValueError:
                continue  # a source that selects nothing: the page shows the mapping error
    key = report.cycle.key
    objective_rows = cycle_history(session=session, kind="objective", cycle=key)
    kr_rows = cycle_history(session=session, kind="kr", cycle=key)
    changed: dict[str, dt.datetime] = {}
    for node in report.all_nodes():
        moments = [
            last_change(rows)
            for rows in (
                objective_rows.get(node.objective.key, []),
                *(kr_rows.get(kr.key, []) for kr, _ in node.key_results),
            )
        ]
        latest = max((m for m in moments if m is not None), default=None)
        if latest is not None:
            changed[node.objective.key] = latest
    context = RenderContext(
        checkins=report.checkins,
        carried=carried_titles(session, report.objectives),
        cycle=report.cycle,
        space_key=options.space_key,
        roots=tuple(report.nodes),
        today=report.on,
        teams={key: team.name for key, team in report.teams.items()},
        issues=issues,
        jql=jql,
        history={subject: daily_history(rows, tz) for subject, rows in objective_rows.items()},
        kr_history={subject: daily_history(rows, tz) for subject, rows in kr_rows.items()},
        jira_base_url=options.jira_base_url,
        jira_server_id=options.jira_server_id,
        last_sync=last_recorded(session=session, cycle=key),
        as_of=moment,
        last_change=changed,
        time_zone=zone_name,
        thresholds=options.thresholds,
        health=stored_health(session=session, cycle=report.cycle.key),
    )
    return context, report
