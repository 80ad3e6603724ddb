from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from okr_jira.domain.models import IssueSnapshot, KeyResult
from okr_jira.domain.progress import compute_kr_progress, metric_progress
from tests.support.builders import make_issue, make_kr

# --- kind: issues


def test_issues_progress_is_the_share_of_done_issues() -> None:
    issues = [
        make_issue("SUP-1", status_category="done"),
        make_issue("SUP-2", status_category="done"),
        make_issue("SUP-3", status_category="indeterminate"),
        make_issue("SUP-4"),
    ]
    result = compute_kr_progress(make_kr(), issues)
    assert result.progress == 0.5
    assert result.current == 2
    assert (result.issues_total, result.issues_done, result.issues_in_progress) == (4, 2, 1)
    assert result.warnings == ()
    assert result.error is None


def test_in_progress_issues_earn_the_configured_credit() -> None:
    issues = [
        make_issue("PLAT-1", status_category="done"),
        make_issue("PLAT-2", status_category="indeterminate"),
        make_issue("PLAT-3", status_category="indeterminate"),
        make_issue("PLAT-4"),
    ]
    result = compute_kr_progress(make_kr(in_progress_credit=0.25), issues)
    assert result.progress == pytest.approx((1 + 0.25 * 2) / 4)
    assert result.current == 1  # done weight only: credit is not "done"


def test_weight_by_story_points_weighs_bigger_issues_more() -> None:
    issues = [
        make_issue("SUP-1", status_category="done", story_points=8),
        make_issue("SUP-2", story_points=2),
    ]
    result = compute_kr_progress(make_kr(weight_by="story_points"), issues)
    assert result.progress == pytest.approx(0.8)
    assert result.current == 8
    assert result.warnings == ()


def test_issues_without_story_points_take_the_default_weight_with_one_warning() -> None:
    issues = [make_issue(f"SUP-{n}", story_points=3) for n in range(1, 10)]
    issues += [make_issue(f"SUP-{n}", status_category="done") for n in range(10, 13)]
    result = compute_kr_progress(make_kr(weight_by="story_points"), issues)
    assert result.warnings == ("3 of 12 issues have no story points; counted as 1 each",)
    assert result.progress == pytest.approx(3 / (27 + 3))


def test_default_weight_is_configurable_and_shown_in_the_warning() -> None:
    issues = [make_issue("MOB-1", status_category="done"), make_issue("MOB-2", story_points=2)]
    result = compute_kr_progress(make_kr(weight_by="story_points", default_weight=2), issues)
    assert result.progress == 0.5
    assert result.warnings == ("1 of 2 issues have no story points; counted as 2 each",)


def test_weight_by_estimate_uses_hours_of_original_estimate() -> None:
    issues = [
        make_issue("SELF-1", status_category="done", estimate_seconds=3 * 3600),
        make_issue("SELF-2", estimate_seconds=5 * 3600),
        make_issue("SELF-3"),  # no estimate: 1 hour
    ]
    result = compute_kr_progress(make_kr(weight_by="estimate"), issues)
    assert result.progress == pytest.approx(3 / 9)
    assert result.current == pytest.approx(3.0)
    assert result.warnings == ("1 of 3 issues have no original estimate; counted as 1 h each",)


def test_zero_point_issues_count_for_nothing() -> None:
    issues = [
        make_issue("SUP-1", status_category="done", story_points=0),
        make_issue("SUP-2", status_category="done", story_points=1),
        make_issue("SUP-3", story_points=1),
    ]
    assert compute_kr_progress(make_kr(weight_by="story_points"), issues).progress == 0.5


def test_all_zero_weights_give_zero_progress_with_a_warning() -> None:
    issues = [make_issue("SUP-1", status_category="done", story_points=0)]
    result = compute_kr_progress(make_kr(weight_by="story_points"), issues)
    assert result.progress == 0.0
    assert result.warnings == ("the matching issues have 0 story points in total; progress is 0",)


def test_no_matching_issue_gives_zero_progress_and_a_warning_not_an_error() -> None:
    result = compute_kr_progress(make_kr(), [])
    assert result.progress == 0.0
    assert result.warnings == ("no issue matched",)
    assert result.error is None


def test_deleted_snapshots_never_count() -> None:
    issues = [
        make_issue("SUP-1", status_category="done", deleted=True),
        make_issue("SUP-2"),
    ]
    result = compute_kr_progress(make_kr(), issues)
    assert result.progress == 0.0
    assert result.issues_total == 1


def test_all_done_is_full_progress() -> None:
    issues = [make_issue(f"SUP-{n}", status_category="done") for n in range(3)]
    assert compute_kr_progress(make_kr(in_progress_credit=1.0), issues).progress == 1.0


# --- metric kinds


def test_issue_count_with_a_decreasing_target_measures_the_reduction() -> None:
    kr = make_kr("SUP-1.2", kind="issue_count", start=40, target=5)
    issues = [make_issue(f"SUP-{n}", issue_type="Bug") for n in range(19)]
    result = compute_kr_progress(kr, issues)
    assert result.current == 19
    assert result.progress == pytest.approx((19 - 40) / (5 - 40))  # 0.6


def test_issue_count_beyond_the_start_or_target_is_clamped() -> None:
    kr = make_kr("SUP-1.2", kind="issue_count", start=40, target=5)
    too_many = [make_issue(f"SUP-{n}") for n in range(45)]
    assert compute_kr_progress(kr, too_many).progress == 0.0
    assert compute_kr_progress(kr, []).progress == 1.0
    assert compute_kr_progress(kr, []).warnings == ()


def test_issue_count_counts_issues_of_every_status_but_not_deleted_ones() -> None:
    kr = make_kr(kind="issue_count", start=0, target=10)
    issues = [
        make_issue("SUP-1", status_category="done"),
        make_issue("SUP-2", status_category="indeterminate"),
        make_issue("SUP-3"),
        make_issue("SUP-4", deleted=True),
    ]
    result = compute_kr_progress(kr, issues)
    assert result.current == 3
    assert result.progress == pytest.approx(0.3)
    assert (result.issues_total, result.issues_done, result.issues_in_progress) == (3, 1, 1)


def test_field_sum_sums_the_resolved_field_over_done_issues_when_done_only() -> None:
    kr = make_kr("SELF-1.2", kind="field_sum", field="Hours Saved", done_only=True, target=400)
    issues = [
        make_issue("SELF-1", status_category="done", numbers=(("customfield_10100", 120.0),)),
        make_issue("SELF-2", status_category="done", numbers=(("customfield_10100", 80.0),)),
        make_issue("SELF-3", numbers=(("customfield_10100", 500.0),)),
    ]
    result = compute_kr_progress(kr, issues, field_id="customfield_10100")
    assert result.current == 200
    assert result.progress == 0.5
    everything = compute_kr_progress(
        replace(kr, done_only=False), issues, field_id="customfield_10100"
    )
    assert everything.current == 700
    assert everything.progress == 1.0


def test_field_sum_counts_missing_values_as_zero_with_a_warning() -> None:
    kr = make_kr(kind="field_sum", field="Hours Saved", target=100)
    issues = [make_issue("SELF-1", numbers=(("customfield_1", 30.0),)), make_issue("SELF-2")]
    result = compute_kr_progress(kr, issues, field_id="customfield_1")
    assert result.current == 30
    assert result.warnings == ("1 of 2 issues have no Hours Saved; counted as 0",)


def test_field_sum_of_story_points_reads_the_snapshot_story_points() -> None:
    kr = make_kr("PLAT-1.1", kind="field_sum", field="Story Points", done_only=True, target=120)
    issues = [
        make_issue("PLAT-1", status_category="done", story_points=30),
        make_issue("PLAT-2", status_category="done", story_points=30),
        make_issue("PLAT-3", story_points=13),
    ]
    assert compute_kr_progress(kr, issues).progress == 0.5
    assert compute_kr_progress(kr, issues, field_id="customfield_10016").current == 60


def test_field_sum_without_a_resolved_field_is_an_error() -> None:
    kr = make_kr(kind="field_sum", field="Hours Saved", target=400)
    result = compute_kr_progress(kr, [make_issue()])
    assert result.progress == 0.0
    assert result.error == "field 'Hours Saved' is not resolved to a Jira field"


def test_field_sum_with_no_issue_warns() -> None:
    kr = make_kr(kind="field_sum", field="Story Points", target=10)
    assert compute_kr_progress(kr, []).warnings == ("no issue matched",)


def test_manual_uses_the_latest_check_in() -> None:
    kr = make_kr("CO-1.1", kind="manual", start=42, target=60)
    result = compute_kr_progress(kr, [], manual_current=51)
    assert result.current == 51
    assert result.progress == 0.5


def test_manual_decreasing_target() -> None:
    kr = make_kr(kind="manual", start=25, target=3)
    assert compute_kr_progress(kr, [], manual_current=14).progress == 0.5


def test_manual_without_a_check_in_is_zero_with_a_warning() -> None:
    kr = make_kr("CO-1.1", kind="manual", start=42, target=60)
    result = compute_kr_progress(kr, [])
    assert (result.progress, result.current) == (0.0, None)
    assert result.warnings == ("no check-in yet",)


def test_metric_start_defaults_to_zero() -> None:
    kr = make_kr(kind="manual", target=8)
    assert compute_kr_progress(kr, [], manual_current=2).progress == 0.25


def test_metric_with_target_equal_to_start_does_not_divide_by_zero() -> None:
    kr = make_kr(kind="manual", start=5, target=5)
    result = compute_kr_progress(kr, [], manual_current=5)
    assert result.progress == 0.0
    assert result.warnings == ("target equals start; progress cannot be measured",)


def test_metric_whose_target_is_left_to_set_says_so() -> None:
    kr = make_kr(kind="manual", start=20, target=None)
    result = compute_kr_progress(kr, [], manual_current=25)
    assert result.progress == 0.0 and result.current == 25
    assert "target to be set" in result.warnings[0]


def test_mapping_error_yields_zero_progress_carrying_the_error() -> None:
    issues = [make_issue(status_category="done")]
    result = compute_kr_progress(make_kr(), issues, error="field 'Hours Saved' not found in Jira")
    assert result.progress == 0.0
    assert result.current is None
    assert result.error == "field 'Hours Saved' not found in Jira"


# --- properties

CATEGORIES = st.sampled_from(["new", "indeterminate", "done"])
MAYBE_WEIGHT = st.none() | st.floats(min_value=0, max_value=1000)


@st.composite
def issue_lists(draw: st.DrawFn) -> list[IssueSnapshot]:
    size = draw(st.integers(min_value=0, max_value=15))
    return [
        make_issue(
            f"SUP-{n}",
            status_category=draw(CATEGORIES),
            story_points=draw(MAYBE_WEIGHT),
            estimate_seconds=draw(MAYBE_WEIGHT),
            deleted=draw(st.booleans()),
        )
        for n in range(size)
    ]


issue_krs = st.builds(
    make_kr,
    weight_by=st.sampled_from(["count", "story_points", "estimate"]),
    in_progress_credit=st.floats(min_value=0, max_value=1),
    default_weight=st.floats(min_value=0, max_value=10),
)


@given(kr=issue_krs, issues=issue_lists())
def test_issues_progress_is_always_within_0_1(kr: KeyResult, issues: list[IssueSnapshot]) -> None:
    assert 0.0 <= compute_kr_progress(kr, issues).progress <= 1.0


@given(kr=issue_krs, issues=issue_lists(), index=st.integers(min_value=0))
def test_progress_never_decreases_when_an_issue_becomes_done(
    kr: KeyResult, issues: list[IssueSnapshot], index: int
) -> None:
    if not issues:
        return
    i = index % len(issues)
    before = compute_kr_progress(kr, issues).progress
    done = [*issues[:i], replace(issues[i], status_category="done"), *issues[i + 1 :]]
    assert compute_kr_progress(kr, done).progress >= before - 1e-12


@given(
    kind=st.sampled_from(["manual", "issue_count"]),
    start=st.floats(min_value=-1e6, max_value=1e6),
    target=st.floats(min_value=-1e6, max_value=1e6),
    current=st.integers(min_value=0, max_value=50),
)
def test_metric_progress_is_always_within_0_1(
    kind: str, start: float, target: float, current: int
) -> None:
    kr = make_kr(kind=kind, start=start, target=target)
    issues = [make_issue(f"SUP-{n}") for n in range(current)]
    assert 0.0 <= compute_kr_progress(kr, issues, manual_current=current).progress <= 1.0


@given(
    start=st.floats(min_value=-1000, max_value=1000),
    target=st.floats(min_value=-1000, max_value=1000),
    current=st.floats(min_value=-2000, max_value=2000),
    step=st.floats(min_value=0, max_value=100),
)
def test_metric_progress_grows_as_current_moves_toward_the_target(
    start: float, target: float, current: float, step: float
) -> None:
    toward = current + step if target > start else current - step
    assert metric_progress(start, target, toward) >= metric_progress(start, target, current)
