"""Health for people: the Health section of an objective page, the Cycle health page (every
signal and the calibration report), and `okr-jira health` in a terminal.

Teams and key results only, never a person: the one name shown is the admin who changed a target,
as the audit log records it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from okr_jira.domain.health import BANDS, HealthReport, Signal
from okr_jira.render.dialect import Colour, Dialect
from okr_jira.render.markup import Safe, el, join

KIND_TITLE = {
    "scope_change": "Scope change",
    "backfilled": "Backfilled",
    "target_lowered": "Target lowered",
    "overlap": "Cross-team overlap",
    "jump": "Progress jump",
    "stale_checkin": "Stale check-in",
    "sandbagging": "Sandbagging",
}
SEVERITY_COLOUR: dict[str, Colour] = {"warning": "Yellow", "info": "Blue"}
HEALTH_FILE = "health.html"
MAX_ISSUES_SHOWN = 20
HEALTH_NOTE = (
    "Guardrail signals of this cycle, computed by okr-jira at every sync from the scope history, "
    "the audit log, the progress history and the check-ins. They point at numbers to look at "
    "together, not at people: okr-jira keeps no assignee and no score per person."
)


def _issues(issues: Sequence[str]) -> str:
    shown = ", ".join(issues[:MAX_ISSUES_SHOWN])
    more = len(issues) - MAX_ISSUES_SHOWN
    return shown + (f" and {more} more" if more > 0 else "") if issues else "—"


def _since(signal: Signal) -> str:
    return signal.since.date().isoformat() if signal.since else "—"


def _row(cells: list[Safe | str], header: bool = False) -> Safe:
    return el("tr", None, *(el("th" if header else "td", None, c) for c in cells))


def _table(head: list[str], rows: list[Safe]) -> Safe:
    return el("table", None, el("tbody", None, _row(list(head), header=True), *rows))


def _signal_table(d: Dialect, signals: Sequence[Signal], *, with_team: bool) -> Safe:
    head = ["Signal", *(["Team"] if with_team else []), "Key result", "What", "Issues", "Since"]
    rows = [
        _row(
            [
                d.lozenge(KIND_TITLE[s.kind].upper(), SEVERITY_COLOUR[s.severity]),
                *([s.team or "—"] if with_team else []),
                s.key_result or (s.objective or "—"),
                s.detail,
                _issues(s.issues),
                _since(s),
            ]
        )
        for s in signals
    ]
    return _table(head, rows)


def health_section(d: Dialect, signals: Sequence[Signal]) -> Safe | None:
    """An objective page's "Health" section; None (nothing shown) without signals."""
    if not signals:
        return None
    return join(
        [
            el("h2", None, "Health"),
            d.panel(
                "warning",
                el(
                    "p",
                    None,
                    f"{len(signals)} guardrail signal(s) on this objective: numbers to "
                    "look at together at the next check-in.",
                ),
            ),
            _signal_table(d, signals, with_team=False),
        ]
    )


def _distribution(report: HealthReport, team_names: Mapping[str, str]) -> Safe:
    if not report.distribution:
        return el("p", None, "No key results in this cycle.")
    rows = [
        _row(
            [
                team_names.get(t.team, t.name),
                str(t.key_results),
                f"{t.mean_score:.2f}",
                *(str(n) for n in t.bands),
            ]
        )
        for t in report.distribution
    ]
    return _table(["Team", "Key results", "Mean score", *BANDS], rows)


def _overlaps(report: HealthReport, team_names: Mapping[str, str]) -> Safe:
    if not report.overlaps:
        return el("p", None, "No issue counts toward key results of two teams.")
    rows = [
        _row(
            [
                f"{o.key_results[0]} ({team_names.get(o.teams[0], o.teams[0])})",
                f"{o.key_results[1]} ({team_names.get(o.teams[1], o.teams[1])})",
                _issues(o.issues),
            ]
        )
        for o in report.overlaps
    ]
    return _table(["Key result", "Also counted by", "Shared issues"], rows)


def _of_kind(d: Dialect, report: HealthReport, kind: str, none: str) -> Safe:
    signals = [s for s in report.signals if s.kind == kind]
    if not signals:
        return el("p", None, none)
    return _signal_table(d, signals, with_team=True)


def cycle_health_body(
    d: Dialect, report: HealthReport | None, team_names: Mapping[str, str], cycle_name: str
) -> Safe:
    """The Cycle health page: every signal, then the calibration report."""
    if report is None:
        return join(
            [
                d.panel("info", el("p", None, HEALTH_NOTE)),
                el("p", None, "No sync has computed the health of this cycle yet."),
            ]
        )
    counts = {k: len(report.of_kind(k)) for k in KIND_TITLE}  # type: ignore[arg-type]
    summary = ", ".join(f"{n} {KIND_TITLE[k].lower()}" for k, n in counts.items() if n)
    return join(
        [
            d.panel("info", el("p", None, HEALTH_NOTE)),
            el(
                "p",
                None,
                el("strong", None, cycle_name),
                ": "
                + (
                    f"{len(report.signals)} signal(s): {summary}."
                    if report.signals
                    else "no signal: the numbers moved as the work did."
                ),
            ),
            el("h2", None, "Signals"),
            _signal_table(d, report.signals, with_team=True)
            if report.signals
            else el("p", None, "None."),
            el("h2", None, "Calibration"),
            el("h3", None, "Score distribution by team"),
            el("p", None, "Key results of each team by score band. Teams, never people."),
            _distribution(report, team_names),
            el("h3", None, "Overlaps"),
            _overlaps(report, team_names),
            el("h3", None, "Targets lowered"),
            _of_kind(d, report, "target_lowered", "No target was made less ambitious."),
            el("h3", None, "Scope moved"),
            _of_kind(d, report, "scope_change", "No key result's scope moved past the threshold."),
        ]
    )


def health_text(report: HealthReport) -> str:
    """`okr-jira health`: one block per signal, then the score distribution and the overlaps."""
    lines = [
        f"Health of {report.cycle} (computed {report.computed_at:%Y-%m-%d %H:%M} UTC): "
        f"{len(report.signals)} signal(s)"
    ]
    for s in report.signals:
        subject = s.key_result or s.objective
        where = f"{subject} [{s.team}]" if subject else f"team {s.team}"
        lines.append(f"  {s.severity.upper():8} {s.kind:15} {where}: {s.detail}")
        if s.issues:
            lines.append(f"           issues: {_issues(s.issues)}")
    lines.append("Score distribution by team (key results per score band):")
    lines.append(f"  {'team':20} {'KRs':>4} {'mean':>5}  " + "  ".join(f"{b:>8}" for b in BANDS))
    for t in report.distribution:
        bands = "  ".join(f"{n:>8}" for n in t.bands)
        lines.append(f"  {t.name[:20]:20} {t.key_results:>4} {t.mean_score:>5.2f}  {bands}")
    if report.overlaps:
        lines.append("Overlaps between teams:")
        for o in report.overlaps:
            (a, b), (ta, tb) = o.key_results, o.teams
            lines.append(f"  {a} ({ta}) and {b} ({tb}): {_issues(o.issues)}")
    return "\n".join(lines)
