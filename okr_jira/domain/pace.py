"""Progress + dates -> score, grade and pace (on track / at risk / off track).

Pure time arithmetic: the caller passes the date to judge ("today"), nothing reads a clock.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from okr_jira.domain.models import Cycle, Grade, PaceStatus, PaceThresholds

STRONG = 0.7
MODERATE = 0.4
# Boundaries are inclusive; float subtraction (0.3 - 0.1 == 0.19999999999999998) must not flip them.
_EPSILON = 1e-9


def score(progress: float) -> float:
    """The OKR score: progress clamped to 0..1, rounded half up to 2 decimals.

    Rounds the decimal the user reads, not the binary float: 0.695 scores 0.70 (``round`` would
    give 0.69).
    """
    clamped = min(max(progress, 0.0), 1.0)
    return float(Decimal(repr(clamped)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def grade(score: float) -> Grade:
    """strong >= 0.7, moderate >= 0.4, weak below."""
    if score >= STRONG - _EPSILON:
        return "strong"
    if score >= MODERATE - _EPSILON:
        return "moderate"
    return "weak"


def cycle_days(cycle: Cycle) -> int:
    """Length of a cycle in days, both ends inclusive: 2026-10-01..2026-12-31 is 92 days."""
    return max((cycle.end - cycle.start).days + 1, 1)


def expected_progress(cycle: Cycle, on: date) -> float:
    """Share of the cycle elapsed at the END of day ``on``, clamped to 0..1.

    The end date is inclusive, so on the last day the whole cycle has elapsed (1.0), on the first
    day 1/92 of a 92-day quarter, and before the start 0.0.
    """
    elapsed = (on - cycle.start).days + 1
    return min(max(elapsed / cycle_days(cycle), 0.0), 1.0)


def pace_status(
    progress: float,
    cycle: Cycle,
    on: date,
    thresholds: PaceThresholds,
) -> PaceStatus:
    """Where ``progress`` stands against the elapsed share of ``cycle`` on day ``on``.

    Checked in this order: not_started (before the cycle starts), done (progress >= 1), on_track
    (progress >= expected - thresholds.on_track), at_risk (>= expected - thresholds.at_risk),
    otherwise off_track.
    """
    if on < cycle.start:
        return "not_started"
    return status_against(progress, expected_progress(cycle, on), thresholds)


def status_against(progress: float, expected: float, thresholds: PaceThresholds) -> PaceStatus:
    """`pace_status` once the cycle has started and the elapsed share is known (a tree of
    thousands of nodes computes that share once)."""
    if progress >= 1.0 - _EPSILON:
        return "done"
    if progress >= expected - thresholds.on_track - _EPSILON:
        return "on_track"
    if progress >= expected - thresholds.at_risk - _EPSILON:
        return "at_risk"
    return "off_track"
