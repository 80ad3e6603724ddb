"""A team's check-ins: what they are, the ranges they are held to, and the weekly arithmetic.

A check-in belongs to one team objective (a key result's check-in belongs to its objective): the
team's confidence (0 to 10), a note, blockers, a manual key result's value, or a retrospective note.
`author` is kept for the audit trail only; nothing scores or ranks a person.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from okr_jira.errors import InvalidInput

CONFIDENCE_MIN, CONFIDENCE_MAX = 0, 10
# Manual KR values: any finite number a person would type (NPS, %, hours, euros, ...).
VALUE_LIMIT = 1e12
TEXT_LIMITS = {"note": 2000, "blockers": 2000, "retro": 4000}


@dataclass(frozen=True, slots=True)
class CheckIn:
    """One check-in as pages, digests and reviews read it (no author: not a score per person)."""

    objective: str
    kr: str | None
    at: dt.datetime
    value: float | None = None
    confidence: int | None = None
    note: str | None = None
    blockers: str | None = None
    retro: str | None = None

    @property
    def subject(self) -> str:
        return self.kr or self.objective

    @property
    def weekly(self) -> bool:
        """A weekly check-in (not only a retrospective note)."""
        return any(v is not None for v in (self.value, self.confidence, self.note, self.blockers))


def parse_confidence(raw: object) -> int | None:
    """A confidence from the CLI (text) or the API (JSON): a whole number 0..10, else refused."""
    if raw is None:
        return None
    what = f"must be a whole number from {CONFIDENCE_MIN} to {CONFIDENCE_MAX}"
    number = _number("confidence", raw, what)
    if not math.isfinite(number) or not number.is_integer():
        raise InvalidInput("confidence", f"{what} (got {_shown(raw)})")
    if not CONFIDENCE_MIN <= number <= CONFIDENCE_MAX:
        raise InvalidInput("confidence", f"{what} (got {_shown(raw)})")
    return int(number)


def parse_value(raw: object) -> float | None:
    """A manual key result's value: a finite number within +/- VALUE_LIMIT."""
    if raw is None:
        return None
    what = f"must be a finite number from {-VALUE_LIMIT:g} to {VALUE_LIMIT:g}"
    number = _number("value", raw, what)
    if not math.isfinite(number) or abs(number) > VALUE_LIMIT:
        raise InvalidInput("value", f"{what} (got {_shown(raw)})")
    return number


def parse_text(field: str, raw: object) -> str | None:
    """A note, blockers or retrospective: text, stripped, within its length limit."""
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise InvalidInput(field, "must be text")
    text = raw.strip()
    limit = TEXT_LIMITS[field]
    if len(text) > limit:
        raise InvalidInput(field, f"must be at most {limit} characters (got {len(text)})")
    return text or None


def _number(field: str, raw: object, what: str) -> float:
    if isinstance(raw, bool):
        raise InvalidInput(field, f"{what} (got {_shown(raw)})")
    if isinstance(raw, int):
        try:
            return float(raw)
        except OverflowError:  # an integer beyond any float: 10**400
            raise InvalidInput(field, f"{what} (got a number too large)") from None
    if isinstance(raw, float):
        return raw
    if isinstance(raw, str):
        try:
            return float(raw.strip())
        except ValueError:
            pass
    raise InvalidInput(field, f"{what} (got {_shown(raw)})")


def _shown(raw: object) -> str:
    text = raw if isinstance(raw, str) else repr(raw)
    return text if len(text) <= 40 else text[:37] + "..."


def week_start(day: dt.date) -> dt.date:
    """The Monday of `day`'s ISO week."""
    return day - dt.timedelta(days=day.weekday())


def iso_week(day: dt.date) -> str:
    """`2026-W46`: the period a weekly message is sent once for."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def confidence_series(checkins: Iterable[CheckIn]) -> list[tuple[dt.date, int]]:
    """(day, confidence) of the objective-level check-ins that carry one, the day's last value."""
    by_day: dict[dt.date, int] = {}
    for c in sorted(checkins, key=lambda c: c.at):
        if c.kr is None and c.confidence is not None:
            by_day[c.at.date()] = c.confidence
    return sorted(by_day.items())


def latest(checkins: Sequence[CheckIn], *, kr: str | None = None) -> CheckIn | None:
    """The newest weekly check-in (not a retrospective note) of the objective, or of `kr`."""
    found = [c for c in checkins if c.kr == kr and c.weekly]
    return max(found, key=lambda c: c.at) if found else None


def confidence_falling(checkins: Sequence[CheckIn]) -> tuple[int, int] | None:
    """(previous, latest) confidence when the latest objective check-in lowered it."""
    series = [c for c in sorted(checkins, key=lambda c: c.at) if c.kr is None]
    values = [c.confidence for c in series if c.confidence is not None]
    if len(values) >= 2 and values[-1] < values[-2]:
        return values[-2], values[-1]
    return None


def checked_in_since(checkins: Iterable[CheckIn], since: dt.datetime) -> bool:
    """Whether the team checked in (on the objective or one of its KRs) at or after `since`."""
    return any(c.at >= since and c.weekly for c in checkins)
