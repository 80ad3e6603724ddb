"""Stored state -> the weekly digest and the check-in reminder of a team, or of the whole tree.

A digest says what moved since the last one (each KR's change), what is at risk or off track
against the expected pace, scope changes (issues that joined or left, backfills), targets moved,
mapping errors, confidence falling, and whose check-in is due; each line links to its objective's
page. A team's digest covers its objectives and those of the teams below it.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable

from sqlmodel import Session

from okr_jira.domain import pace
from okr_jira.domain.checkins import (
    CheckIn,
    checked_in_since,
    confidence_falling,
    iso_week,
    latest,
    week_start,
)
from okr_jira.domain.digest import TREE, Line, Message, Section
from okr_jira.domain.models import KeyResult, KrProgress, ObjectiveNode, PaceThresholds, Team
from okr_jira.domain.report import CycleReport
from okr_jira.report.evaluate import evaluate_cycle
from okr_jira.storage import audit, links, state
from okr_jira.storage.okrs import load_okrs
from okr_jira.storage.pages import page_rows
from okr_jira.storage.progress import progress_as_of

PageUrl = Callable[[str], str]  # Confluence page id -> its URL
MOVED_AT_LEAST = 0.005  # half a percentage point


def team_scope(teams: Iterable[Team], key: str) -> set[str]:
    """The team and every team below it."""
    children: dict[str | None, list[str]] = defaultdict(list)
    for t in teams:
        children[t.parent].append(t.key)
    out, stack = set(), [key]
    while stack:
        current = stack.pop()
        if current not in out:
            out.add(current)
            stack.extend(children.get(current, ()))
    return out


def running_reports(
    *, session: Session, now: dt.datetime, thresholds: PaceThresholds
) -> list[CycleReport]:
    today = now.date()
    cycles = [c for c in load_okrs(session=session).cycles if c.start <= today <= c.end]
    return [
        evaluate_cycle(session=session, cycle=c.key, now=now, thresholds=thresholds) for c in cycles
    ]


class _Pages:
    """Objective and root page URLs of what publishing wrote (none without Confluence)."""

    def __init__(self, session: Session, reports: list[CycleReport], url: PageUrl | None) -> None:
        self.by_subject: dict[tuple[str, str], str] = {}
        if url is None:
            return
        for report in reports:
            for subject, row in page_rows(session=session, cycle=report.cycle.key).items():
                self.by_subject[(report.cycle.key, subject)] = url(row.page_id)

    def objective(self, report: CycleReport, key: str) -> str | None:
        return self.by_subject.get((report.cycle.key, key))

    def root(self, report: CycleReport) -> str | None:
        return self.by_subject.get((report.cycle.key, "root"))


def _pct(progress: float) -> str:
    return f"{progress * 100:.0f}%"


def _num(value: float | None, unit: str | None) -> str:
    if value is None:
        return "?"
    text = f"{value:g}"
    return f"{text} {unit}" if unit else text


def _in_scope(report: CycleReport, teams: set[str] | None) -> list[ObjectiveNode]:
    return [n for n in report.all_nodes() if teams is None or n.objective.team in teams]


def build_digest(
    *,
    session: Session,
    subject: str,
    now: dt.datetime,
    thresholds: PaceThresholds,
    page_url: PageUrl | None = None,
    since: dt.datetime | None = None,
) -> Message:
    """The digest of `subject` (TREE or a team key) on `now`; changes since `since` (default: the
    last digest built for it, else a week ago)."""
    declared = load_okrs(session=session)
    teams = {t.key: t for t in declared.teams}
    scope = None if subject == TREE else team_scope(declared.teams, subject)
    reports = running_reports(session=session, now=now, thresholds=thresholds)
    pages = _Pages(session, reports, page_url)
    last = state.digest_last_built(subject).get(session=session)
    since = since or last or now - dt.timedelta(days=7)
    moved: list[tuple[float, Line]] = []
    risky: list[Line] = []
    signals: list[Line] = []
    falling: list[Line] = []
    due: list[Line] = []
    counts: dict[str, int] = defaultdict(int)
    monday = dt.datetime.combine(week_start(now.date()), dt.time.min, tzinfo=dt.UTC)
    for report in reports:
        nodes = _in_scope(report, scope)
        krs = [(node, kr, st) for node in nodes for kr, st in node.key_results]
        before = progress_as_of(
            session=session, kind="kr", subjects=[kr.key for _, kr, _ in krs], until=since
        )
        for node in nodes:
            objective = node.objective
            url = pages.objective(report, objective.key)
            status = report.status(node.progress)
            counts[status] += 1
            checkins = report.checkins.get(objective.key, ())
            if status in ("at_risk", "off_track"):
                expected = pace.expected_progress(report.cycle, report.on)
                risky.append(Line(
                    f"{objective.key} {objective.title}: {_pct(node.progress)} with "
                    f"{_pct(expected)} of the cycle gone, {status.replace('_', ' ')}", url,
                ))  # fmt: skip
            for kr, st in node.key_results:
                kr_status = report.status(st.progress)
                if kr_status in ("at_risk", "off_track"):
                    risky.append(Line(f"↳ {kr.key} {kr.title}: {_pct(st.progress)}, "
                                      f"{kr_status.replace('_', ' ')}", url))  # fmt: skip
            drop = confidence_falling(checkins)
            if drop is not None:
                said = latest(checkins)
                note = f" ({said.note})" if said and said.note else ""
                falling.append(Line(
                    f"{objective.key} {objective.title}: confidence {drop[0]} → {drop[1]}{note}",
                    url,
                ))  # fmt: skip
            if not checked_in_since(checkins, monday):
                due.append(Line(f"{objective.key} {objective.title} "
                                f"({_team_name(teams, objective.team)}): "
                                f"{_last_checkin(checkins)}", url))  # fmt: skip
        for node, kr, st in krs:
            url = pages.objective(report, node.objective.key)
            old = before.get(kr.key)
            if old is not None and abs(st.progress - old.progress) >= MOVED_AT_LEAST:
                text = _moved_text(kr, st, old.progress, old.current)
                moved.append((abs(st.progress - old.progress), Line(text, url)))
            if st.error:
                signals.append(Line(f"{kr.key}: mapping error: {st.error}", url))
        signals.extend(_scope_lines(session, report, krs, since, pages))
        signals.extend(_target_lines(session, krs, since, report, pages))
    names = ", ".join(r.cycle.name for r in reports) or "no running cycle"
    who = "the whole OKR tree" if subject == TREE else _team_name(teams, subject)
    period = iso_week(now.date())
    total = sum(counts.values())
    elapsed = (
        "; ".join(
            f"{r.cycle.name}: {_pct(pace.expected_progress(r.cycle, r.on))} of the cycle elapsed"
            for r in reports
        )
        or "No cycle is running."
    )
    intro = (
        f"{elapsed}. {total} objective(s): {counts['on_track']} on track, "
        f"{counts['at_risk']} at risk, {counts['off_track']} off track, {counts['done']} done. "
        f"Changes since {since.date().isoformat()}."
    )
    moved.sort(key=lambda pair: -pair[0])
    return Message(
        kind="digest",
        subject=subject,
        period=period,
        title=f"OKR digest for {who}, {names}, week {period}",
        intro=intro,
        sections=(
            Section("Moved since the last digest", tuple(line for _, line in moved)),
            Section("At risk or off track against the expected pace", tuple(risky)),
            Section("Scope changes and other signals", tuple(signals)),
            Section("Confidence falling", tuple(falling)),
            Section("Check-ins due this week", tuple(due)),
        ),
        url=pages.root(reports[0]) if reports else None,
    )


def build_reminder(
    *,
    session: Session,
    team: str,
    now: dt.datetime,
    thresholds: PaceThresholds,
    page_url: PageUrl | None = None,
) -> Message:
    """The team's reminder: its objectives in running cycles with no check-in this week."""
    declared = load_okrs(session=session)
    teams = {t.key: t for t in declared.teams}
    reports = running_reports(session=session, now=now, thresholds=thresholds)
    pages = _Pages(session, reports, page_url)
    monday = dt.datetime.combine(week_start(now.date()), dt.time.min, tzinfo=dt.UTC)
    lines = []
    for report in reports:
        for node in _in_scope(report, {team}):
            checkins = report.checkins.get(node.objective.key, ())
            if not checked_in_since(checkins, monday):
                lines.append(Line(
                    f"{node.objective.key} {node.objective.title}: {_last_checkin(checkins)}",
                    pages.objective(report, node.objective.key),
                ))  # fmt: skip
    period = iso_week(now.date())
    return Message(
        kind="reminder",
        subject=team,
        period=period,
        title=f"Weekly OKR check-in due for {_team_name(teams, team)}, week {period}",
        intro=(
            "No check-in yet this week on these objectives. Say where each stands: "
            'okr-jira checkin KEY --confidence 0-10 --note "..." --blockers "..." '
            "(or POST /api/checkins)."
        ),
        sections=(Section("Objectives without a check-in this week", tuple(lines)),),
        url=pages.root(reports[0]) if reports else None,
    )


def _team_name(teams: dict[str, Team], key: str) -> str:
    team = teams.get(key)
    return team.name if team else key


def _last_checkin(checkins: tuple[CheckIn, ...]) -> str:
    weekly = [c for c in checkins if c.weekly]
    if not weekly:
        return "no check-in yet"
    return f"last check-in {weekly[-1].at.date().isoformat()}"


def _moved_text(kr: KeyResult, st: KrProgress, old: float, old_current: float | None) -> str:
    delta = (st.progress - old) * 100
    text = f"{kr.key} {kr.title}: {_pct(old)} → {_pct(st.progress)} ({delta:+.0f} pts)"
    if kr.kind != "issues" and st.current is not None and old_current is not None:
        text += f", {_num(old_current, kr.unit)} → {_num(st.current, kr.unit)}"
    return text


def _scope_lines(
    session: Session,
    report: CycleReport,
    krs: list[tuple[ObjectiveNode, KeyResult, KrProgress]],
    since: dt.datetime,
    pages: _Pages,
) -> list[Line]:
    owner = {kr.key: (node, kr) for node, kr, _ in krs}
    moves = links.changes_since(session=session, krs=list(owner), since=since)
    per_kr: dict[str, list[links.ScopeMove]] = defaultdict(list)
    for move in moves:
        per_kr[move.kr].append(move)
    out = []
    for key, items in per_kr.items():
        node, kr = owner[key]
        joined = [m for m in items if m.joined]
        left = [m for m in items if not m.joined]
        backfill = sum(1 for m in joined if m.done)
        parts = []
        if joined:
            note = f" ({backfill} already done: a backfill)" if backfill else ""
            parts.append(f"{len(joined)} issue(s) joined{note}")
        if left:
            parts.append(f"{len(left)} left")
        out.append(Line(f"{kr.key} {kr.title}: scope changed, " + ", ".join(parts),
                        pages.objective(report, node.objective.key)))  # fmt: skip
    return out


def _target_lines(
    session: Session,
    krs: list[tuple[ObjectiveNode, KeyResult, KrProgress]],
    since: dt.datetime,
    report: CycleReport,
    pages: _Pages,
) -> list[Line]:
    owner = {kr.key: (node, kr) for node, kr, _ in krs}
    out = []
    for row in audit.changes_since(
        session=session, since=since, entity="key_result", fields=("target", "start")
    ):
        if row.entity_key not in owner:
            continue
        node, kr = owner[row.entity_key]
        text = f"{kr.key} {kr.title}: {row.field} changed {row.old or 'none'} → {row.new or 'none'}"
        if row.field == "target" and _lowered(kr, row.old, row.new):
            text += " (lowered)"
        out.append(Line(text, pages.objective(report, node.objective.key)))
    return out


def _lowered(kr: KeyResult, old: str | None, new: str | None) -> bool:
    """A target moved towards the start: less ambition (up for a decreasing KR such as bugs)."""
    try:
        before, after = float(old or ""), float(new or "")
    except ValueError:
        return False
    start = kr.start or 0.0
    return abs(after - start) < abs(before - start)
