"""Progress over time as a small SVG: the measured line against the expected-pace line, and the
team's confidence (0 to 10, right-hand scale) from its check-ins."""

from __future__ import annotations

from datetime import date, timedelta

from okr_jira.domain.models import Cycle
from okr_jira.domain.pace import expected_progress
from okr_jira.render.context import History
from okr_jira.render.markup import Safe, el

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 44, 16, 24, 28
ACTUAL_COLOUR = "#0052cc"
EXPECTED_COLOUR = "#97a0af"
CONFIDENCE_COLOUR = "#6554c0"


def progress_chart_svg(
    cycle: Cycle,
    history: History,
    today: date,
    title: str,
    confidence: tuple[tuple[date, int], ...] = (),
) -> str:
    """Standalone SVG (with its xmlns): also valid inline in HTML."""
    first = cycle.start - timedelta(days=1)  # expected progress is 0 at the end of this day
    span = max((cycle.end - first).days, 1)

    def x(day: date) -> float:
        clamped = min(max(day, first), cycle.end)
        return round(LEFT + (clamped - first).days / span * (WIDTH - LEFT - RIGHT), 1)

    def y(progress: float) -> float:
        clamped = min(max(progress, 0.0), 1.0)
        return round(TOP + (1 - clamped) * (HEIGHT - TOP - BOTTOM), 1)

    parts: list[Safe] = [el("title", None, title)]
    for level in (0.0, 0.5, 1.0):
        parts.append(
            el(
                "line",
                {
                    "x1": LEFT,
                    "x2": WIDTH - RIGHT,
                    "y1": y(level),
                    "y2": y(level),
                    "stroke": "#dfe1e6",
                },
            )
        )
        parts.append(
            el(
                "text",
                {"x": LEFT - 6, "y": y(level) + 4, "text-anchor": "end", "font-size": 11},
                f"{level:.0%}",
            )
        )
    for day, anchor in ((cycle.start, "start"), (cycle.end, "end")):
        parts.append(
            el(
                "text",
                {"x": x(day), "y": HEIGHT - 8, "text-anchor": anchor, "font-size": 11},
                day.isoformat(),
            )
        )
    expected = [(x(first), y(0.0)), (x(cycle.end), y(expected_progress(cycle, cycle.end)))]
    parts.append(_polyline(expected, EXPECTED_COLOUR, dashed=True))
    if first <= today <= cycle.end:
        parts.append(
            el(
                "line",
                {
                    "x1": x(today),
                    "x2": x(today),
                    "y1": TOP,
                    "y2": HEIGHT - BOTTOM,
                    "stroke": "#ffab00",
                    "stroke-dasharray": "2 3",
                },
            )
        )
    if confidence:
        # Confidence 0..10 on the same height as 0..100 %, labelled on the right.
        for level in (0, 5, 10):
            parts.append(
                el(
                    "text",
                    {"x": WIDTH - RIGHT + 2, "y": y(level / 10) + 4, "font-size": 10,
                     "fill": CONFIDENCE_COLOUR},
                    str(level),
                )
            )  # fmt: skip
        marks = [(x(day), y(value / 10)) for day, value in sorted(confidence)]
        if len(marks) > 1:
            parts.append(_polyline(marks, CONFIDENCE_COLOUR, dashed=False, width=1.5))
        for px, py in marks:
            parts.append(
                el("rect", {"x": px - 2.5, "y": py - 2.5, "width": 5, "height": 5,
                            "fill": CONFIDENCE_COLOUR})
            )  # fmt: skip
    points = [(x(day), y(progress)) for day, progress in sorted(history)]
    if len(points) > 1:
        parts.append(_polyline(points, ACTUAL_COLOUR, dashed=False))
    for px, py in points:
        parts.append(el("circle", {"cx": px, "cy": py, "r": 2.5, "fill": ACTUAL_COLOUR}))
    parts.append(
        el(
            "text",
            {"x": LEFT, "y": 14, "font-size": 11, "fill": EXPECTED_COLOUR},
            "- - expected pace",
        )
    )
    parts.append(
        el(
            "text",
            {"x": LEFT + 110, "y": 14, "font-size": 11, "fill": ACTUAL_COLOUR},
            "── progress",
        )
    )
    if confidence:
        parts.append(
            el(
                "text",
                {"x": LEFT + 200, "y": 14, "font-size": 11, "fill": CONFIDENCE_COLOUR},
                "■ confidence (0-10, right)",
            )
        )
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


def _polyline(
    points: list[tuple[float, float]], colour: str, *, dashed: bool, width: float = 2
) -> Safe:
    return el(
        "polyline",
        {
            "points": " ".join(f"{px},{py}" for px, py in points),
            "fill": "none",
            "stroke": colour,
            "stroke-width": width,
            "stroke-dasharray": "6 4" if dashed else None,
        },
    )
