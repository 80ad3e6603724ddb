"""Progress over time as a small SVG: the measured line, the expected pace, and the scope.

The progress line is solid where it was recorded and dashed where it was reconstructed (a
mapping's first sync fills the days before it from the issues, see domain/backfill.py). The
scope (total weight, on the right axis) is the second series: a percentage that falls because
work was added shows as a rising scope, not as lost progress. The team's confidence from its
check-ins (0 to 10) is drawn as squares on the progress scale (7/10 at 70%). 640 px wide, so a
page fits 700.

Confluence shows an SVG attachment only with its XML declaration (without one it renders as a
corrupted image): `chart_attachment` adds it; the preview inlines the bare element.
"""

from __future__ import annotations

from datetime import date, timedelta

from okr_jira.domain.models import Cycle
from okr_jira.domain.pace import expected_progress
from okr_jira.render.context import ChartPoint
from okr_jira.render.markup import Safe, el

WIDTH, HEIGHT = 640, 250
LEFT, RIGHT, TOP, BOTTOM = 44, 52, 30, 28
ACTUAL_COLOUR = "#0052cc"
EXPECTED_COLOUR = "#97a0af"
SCOPE_COLOUR = "#ff8b00"
TODAY_COLOUR = "#ffab00"
CONFIDENCE_COLOUR = "#6554c0"
XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'
SVG_TYPE = "image/svg+xml"


def chart_attachment(svg: str) -> bytes:
    """The bytes of an SVG attachment: the XML declaration Confluence needs, then the image."""
    return (XML_DECLARATION + svg).encode("utf-8")


def progress_chart_svg(
    cycle: Cycle,
    history: tuple[ChartPoint, ...],
    today: date,
    title: str,
    *,
    scope_label: str = "scope",
    confidence: tuple[tuple[date, int], ...] = (),
) -> str:
    """Standalone SVG (with its xmlns): also valid inline in HTML."""
    first = cycle.start - timedelta(days=1)  # expected progress is 0 at the end of this day
    span = max((cycle.end - first).days, 1)
    points = sorted(history, key=lambda p: p.day)
    top_scope = max((p.scope for p in points if p.scope is not None), default=0.0)
    scope_max = _nice_ceiling(top_scope)

    def x(day: date) -> float:
        clamped = min(max(day, first), cycle.end)
        return round(LEFT + (clamped - first).days / span * (WIDTH - LEFT - RIGHT), 1)

    def y(share: float) -> float:
        clamped = min(max(share, 0.0), 1.0)
        return round(TOP + (1 - clamped) * (HEIGHT - TOP - BOTTOM), 1)

    parts: list[Safe] = [el("title", None, title)]
    for level in (0.0, 0.5, 1.0):
        parts.append(_line(LEFT, y(level), WIDTH - RIGHT, y(level), "#dfe1e6"))
        parts.append(_text(LEFT - 6, y(level) + 4, f"{level:.0%}", anchor="end"))
        if scope_max:
            parts.append(
                _text(WIDTH - RIGHT + 6, y(level) + 4, _num(scope_max * level), fill=SCOPE_COLOUR)
            )
    for day, anchor in ((cycle.start, "start"), (cycle.end, "end")):
        parts.append(_text(x(day), HEIGHT - 8, day.isoformat(), anchor=anchor))
    expected = [(x(first), y(0.0)), (x(cycle.end), y(expected_progress(cycle, cycle.end)))]
    parts.append(_polyline(expected, EXPECTED_COLOUR, dash="6 4"))
    if first <= today <= cycle.end:
        parts.append(
            _line(x(today), TOP, x(today), HEIGHT - BOTTOM, TODAY_COLOUR, dash="2 3", width=1)
        )
    if scope_max:
        scoped = [(x(p.day), y(p.scope / scope_max)) for p in points if p.scope is not None]
        if len(scoped) > 1:
            parts.append(_polyline(scoped, SCOPE_COLOUR, width=1.5, name="scope"))
    # Reconstructed days dashed, recorded ones solid; the dashed part runs into the first
    # recorded point so the line is continuous.
    rebuilt = [(x(p.day), y(p.progress)) for p in points if p.backfilled]
    recorded = [(x(p.day), y(p.progress)) for p in points if not p.backfilled]
    if rebuilt:
        joined = [*rebuilt, *recorded[:1]]
        if len(joined) > 1:
            parts.append(_polyline(joined, ACTUAL_COLOUR, dash="5 3", name="reconstructed"))
    if len(recorded) > 1:
        parts.append(_polyline(recorded, ACTUAL_COLOUR, name="progress"))
    for px, py in recorded:
        parts.append(el("circle", {"cx": px, "cy": py, "r": 2.5, "fill": ACTUAL_COLOUR}))
    marks = [(x(day), y(level / 10)) for day, level in sorted(confidence)]
    if len(marks) > 1:
        parts.append(_polyline(marks, CONFIDENCE_COLOUR, width=1.5, name="confidence"))
    for px, py in marks:
        square = {"x": px - 2.5, "y": py - 2.5, "width": 5, "height": 5}
        parts.append(el("rect", {**square, "fill": CONFIDENCE_COLOUR}))
    parts.extend(_legend(bool(rebuilt), scope_label if scope_max else None, bool(marks)))
    return el(
        "svg",
        {
            "xmlns": "http://www.w3.org/2000/svg",
            "width": WIDTH,
            "height": HEIGHT,
            "viewBox": f"0 0 {WIDTH} {HEIGHT}",
            "font-family": "sans-serif",
            "role": "img",
        },
        *parts,
    )


def _legend(rebuilt: bool, scope_label: str | None, confidence: bool) -> list[Safe]:
    entries: list[tuple[str, str, str | None]] = [("progress", ACTUAL_COLOUR, None)]
    if rebuilt:
        entries.append(("reconstructed", ACTUAL_COLOUR, "5 3"))
    entries.append(("expected pace", EXPECTED_COLOUR, "6 4"))
    if scope_label:
        entries.append((scope_label + " (right axis)", SCOPE_COLOUR, None))
    if confidence:
        entries.append(("confidence /10", CONFIDENCE_COLOUR, None))
    out: list[Safe] = []
    left = LEFT
    for label, colour, dash in entries:
        out.append(_line(left, 12, left + 18, 12, colour, dash=dash))
        out.append(_text(left + 22, 16, label, anchor="start", fill=colour))
        left += 30 + 6 * len(label)
    return out


def _nice_ceiling(value: float) -> float:
    """A round axis maximum at or above `value` (0 when there is no scope)."""
    if value <= 0:
        return 0.0
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10_000):
        top = step * 2
        if value <= top:
            return float(top)
    return float(int(value * 1.1) + 1)


def _num(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def _text(
    px: float, py: float, text: str, *, anchor: str = "start", fill: str | None = None
) -> Safe:
    attrs = {"x": px, "y": py, "text-anchor": anchor, "font-size": 11, "fill": fill}
    return el("text", attrs, text)


def _line(
    x1: float,
    y1: float,
    x2: float,
    y2: float,
    colour: str,
    *,
    dash: str | None = None,
    width: float = 2,
) -> Safe:
    attrs = {"x1": x1, "y1": y1, "x2": x2, "y2": y2, "stroke": colour, "stroke-width": width}
    return el("line", {**attrs, "stroke-dasharray": dash})


def _polyline(
    points: list[tuple[float, float]],
    colour: str,
    *,
    dash: str | None = None,
    width: float = 2,
    name: str | None = None,
) -> Safe:
    return el(
        "polyline",
        {
            "points": " ".join(f"{px},{py}" for px, py in points),
            "fill": "none",
            "stroke": colour,
            "stroke-width": width,
            "stroke-dasharray": dash,
            "data-series": name,
        },
    )
