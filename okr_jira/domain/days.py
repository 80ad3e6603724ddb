"""Days as the site lives them: the boundaries of a calendar day in the site's time zone.

A day's history (`tree --at DATE`, a chart's point, a backfilled day) is the state at the end of
that day where the teams work, not in UTC. Pure arithmetic over `zoneinfo` (stdlib, with the
`tzdata` package where the system has no zone database).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

UTC_NAME = "UTC"


def zone(name: str | None) -> dt.tzinfo:
    """The IANA zone `name` (UTC when empty); ValueError naming it when it is unknown."""
    if not name or name.strip().upper() in ("UTC", "ETC/UTC", "Z", "GMT"):
        return dt.UTC
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (an IANA name like Europe/Paris)") from None


def day_end(day: dt.date, tz: dt.tzinfo) -> dt.datetime:
    """The last instant of `day` in `tz`, as an aware UTC datetime (one microsecond before the
    next day starts, so a day of 23 or 25 hours at a daylight-saving change ends right)."""
    next_start = dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    return next_start.astimezone(dt.UTC) - dt.timedelta(microseconds=1)


def local_day(moment: dt.datetime, tz: dt.tzinfo) -> dt.date:
    """The calendar day `moment` falls on in `tz` (a naive moment is taken as UTC)."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
    return aware.astimezone(tz).date()


def days(first: dt.date, last: dt.date) -> list[dt.date]:
    """Every day from `first` to `last`, both included (empty when last < first)."""
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]
