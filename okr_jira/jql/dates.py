"""JQL date operands: absolute dates, relative periods and the date functions."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

ABSOLUTE_RE = re.compile(r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:\s+(\d{1,2}):(\d{2}))?$")
PERIOD_RE = re.compile(r"^([-+]?)\s*((?:\d+\s*[wdhm]\s*)+)$", re.IGNORECASE)
_PERIOD_PART = re.compile(r"(\d+)\s*([wdhm])", re.IGNORECASE)
_UNIT = {"w": timedelta(weeks=1), "d": timedelta(days=1), "h": timedelta(hours=1)}
DATE_FUNCTIONS = frozenset(
    {
        "now",
        "startofday",
        "endofday",
        "startofweek",
        "endofweek",
        "startofmonth",
        "endofmonth",
        "startofyear",
        "endofyear",
    }
)


def invalid_date_message(value: str, field: str) -> str:
    return (
        f"Date value '{value}' for field '{field}' is invalid. Valid formats include: "
        "'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period "
        "format e.g. '-5d', '4w 2d'."
    )


def parse_absolute(value: str) -> datetime | None:
    """A naive datetime for `2026-10-01` / `2026/10/01 14:30`, or None if not one."""
    m = ABSOLUTE_RE.match(value.strip())
    if m is None:
        return None
    year, month, day, hour, minute = (int(g) if g else 0 for g in m.groups())
    try:
        return datetime(year, month, day, hour, minute)
    except ValueError:
        return None


def parse_period(value: str) -> timedelta | None:
    """`-7d`, `4w 2d`, `-30m` as a signed timedelta, or None if not a period."""
    m = PERIOD_RE.match(value.strip())
    if m is None:
        return None
    total = timedelta()
    for amount, unit in _PERIOD_PART.findall(m.group(2)):
        step = _UNIT.get(unit.lower(), timedelta(minutes=1))
        total += int(amount) * step
    return -total if m.group(1) == "-" else total


def is_date_value(value: str) -> bool:
    return parse_absolute(value) is not None or parse_period(value) is not None


def resolve_value(value: str, now: datetime) -> datetime:
    """An absolute or relative date operand as an aware instant (absolute ones in now's zone)."""
    absolute = parse_absolute(value)
    if absolute is not None:
        return absolute.replace(tzinfo=aware(now).tzinfo)
    period = parse_period(value)
    if period is None:
        raise ValueError(value)
    return aware(now) + period


def valid_increment(arg: str) -> bool:
    return re.fullmatch(r"[-+]?\d+\s*[wdhmMy]?", arg.strip()) is not None


def resolve_function(name: str, args: tuple[str, ...], now: datetime) -> datetime:
    """now(), startOfDay("-1d"), endOfMonth(), ...: weeks start on Monday."""
    now = aware(now)
    fname = name.casefold()
    if fname == "now":
        return now
    base_unit = {"day": "d", "week": "w", "month": "M", "year": "y"}
    period = next(p for p in base_unit if fname.endswith(p))
    start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "week":
        start -= timedelta(days=start.weekday())
    elif period == "month":
        start = start.replace(day=1)
    elif period == "year":
        start = start.replace(month=1, day=1)
    if args:
        start = _shift(start, args[0], base_unit[period])
    if fname.startswith("start"):
        return start
    nxt = _shift(start, "1", base_unit[period])
    return nxt - timedelta(milliseconds=1)


def _shift(moment: datetime, arg: str, default_unit: str) -> datetime:
    m = re.fullmatch(r"([-+]?\d+)\s*([wdhmMy]?)", arg.strip())
    if m is None:
        raise ValueError(arg)
    amount, unit = int(m.group(1)), m.group(2) or default_unit
    if unit in ("M", "y"):
        months = amount * (12 if unit == "y" else 1)
        index = moment.month - 1 + months
        year, month = moment.year + index // 12, index % 12 + 1
        return moment.replace(year=year, month=month, day=min(moment.day, 28))
    if unit == "m":
        return moment + timedelta(minutes=amount)
    return moment + amount * _UNIT[unit]


def aware(moment: datetime) -> datetime:
    """Naive datetimes are taken as UTC, so stored and given times always compare."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
