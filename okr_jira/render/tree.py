"""The OKR tree for a terminal (bars, colour when it is a TTY) and as JSON (`tree --json`)."""

from __future__ import annotations

from typing import Any

from okr_jira.domain import pace
from okr_jira.domain.checkins import CheckIn, confidence_series, latest, week_start
from okr_jira.domain.health import HealthReport
from okr_jira.domain.models import KeyResult, KrProgress, ObjectiveNode
from okr_jira.domain.report import CycleReport

_COLOURS = {
    "done": "\x1b[34m",
    "on_track": "\x1b[32m",
    "at_risk": "\x1b[33m",
    "off_track": "\x1b[31m",
    "not_started": "\x1b[90m",
}
_RESET = "\x1b[0m"


def _num(value: float | None) -> float | None:
    if value is None:
        return None
    return int(value) if float(value).is_integer() else round(value, 4)


def kr_json(
    report: CycleReport,
    kr: KeyResult,
    state: KrProgress,
    checkins: tuple[CheckIn, ...] = (),
    health: HealthReport | None = None,
) -> dict[str, Any]:
    return {
        "key": kr.key,
        "title": kr.title,
        "kind": kr.kind,
        "progress": round(state.progress, 4),
        "score": pace.score(state.progress),
        "current": _num(state.current),
        "start": _num(kr.start),
        "target": _num(kr.target),
        "unit": kr.unit,
        "weight": _num(kr.weight),
        "indicator": kr.indicator,
        "status": report.status(state.progress),
        "issues": {
            "total": state.issues_total,
            "done": state.issues_done,
            "in_progress": state.issues_in_progress,
        },
        "warnings": list(state.warnings),
        "error": state.error,
        "carried_from": kr.carried_from,
        "checkin": checkin_json(latest(checkins, kr=kr.key)),
        "signals": [s.to_dict() for s in health.for_key_result(kr.key)] if health else [],
    }


def checkin_json(c: CheckIn | None) -> dict[str, Any] | None:
    if c is None:
        return None
    return {
        "at": c.at.isoformat(),
        "value": _num(c.value),
        "confidence": c.confidence,
        "note": c.note,
        "blockers": c.blockers,
    }


def checkins_json(report: CycleReport, key: str) -> dict[str, Any]:
    """An objective's check-ins as `tree --json` shows them: the latest, the confidence line,
    whether this week's is due, and the retrospective note."""
    checkins = report.checkins.get(key, ())
    retros = [c for c in checkins if c.retro]
    monday = week_start(report.on)
    running = report.cycle.start <= report.on <= report.cycle.end
    this_week = any(c.weekly and c.at.date() >= monday for c in checkins)
    return {
        "latest": checkin_json(latest(checkins)),
        "confidence": [
            {"on": day.isoformat(), "confidence": value}
            for day, value in confidence_series(checkins)
        ],
        "due": running and not this_week,
        "retro": retros[-1].retro if retros else None,
    }


def node_json(
    report: CycleReport, node: ObjectiveNode, health: HealthReport | None = None
) -> dict[str, Any]:
    score = pace.score(node.progress)
    own = health.for_objective(node.objective) if health else []
    return {
        "key": node.objective.key,
        "title": node.objective.title,
        "team": node.objective.team,
        "progress": round(node.progress, 4),
        "score": score,
        "grade": pace.grade(score),
        "status": report.status(node.progress),
        "carried_from": node.objective.carried_from,
        "checkins": checkins_json(report, node.objective.key),
        "signals": [s.to_dict() for s in own],
        "key_results": [
            kr_json(report, kr, st, report.checkins.get(node.objective.key, ()), health)
            for kr, st in node.key_results
        ],
        "children": [node_json(report, child, health) for child in node.children],
    }


def tree_json(report: CycleReport, health: HealthReport | None = None) -> dict[str, Any]:
    """The tree as JSON; `signals` of each objective and KR come from `health` (the guardrail
    signals the last sync kept), empty without it."""
    c = report.cycle
    return {
        "cycle": {
            "key": c.key,
            "name": c.name,
            "start": c.start.isoformat(),
            "end": c.end.isoformat(),
        },
        "on": report.on.isoformat(),
        "expected_progress": round(pace.expected_progress(c, report.on), 4),
        "generated_at": report.generated_at.isoformat(),
        "objectives": [node_json(report, n, health) for n in report.nodes],
    }


def bar(progress: float, width: int = 20) -> str:
    filled = round(max(0.0, min(1.0, progress)) * width)
    return "█" * filled + "░" * (width - filled)


def tree_text(report: CycleReport, *, colour: bool, health: HealthReport | None = None) -> str:
    c = report.cycle
    expected = pace.expected_progress(c, report.on)
    lines = [
        f"{c.name} ({c.key}) {c.start} .. {c.end}  on {report.on}: "
        f"{expected:.0%} of the cycle elapsed" + ("  [from history]" if report.historical else "")
    ]
    if not report.nodes:
        lines.append("  (no objectives in this cycle)")

    def paint(status: str, text: str) -> str:
        return f"{_COLOURS[status]}{text}{_RESET}" if colour else text

    def walk(node: ObjectiveNode, depth: int) -> None:
        pad = "  " * depth
        score = pace.score(node.progress)
        status = report.status(node.progress)
        team = report.teams.get(node.objective.team)
        lines.append(
            f"{pad}{node.objective.key}  {node.objective.title}  "
            f"[{team.name if team else node.objective.team}]"
        )
        lines.append(
            f"{pad}  {bar(node.progress)} {node.progress:6.1%}  score {score:.2f} "
            f"{pace.grade(score):8}  {paint(status, status.replace('_', ' '))}"
        )
        last = latest(report.checkins.get(node.objective.key, ()))
        if last is not None:
            said = f"confidence {last.confidence}/10" if last.confidence is not None else ""
            said += (": " if said and last.note else "") + (last.note or "")
            lines.append(f"{pad}  check-in {last.at.date()}: {said or 'noted'}")
            if last.blockers:
                lines.append(f"{pad}  blockers: {last.blockers}")
        for signal in health.for_objective(node.objective) if health else []:
            lines.append(f"{pad}  ⚑ {signal.kind}: {signal.detail}")
        for kr, st in node.key_results:
            status = report.status(st.progress)
            detail = _kr_detail(kr, st)
            lines.append(
                f"{pad}  - {kr.key}  {bar(st.progress, 10)} {st.progress:6.1%}  "
                f"{paint(status, status.replace('_', ' '))}  {kr.title}{detail}"
            )
            for warning in st.warnings:
                lines.append(f"{pad}      ! {warning}")
            if st.error:
                lines.append(f"{pad}      {paint('off_track', 'ERROR')}: {st.error}")
            for signal in health.for_key_result(kr.key) if health else []:
                lines.append(f"{pad}      ⚑ {signal.kind}: {signal.detail}")
        for child in node.children:
            walk(child, depth + 1)

    for node in report.nodes:
        walk(node, 1)
    return "\n".join(lines)


def _kr_detail(kr: KeyResult, st: KrProgress) -> str:
    unit = f" {kr.unit}" if kr.unit else ""
    if kr.kind == "issues":
        return f"  ({st.issues_done}/{st.issues_total} done, {st.issues_in_progress} in progress)"
    if st.current is None:
        return f"  (start {_num(kr.start)}, target {_num(kr.target)}{unit})"
    return f"  ({_num(st.current)}{unit}: {_num(kr.start)} -> {_num(kr.target)})"
