"""Guardrail signals on crafted data: each rule fires on its case, and clean data raises nothing."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from okr_jira.domain.guardrails import compute_health
from okr_jira.domain.health import (
    AuditEntry,
    HealthInputs,
    HealthReport,
    IssueFacts,
    LinkSpan,
    PastCycle,
    ProgressPoint,
)
from okr_jira.domain.models import IssueSnapshot, Objective, Team
from tests.support.builders import GUARDRAILS, make_cycle, make_issue, make_kr, make_objective

CYCLE = make_cycle()  # 2026-10-01 .. 2026-12-31
START = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
BASE = dt.datetime(2026, 10, 5, 9, 0, tzinfo=dt.UTC)  # the first sync of every mapping
NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
ADDED = START - dt.timedelta(days=10)  # when the KRs were added to the OKR file
TEAMS = {
    "cx": Team("cx", "Customer Experience"),
    "support": Team("support", "Support", parent="cx", jira_projects=("SUP",)),
    "selfserve": Team("selfserve", "Self-Service", parent="cx", jira_projects=("SELF",)),
}


def days(n: float) -> dt.timedelta:
    return dt.timedelta(days=n)


def issues_kr(key: str = "SUP-1.1", **overrides: Any) -> Any:
    return make_kr(key, source={"epics": ["SUP-12"]}, **overrides)


def world(
    objectives: list[Objective] | None = None,
    scope: dict[str, list[LinkSpan]] | None = None,
    issues: list[IssueSnapshot] | None = None,
    **overrides: Any,
) -> HealthInputs:
    """A clean cycle: one support objective, one KR of ten issues linked at the baseline."""
    if objectives is None:
        objectives = [make_objective("SUP-1", key_results=[issues_kr()])]
    if scope is None:
        scope = {"SUP-1.1": [LinkSpan(f"SUP-{n}", BASE, False) for n in range(1, 11)]}
    if issues is None:
        issues = [make_issue(f"SUP-{n}") for n in range(1, 40)]
    krs = [kr for o in objectives for kr in o.key_results]
    values: dict[str, Any] = {
        "cycle": CYCLE,
        "now": NOW,
        "objectives": objectives,
        "teams": TEAMS,
        "scope": scope,
        "baselines": {kr.key: BASE for kr in krs if kr.source is not None},
        "issues": {
            i.key: IssueFacts(i.story_points, i.estimate_seconds, i.resolved) for i in issues
        },
        "audit": [
            AuditEntry(
                START - days(10),
                "alice",
                "key_result",
                kr.key,
                "add",
                None,
                None,
                json.dumps({"target": kr.target}),
            )
            for kr in krs
        ],
        "history": {},
        "checkins": {},
        "progress": {kr.key: 0.5 for kr in krs},
    }
    values.update(overrides)
    return HealthInputs(**values)


def signals(inputs: HealthInputs) -> list[tuple[str, str | None]]:
    return [(s.kind, s.key_result or s.team) for s in compute_health(inputs, GUARDRAILS).signals]


def test_clean_data_raises_no_signal_at_all() -> None:
    history = {"SUP-1.1": [ProgressPoint(BASE + days(d), 0.1 + d / 100, 10, d // 10)
                           for d in range(0, 45, 5)]}  # fmt: skip
    assert signals(world(history=history)) == []


def test_scope_grown_past_the_threshold_names_the_issues_that_joined() -> None:
    spans = [LinkSpan(f"SUP-{n}", BASE, False) for n in range(1, 11)]
    spans += [LinkSpan(f"SUP-{n}", BASE + days(20), False) for n in (20, 21, 22)]
    report = compute_health(world(scope={"SUP-1.1": spans}), GUARDRAILS)
    (signal,) = report.signals
    assert (signal.kind, signal.key_result, signal.team) == ("scope_change", "SUP-1.1", "support")
    assert signal.issues == ("SUP-20", "SUP-21", "SUP-22")
    assert "grew by 30%" in signal.detail and "10 -> 13 issues" in signal.detail
    assert signal.since == BASE
    assert report.of_kind("scope_change") == [signal]


def test_scope_moved_within_the_threshold_is_not_a_signal() -> None:
    spans = [LinkSpan(f"SUP-{n}", BASE, False) for n in range(1, 11)]
    spans += [LinkSpan("SUP-20", BASE + days(3), False), LinkSpan("SUP-21", BASE + days(4), False)]
    spans[0] = spans[0]._replace(left_at=BASE + days(5))
    assert signals(world(scope={"SUP-1.1": spans})) == []  # +2 -1: 10%


def test_scope_shrunk_by_weight_counts_story_points_not_issues() -> None:
    kr = issues_kr(weight_by="story_points")
    spans = [LinkSpan(f"SUP-{n}", BASE, False) for n in range(1, 5)]
    spans[0] = spans[0]._replace(left_at=BASE + days(9))  # the 13-point issue leaves
    issues = [make_issue("SUP-1", story_points=13)] + [
        make_issue(f"SUP-{n}", story_points=1) for n in (2, 3, 4)
    ]
    inputs = world([make_objective("SUP-1", key_results=[kr])], {"SUP-1.1": spans}, issues)
    (signal,) = compute_health(inputs, GUARDRAILS).signals
    assert signal.kind == "scope_change" and signal.issues == ("SUP-1",)
    assert "shrank by 81%" in signal.detail and "16 -> 3 story points" in signal.detail


def test_a_mapping_changed_later_measures_scope_from_its_new_baseline() -> None:
    spans = [LinkSpan(f"SUP-{n}", BASE, False) for n in range(1, 4)]
    spans += [LinkSpan(f"SUP-{n}", BASE + days(30), False) for n in range(4, 11)]
    later = {"SUP-1.1": BASE + days(30)}
    assert signals(world(scope={"SUP-1.1": spans}, baselines=later)) == []
    assert signals(world(scope={"SUP-1.1": spans})) == [("scope_change", "SUP-1.1")]


def test_an_issue_that_joined_already_done_after_the_baseline_is_backfilled() -> None:
    spans = [LinkSpan(f"SUP-{n}", BASE, n == 1) for n in range(1, 11)]  # done at the baseline: ok
    spans.append(LinkSpan("SUP-30", BASE + days(40), True))
    issues = [make_issue(f"SUP-{n}") for n in range(1, 40)]
    issues[29] = make_issue("SUP-30", status_category="done", resolved=START + days(2))
    (signal,) = compute_health(world(scope={"SUP-1.1": spans}, issues=issues), GUARDRAILS).signals
    assert (signal.kind, signal.issues) == ("backfilled", ("SUP-30",))
    assert "SUP-30 (resolved 2026-10-03) on 2026-11-14" in signal.detail
    assert signal.since == BASE + days(40)


def test_an_issue_finished_just_before_the_sync_saw_it_is_new_work_not_a_backfill() -> None:
    spans = [LinkSpan(f"SUP-{n}", BASE, False) for n in range(1, 11)]
    joined = BASE + days(40)
    spans.append(LinkSpan("SUP-30", joined, True))
    issues = [make_issue("SUP-30", status_category="done", resolved=joined - dt.timedelta(hours=2))]
    assert signals(world(scope={"SUP-1.1": spans}, issues=issues)) == []


def metric_world(kr: Any, changes: list[tuple[dt.datetime, str, float, float]]) -> HealthInputs:
    planned = json.dumps({"target": changes[0][2] if changes else kr.target})
    audit = [
        AuditEntry(START - days(10), "alice", "key_result", kr.key, "add", None, None, planned)
    ]
    audit += [
        AuditEntry(at, who, "key_result", kr.key, "change", "target", f"{old:g}", f"{new:g}")
        for at, who, old, new in changes
    ]
    objective = make_objective("PLAT-1", team="support", key_results=[kr])
    return world([objective], {}, [], audit=audit, checkins={kr.key: [NOW]})


def test_a_target_lowered_after_the_cycle_started_says_who_and_when() -> None:
    kr = make_kr("PLAT-1.1", kind="manual", start=0, target=80, unit="pts")
    inputs = metric_world(kr, [(START + days(40), "bob", 120, 80)])
    (signal,) = compute_health(inputs, GUARDRAILS).signals
    assert (signal.kind, signal.key_result) == ("target_lowered", "PLAT-1.1")
    assert "120 -> 80 pts by bob on 2026-11-10" in signal.detail
    assert signal.since == START + days(40)


def test_targets_set_before_the_start_or_raised_are_not_lowered() -> None:
    kr = make_kr("PLAT-1.1", kind="manual", start=0, target=80)
    assert signals(metric_world(kr, [(START - days(2), "bob", 120, 80)])) == []
    raised = make_kr("PLAT-1.1", kind="manual", start=0, target=150)
    assert signals(metric_world(raised, [(START + days(5), "bob", 120, 150)])) == []
    # Lowered, then put back: nothing is easier than planned.
    back = make_kr("PLAT-1.1", kind="manual", start=0, target=120)
    steps = [(START + days(5), "bob", 120, 80), (START + days(6), "alice", 80, 120)]
    assert signals(metric_world(back, steps)) == []


def test_a_decreasing_metric_is_lowered_when_its_target_goes_up() -> None:
    kr = make_kr("SUP-1.2", kind="issue_count", start=40, target=10, source={"projects": ["SUP"]})
    inputs = metric_world(kr, [(START + days(9), "carol", 5, 10)])
    assert signals(inputs) == [("target_lowered", "SUP-1.2")]
    tighter = make_kr(
        "SUP-1.2", kind="issue_count", start=40, target=2, source={"projects": ["SUP"]}
    )
    assert signals(metric_world(tighter, [(START + days(9), "carol", 5, 2)])) == []


def overlap_world(team_b: str) -> HealthInputs:
    sup = make_objective("SUP-1", team="support", key_results=[issues_kr("SUP-1.1")])
    other = make_objective("X-1", team=team_b, key_results=[issues_kr("X-1.1")])
    scope = {
        "SUP-1.1": [LinkSpan(f"SUP-{n}", BASE, False) for n in range(1, 11)],
        "X-1.1": [LinkSpan("SUP-3", BASE + days(8), False), LinkSpan("SUP-4", BASE, False)]
        + [LinkSpan(f"SELF-{n}", BASE, False) for n in range(1, 9)],
    }
    return world([sup, other], scope)


def test_an_issue_counted_by_two_sibling_teams_is_an_overlap_in_the_calibration() -> None:
    report = compute_health(overlap_world("selfserve"), GUARDRAILS)
    theirs, ours = report.signals  # ordered by team
    assert [(s.kind, s.key_result) for s in (ours, theirs)] == [
        ("overlap", "SUP-1.1"),
        ("overlap", "X-1.1"),
    ]
    assert ours.issues == theirs.issues == ("SUP-3", "SUP-4")
    assert "2 with X-1.1 (team selfserve)" in ours.detail
    assert "2 with SUP-1.1 (team support)" in theirs.detail
    assert ours.since == BASE  # SUP-4 was in both from the start
    (overlap,) = report.overlaps
    assert overlap.key_results == ("SUP-1.1", "X-1.1") and overlap.teams == ("support", "selfserve")


@pytest.mark.parametrize("team", ["support", "cx"])
def test_the_same_team_or_its_department_sharing_issues_is_no_overlap(team: str) -> None:
    report = compute_health(overlap_world(team), GUARDRAILS)
    assert report.signals == () and report.overlaps == ()


def points(*values: tuple[int, float, int, int]) -> list[ProgressPoint]:
    return [ProgressPoint(BASE + days(d), p, total, done) for d, p, total, done in values]


def test_progress_jumping_between_two_records_is_a_jump() -> None:
    history = {"SUP-1.1": points((0, 0.1, 10, 1), (7, 0.2, 10, 2), (8, 0.6, 10, 6))}
    report = compute_health(world(history=history), GUARDRAILS)
    (signal,) = report.signals
    assert (signal.kind, signal.key_result) == ("jump", "SUP-1.1")
    assert "rose from 20% to 60%" in signal.detail and "2 -> 6 of 10 -> 10" in signal.detail
    assert signal.since == BASE + days(8)


def test_one_issue_finishing_or_a_declared_change_explains_a_jump() -> None:
    one_issue = {"SUP-1.1": points((0, 0.3, 3, 1), (7, 0.67, 3, 2))}
    assert signals(world(history=one_issue)) == []
    many = {"SUP-1.1": points((0, 0.1, 10, 1), (8, 0.6, 10, 6))}
    change = AuditEntry(BASE + days(3), "bob", "mapping", "SUP-1.1", "change", "source", "a", "b")
    assert signals(world(history=many, audit=[change])) == []
    # Records from before the mapping's baseline are not compared.
    assert signals(world(history=many, baselines={"SUP-1.1": BASE + days(5)})) == []


def test_a_manual_kr_jumps_from_its_first_check_in_on_not_before() -> None:
    kr = make_kr("CO-1.1", kind="manual", start=0, target=100)
    objective = make_objective("CO-1", team="cx", key_results=[kr])
    history = {"CO-1.1": points((0, 0.0, 0, 0), (2, 0.5, 0, 0), (9, 0.55, 0, 0), (10, 0.95, 0, 0))}
    checkins = {"CO-1.1": [BASE + days(1), BASE + days(9), BASE + days(10), NOW - days(1)]}
    inputs = world([objective], {}, [], history=history, checkins=checkins)
    assert signals(inputs) == [("jump", "CO-1.1")]


def manual_world(
    checkins: list[dt.datetime], added: dt.datetime = ADDED, now: dt.datetime = NOW
) -> HealthInputs:
    kr = make_kr("CO-1.1", kind="manual", start=0, target=100)
    audit = [AuditEntry(added, "alice", "key_result", "CO-1.1", "add", None, None, "{}")]
    objective = make_objective("CO-1", team="cx", key_results=[kr])
    return world([objective], {}, [], audit=audit, checkins={"CO-1.1": checkins}, now=now)


def test_a_manual_kr_without_a_check_in_for_14_days_is_stale() -> None:
    report = compute_health(manual_world([NOW - days(20)]), GUARDRAILS)
    (signal,) = report.signals
    assert (signal.kind, signal.key_result) == ("stale_checkin", "CO-1.1")
    assert "no check-in since 2026-10-31" in signal.detail and signal.since == NOW - days(20)
    assert (
        "since the cycle started" in compute_health(manual_world([]), GUARDRAILS).signals[0].detail
    )


def test_recent_check_ins_new_krs_and_cycles_not_started_are_not_stale() -> None:
    assert signals(manual_world([NOW - days(13)])) == []
    assert signals(manual_world([], added=NOW - days(10))) == []
    assert signals(manual_world([], now=START - days(1))) == []
    # After the cycle, only the cycle's own days count: checked in 5 days before its end.
    end = dt.datetime(2026, 12, 26, tzinfo=dt.UTC)
    assert signals(manual_world([end], now=end + days(60))) == []


def test_a_team_at_one_on_every_kr_two_cycles_running_is_sandbagging() -> None:
    objectives = [make_objective("SUP-1", key_results=[issues_kr("SUP-1.1"), issues_kr("SUP-1.2")])]
    done = {"SUP-1.1": 1.0, "SUP-1.2": 0.999}
    past = {"support": PastCycle("2026-Q3", "Q3 2026", (1.0, 1.0, 1.0))}
    report = compute_health(world(objectives, progress=done, previous=past), GUARDRAILS)
    (signal,) = report.signals
    assert (signal.kind, signal.team, signal.key_result, signal.severity) == (
        "sandbagging", "support", None, "info",
    )  # fmt: skip
    assert "Q4 2026 (2) and in Q3 2026 (3)" in signal.detail
    one_short = {"support": PastCycle("2026-Q3", "Q3 2026", (1.0, 0.9))}
    assert signals(world(objectives, progress=done, previous=one_short)) == []
    assert signals(world(objectives, progress=done)) == []  # no previous cycle


def test_the_score_distribution_is_by_team_in_bands() -> None:
    objectives = [
        make_objective("SUP-1", key_results=[issues_kr(f"SUP-1.{n}") for n in range(1, 5)]),
        make_objective("SELF-1", team="selfserve", key_results=[issues_kr("SELF-1.1")]),
    ]
    progress = {"SUP-1.1": 0.1, "SUP-1.2": 0.5, "SUP-1.3": 0.8, "SUP-1.4": 1.0, "SELF-1.1": 0.65}
    report = compute_health(world(objectives, {}, [], progress=progress), GUARDRAILS)
    selfserve, support = report.distribution
    assert (support.team, support.key_results, support.mean_score, support.bands) == (
        "support", 4, 0.6, (1, 1, 1, 1),
    )  # fmt: skip
    assert selfserve.name == "Self-Service" and selfserve.bands == (0, 1, 0, 0)


def test_the_report_survives_its_json_round_trip() -> None:
    spans = [LinkSpan(f"SUP-{n}", BASE, False) for n in range(1, 11)]
    spans += [LinkSpan(f"SUP-{n}", BASE + days(20), n == 22) for n in (20, 21, 22)]
    report = compute_health(world(scope={"SUP-1.1": spans}), GUARDRAILS)
    assert {s.kind for s in report.signals} == {"scope_change", "backfilled"}
    data = json.loads(json.dumps(report.to_dict()))
    assert set(data["signals"][0]) == {"kind", "severity", "team", "objective", "key_result",
                                       "issues", "detail", "since"}  # fmt: skip
    assert HealthReport.from_dict(data) == report
