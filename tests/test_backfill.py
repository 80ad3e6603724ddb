"""History reconstructed from the issues a key result selects now (domain/backfill.py): crafted
issues created and done on known days, the edges of days in a site's time zone, and the sweep
checked point by point against the plain definition (compute_kr_progress over `as_of`)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from okr_jira.domain.backfill import as_of, reconstruct
from okr_jira.domain.days import day_end, days, local_day, zone
from okr_jira.domain.models import IssueSnapshot, KeyResult
from okr_jira.domain.progress import compute_kr_progress
from tests.support.builders import make_issue, make_kr

UTC = dt.UTC
PARIS = ZoneInfo("Europe/Paris")
KIRITIMATI = ZoneInfo("Pacific/Kiritimati")  # UTC+14: its days start before UTC's
PAGO = ZoneInfo("Pacific/Pago_Pago")  # UTC-11


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).astimezone(UTC)


def ends(first: str, last: str, tz: dt.tzinfo = UTC) -> list[dt.datetime]:
    return [day_end(d, tz) for d in days(dt.date.fromisoformat(first), dt.date.fromisoformat(last))]


def test_issues_count_toward_the_days_they_were_created_and_resolved_on() -> None:
    issues = [
        make_issue("SUP-1", created=at("2026-10-01T09:00+00:00")),
        make_issue(
            "SUP-2", status_category="done", created=at("2026-10-01T10:00+00:00"),
            resolved=at("2026-10-03T16:00+00:00"),
        ),
        make_issue("SUP-3", created=at("2026-10-02T23:59:59+00:00")),
        make_issue(
            "SUP-4", status_category="done", created=at("2026-10-03T08:00+00:00"),
            resolved=at("2026-10-04T00:00+00:00"),
        ),
    ]  # fmt: skip
    points = reconstruct(make_kr(), issues, ends("2026-10-01", "2026-10-04"))
    assert [(p.issues_done, p.issues_total) for p in points] == [(0, 2), (0, 3), (1, 4), (2, 4)]
    assert [round(p.progress, 4) for p in points] == [0.0, 0.0, 0.25, 0.5]
    assert [p.scope for p in points] == [2.0, 3.0, 4.0, 4.0]


def test_a_day_ends_at_midnight_in_the_sites_time_zone() -> None:
    # 23:30 UTC on Oct 1 is already Oct 2 in Paris (UTC+2 in October): not in Paris's Oct 1.
    late = make_issue("SUP-1", created=at("2026-10-01T23:30+00:00"))
    # 22:30 UTC on Oct 1 is 00:30 Oct 2 in Paris too; 21:59 UTC is 23:59 Oct 1 in Paris.
    edge = make_issue("SUP-2", created=at("2026-10-01T21:59:59+00:00"))
    utc = reconstruct(make_kr(), [late, edge], ends("2026-10-01", "2026-10-02"))
    paris = reconstruct(make_kr(), [late, edge], ends("2026-10-01", "2026-10-02", PARIS))
    assert [p.issues_total for p in utc] == [2, 2]
    assert [p.issues_total for p in paris] == [1, 2]


@pytest.mark.parametrize(
    ("tz", "created", "first_day"),
    [
        (KIRITIMATI, "2026-10-01T09:59:59+00:00", "2026-10-01"),  # 23:59:59 local
        (KIRITIMATI, "2026-10-01T10:00:00+00:00", "2026-10-02"),  # midnight local
        (PAGO, "2026-10-02T10:59:59+00:00", "2026-10-01"),  # 23:59:59 on Oct 1 in UTC-11
        (PAGO, "2026-10-02T11:00:00+00:00", "2026-10-02"),
    ],
)
def test_issues_created_at_the_edge_of_a_far_zones_day(
    tz: dt.tzinfo, created: str, first_day: str
) -> None:
    issue = make_issue("SUP-1", created=at(created))
    span = days(dt.date(2026, 9, 30), dt.date(2026, 10, 3))
    points = reconstruct(make_kr(), [issue], [day_end(d, tz) for d in span])
    joined = [d.isoformat() for d, p in zip(span, points, strict=True) if p.issues_total]
    assert joined[0] == first_day
    assert local_day(at(created), tz).isoformat() == first_day


def test_a_day_of_a_daylight_saving_change_ends_at_its_own_midnight() -> None:
    # Paris leaves summer time on 2026-10-25: that day has 25 hours and ends at 23:00 UTC.
    assert day_end(dt.date(2026, 10, 25), PARIS) == at("2026-10-25T22:59:59.999999+00:00")
    assert day_end(dt.date(2026, 10, 24), PARIS) == at("2026-10-24T21:59:59.999999+00:00")


def test_done_without_a_resolution_counts_from_its_status_category_change() -> None:
    issue = make_issue(
        "SUP-1", status_category="done", created=at("2026-10-01T08:00+00:00"),
        status_changed=at("2026-10-02T12:00+00:00"), updated=at("2026-10-05T12:00+00:00"),
    )  # fmt: skip
    points = reconstruct(make_kr(), [issue], ends("2026-10-01", "2026-10-03"))
    assert [p.issues_done for p in points] == [0, 1, 1]
    # Data Center has no status-category change date: the last update bounds it (never earlier).
    dc = make_issue(
        "SUP-1", status_category="done", created=at("2026-10-01T08:00+00:00"),
        updated=at("2026-10-03T12:00+00:00"),
    )  # fmt: skip
    points = reconstruct(make_kr(), [dc], ends("2026-10-01", "2026-10-03"))
    assert [p.issues_done for p in points] == [0, 0, 1]


def test_in_progress_credit_from_the_day_work_started() -> None:
    kr = make_kr(in_progress_credit=0.5)
    issue = make_issue(
        "SUP-1", status_category="indeterminate", created=at("2026-10-01T08:00+00:00"),
        status_changed=at("2026-10-02T08:00+00:00"),
    )  # fmt: skip
    points = reconstruct(kr, [issue], ends("2026-10-01", "2026-10-02"))
    assert [p.progress for p in points] == [0.0, 0.5]
    assert [p.issues_in_progress for p in points] == [0, 1]


def test_story_points_weigh_each_day_and_scope_is_the_total_weight() -> None:
    kr = make_kr(weight_by="story_points")
    issues = [
        make_issue("SUP-1", story_points=5, created=at("2026-10-01T08:00+00:00"),
                   status_category="done", resolved=at("2026-10-02T08:00+00:00")),
        make_issue("SUP-2", story_points=3, created=at("2026-10-02T08:00+00:00")),
    ]  # fmt: skip
    points = reconstruct(kr, issues, ends("2026-10-01", "2026-10-02"))
    assert [(p.current, p.scope) for p in points] == [(0.0, 5.0), (5.0, 8.0)]
    assert points[1].progress == pytest.approx(5 / 8)


def test_issue_count_and_field_sum_reconstruct_the_same_way() -> None:
    bugs = [
        make_issue(f"SUP-{n}", issue_type="Bug", created=at(f"2026-10-0{n}T08:00+00:00"))
        for n in range(1, 4)
    ]
    count = make_kr(kind="issue_count", start=0, target=10)
    assert [p.current for p in reconstruct(count, bugs, ends("2026-10-01", "2026-10-03"))] == [
        1.0, 2.0, 3.0,
    ]  # fmt: skip
    saved = make_kr(kind="field_sum", field="Hours Saved", start=0, target=20, done_only=True)
    work = [
        make_issue("SELF-1", numbers=(("Hours Saved", 8.0),), created=at("2026-10-01T08:00+00:00"),
                   status_category="done", resolved=at("2026-10-02T08:00+00:00")),
        make_issue("SELF-2", numbers=(("Hours Saved", 4.0),), created=at("2026-10-01T08:00+00:00")),
    ]  # fmt: skip
    points = reconstruct(saved, work, ends("2026-10-01", "2026-10-02"))
    assert [p.current for p in points] == [0.0, 8.0]
    assert points[1].progress == pytest.approx(0.4)


def test_manual_key_results_are_not_reconstructed() -> None:
    with pytest.raises(ValueError, match="check-in"):
        reconstruct(make_kr(kind="manual", start=0, target=1), [], ends("2026-10-01", "2026-10-01"))


def test_unknown_time_zones_are_refused_by_name() -> None:
    assert zone("") is UTC and zone("Etc/UTC") is UTC
    with pytest.raises(ValueError, match="Mars/Olympus"):
        zone("Mars/Olympus")


_DAY0 = dt.datetime(2026, 10, 1, tzinfo=UTC)


@st.composite
def crafted(draw: st.DrawFn) -> IssueSnapshot:
    n = draw(st.integers(1, 99))
    created = _DAY0 + dt.timedelta(minutes=draw(st.integers(-600, 8000)))
    category = draw(st.sampled_from(["new", "indeterminate", "done"]))
    later = created + dt.timedelta(minutes=draw(st.integers(0, 8000)))
    resolved = later if category == "done" and draw(st.booleans()) else None
    changed = later if category != "new" and draw(st.booleans()) else None
    return make_issue(
        f"SUP-{n}",
        status_category=category,
        created=created if draw(st.integers(0, 9)) else None,
        resolved=resolved,
        status_changed=changed,
        updated=later + dt.timedelta(minutes=draw(st.integers(0, 50))),
        story_points=draw(st.none() | st.sampled_from([0.0, 1.0, 3.0, 8.0, -2.0])),
        estimate_seconds=draw(st.none() | st.sampled_from([3600.0, 7200.0])),
        numbers=draw(st.sampled_from([(), (("Hours Saved", 4.0),), (("Hours Saved", 2.5),)])),
        deleted=draw(st.integers(0, 19)) == 0,
    )


KRS = [
    make_kr(),
    make_kr(weight_by="story_points", default_weight=2.0, in_progress_credit=0.25),
    make_kr(weight_by="estimate", in_progress_credit=1.0),
    make_kr(kind="issue_count", start=40, target=5),
    make_kr(kind="field_sum", field="Hours Saved", start=0, target=30),
    make_kr(kind="field_sum", field="Hours Saved", start=0, target=30, done_only=True),
]


@settings(max_examples=150, deadline=None)
@given(
    issues=st.lists(crafted(), max_size=12, unique_by=lambda i: i.key),
    kr=st.sampled_from(KRS),
    tz=st.sampled_from([UTC, PARIS, KIRITIMATI, PAGO]),
)
def test_the_sweep_equals_progress_computed_on_each_day(
    issues: list[IssueSnapshot], kr: KeyResult, tz: dt.tzinfo
) -> None:
    points_at = ends("2026-09-30", "2026-10-08", tz)
    swept = reconstruct(kr, issues, points_at)
    for end, point in zip(points_at, swept, strict=True):
        then = [s for i in issues if (s := as_of(i, end)) is not None]
        expected = compute_kr_progress(kr, then, field_id=kr.field)
        assert point.progress == pytest.approx(expected.progress, abs=1e-9)
        assert point.current == pytest.approx(expected.current, abs=1e-9)
        assert (point.issues_total, point.issues_done, point.issues_in_progress) == (
            expected.issues_total, expected.issues_done, expected.issues_in_progress,
        )  # fmt: skip
        assert point.scope == pytest.approx(expected.scope, abs=1e-9)
