from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from okr_jira.domain.models import PaceThresholds
from okr_jira.domain.pace import cycle_days, expected_progress, grade, pace_status, score
from tests.support.builders import THRESHOLDS, make_cycle

Q4 = make_cycle()  # 2026-10-01..2026-12-31


@pytest.mark.parametrize(
    ("progress", "expected"),
    [
        (0.695, 0.70),
        (0.694, 0.69),
        (0.005, 0.01),
        (0.125, 0.13),
        (0.333333, 0.33),
        (0.0, 0.0),
        (1.0, 1.0),
        (1.7, 1.0),
        (-0.2, 0.0),
    ],
)
def test_score_rounds_half_up_to_two_decimals_within_0_1(progress: float, expected: float) -> None:
    assert score(progress) == expected


def test_score_of_0_695_grades_strong_as_the_displayed_0_70_says() -> None:
    assert grade(score(0.695)) == "strong"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1.0, "strong"),
        (0.7, "strong"),
        (0.69, "moderate"),
        (0.4, "moderate"),
        (0.39, "weak"),
        (0.0, "weak"),
    ],
)
def test_grade_boundaries_are_inclusive(value: float, expected: str) -> None:
    assert grade(value) == expected


def test_a_quarter_with_inclusive_end_is_92_days() -> None:
    assert cycle_days(Q4) == 92


@pytest.mark.parametrize(
    ("on", "expected"),
    [
        (date(2026, 9, 30), 0.0),
        (date(2026, 10, 1), 1 / 92),
        (date(2026, 11, 15), 46 / 92),
        (date(2026, 12, 31), 1.0),
        (date(2027, 1, 15), 1.0),
    ],
)
def test_expected_progress_counts_day_on_as_elapsed(on: date, expected: float) -> None:
    assert expected_progress(Q4, on) == pytest.approx(expected)


def test_one_day_cycle_is_fully_elapsed_on_its_day() -> None:
    day = make_cycle(start=date(2026, 10, 1), end=date(2026, 10, 1))
    assert expected_progress(day, date(2026, 10, 1)) == 1.0


def test_pace_before_the_cycle_starts_is_not_started_even_when_done() -> None:
    assert pace_status(1.0, Q4, date(2026, 9, 30), THRESHOLDS) == "not_started"


def test_pace_is_done_at_full_progress_even_after_the_cycle() -> None:
    assert pace_status(1.0, Q4, date(2026, 11, 1), THRESHOLDS) == "done"
    assert pace_status(1.0, Q4, date(2027, 2, 1), THRESHOLDS) == "done"


# Halfway through the quarter: end of Nov 15 is 46/92 = 0.5 elapsed; thresholds 0.10 / 0.25.
HALFWAY = date(2026, 11, 15)


@pytest.mark.parametrize(
    ("progress", "expected"),
    [
        (0.9, "on_track"),
        (0.5, "on_track"),
        (0.4, "on_track"),  # exactly expected - 0.10
        (0.39, "at_risk"),
        (0.25, "at_risk"),  # exactly expected - 0.25
        (0.24, "off_track"),
        (0.0, "off_track"),
    ],
)
def test_pace_boundaries_halfway_through_the_quarter(progress: float, expected: str) -> None:
    assert pace_status(progress, Q4, HALFWAY, THRESHOLDS) == expected


def test_pace_uses_the_given_thresholds() -> None:
    strict = PaceThresholds(on_track=0.0, at_risk=0.05)
    assert pace_status(0.5, Q4, HALFWAY, strict) == "on_track"
    assert pace_status(0.46, Q4, HALFWAY, strict) == "at_risk"
    assert pace_status(0.44, Q4, HALFWAY, strict) == "off_track"


def test_pace_after_the_cycle_ends_short_of_target_is_off_track() -> None:
    assert pace_status(0.6, Q4, date(2027, 1, 10), THRESHOLDS) == "off_track"
    assert pace_status(0.8, Q4, date(2027, 1, 10), THRESHOLDS) == "at_risk"


def test_pace_on_the_first_day_with_no_progress_is_on_track() -> None:
    assert pace_status(0.0, Q4, Q4.start, THRESHOLDS) == "on_track"


@given(
    progress=st.floats(min_value=0, max_value=1),
    days=st.integers(min_value=-30, max_value=130),
)
def test_more_progress_never_worsens_pace(progress: float, days: int) -> None:
    order = ["off_track", "at_risk", "on_track", "done"]
    on = Q4.start + timedelta(days=days)
    lower = pace_status(progress, Q4, on, THRESHOLDS)
    higher = pace_status(min(progress + 0.05, 1.0), Q4, on, THRESHOLDS)
    if lower == "not_started":
        assert higher == "not_started"
    else:
        assert order.index(higher) >= order.index(lower)


@given(days=st.integers(min_value=-400, max_value=400))
def test_expected_progress_is_within_0_1_and_grows_with_time(days: int) -> None:
    on = Q4.start + timedelta(days=days)
    now = expected_progress(Q4, on)
    assert 0.0 <= now <= 1.0
    assert expected_progress(Q4, on + timedelta(days=1)) >= now


@given(st.floats(min_value=-10, max_value=10))
def test_score_is_within_0_1_with_at_most_two_decimals(progress: float) -> None:
    value = score(progress)
    assert 0.0 <= value <= 1.0
    assert round(value, 2) == value
