"""Recorded points -> what a chart draws: one point per day of the site's time zone (the day's
last value, so another sync on the same day with nothing new leaves the chart unchanged), and
when the values last moved. The pages, the web app and the API read history through here."""

from __future__ import annotations

import datetime as dt

from okr_jira.domain.days import local_day
from okr_jira.render.context import ChartPoint, History
from okr_jira.storage.progress import Point


def daily_history(rows: list[Point], tz: dt.tzinfo = dt.UTC) -> History:
    """One point per day (in `tz`), the last value of each day, oldest first."""
    by_day: dict[dt.date, ChartPoint] = {}
    for point in sorted(rows, key=lambda r: r.at):
        day = local_day(point.at, tz)
        by_day[day] = ChartPoint(day, point.progress, point.scope, point.backfilled)
    return tuple(by_day.values())


def last_change(rows: list[Point]) -> dt.datetime | None:
    """When the values last moved: the first point of the latest run of equal values."""
    changed: dt.datetime | None = None
    previous: tuple[float, float | None] | None = None
    for point in sorted(rows, key=lambda r: r.at):
        value = (round(point.progress, 6), point.scope)
        if value != previous:
            changed, previous = point.at, value
    return changed
