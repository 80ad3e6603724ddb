"""The end-of-cycle review: final scores frozen, and a review page under the cycle's root page."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from okr_jira.domain.pace import pace_status
from okr_jira.publish import publish_running_cycles
from okr_jira.report.evaluate import evaluate_cycle
from okr_jira.runtime import jobs
from okr_jira.runtime.wiring import Wiring
from okr_jira.settings import load_settings
from okr_jira.storage.db import session_scope
from tests.support.builders import THRESHOLDS
from tests.support.publish_world import CYCLE, PARENT_TITLE, SPACE, World, build_world

AFTER_THE_CYCLE = dt.datetime(2027, 1, 2, 1, 0, tzinfo=dt.UTC)


@pytest.fixture
def world(engine: Engine, tmp_path: Path, cloud_dns: None) -> Iterator[World]:
    yield from build_world(engine, "cloud", tmp_path)


def wiring_at(world: World, at: dt.datetime) -> Wiring:
    settings = load_settings(None, database_url=str(world.engine.url))
    return Wiring(settings, world.engine, clock=lambda: at)


def objective_progress(world: World) -> dict[str, float]:
    with session_scope(world.engine) as session:
        report = evaluate_cycle(
            session=session, cycle=CYCLE, now=AFTER_THE_CYCLE, thresholds=THRESHOLDS
        )
        return {n.objective.key: n.progress for n in report.all_nodes()}


def test_review_freezes_final_scores_once_the_cycle_ended(world: World) -> None:
    during = jobs.end_of_cycle_review(wiring_at(world, dt.datetime(2026, 12, 30, tzinfo=dt.UTC)))
    assert during == []  # the cycle is still running
    before = objective_progress(world)
    assert jobs.end_of_cycle_review(wiring_at(world, AFTER_THE_CYCLE)) == [CYCLE]
    assert jobs.end_of_cycle_review(wiring_at(world, AFTER_THE_CYCLE)) == []  # only once
    # Work that finishes after the cycle closed does not change its final scores.
    issue = world.open_issue_of("SUP-1.3")
    world.change_issue(issue.key, status="Done", status_category="done")
    assert objective_progress(world) == pytest.approx(before)


def test_review_page_is_published_under_the_root_with_scores_and_scope_changes(
    world: World,
) -> None:
    world.publish()
    issue = world.open_issue_of("SUP-1.3")
    # An issue leaves the KR during the cycle: the review lists that scope change.
    world.change_issue(issue.key, labels=tuple(lb for lb in issue.labels if lb != "macros"))
    jobs.end_of_cycle_review(wiring_at(world, AFTER_THE_CYCLE))
    summary = world.publish()
    assert any("review" in str(item).lower() for item in summary.created), summary.created
    review = world.page("review")
    assert review.title == "OKRs - Q4 2026 - Review"
    assert world.sim.pages[review.parent_id or ""].title == "OKRs - Q4 2026"
    body = review.body
    assert "SUP-1.3" in body and "Final score" in body
    assert f"- {issue.key} left" in body
    assert 'ac:name="status"' in body
    again = world.publish()
    assert again.requests == 0  # an unchanged review page is not written again


def test_review_data_is_escaped(world: World) -> None:
    from okr_jira.domain.report import KrReview
    from okr_jira.render.review import review_page_body
    from okr_jira.simulator.confluence import storage_format_error

    hostile = '<ac:structured-macro ac:name="html"> ]]> <script>x</script> &'
    item = KrReview(
        key="K-1", title=hostile, objective="O-1", final_progress=0.5, final_status="at_risk",
        weekly=((dt.date(2026, 10, 5), 0.1, "on_track"),),
        joined=((dt.date(2026, 10, 1), "A-1", False),), left=(),
    )  # fmt: skip
    body = review_page_body(hostile, [item, dataclasses.replace(item, key="K-2")])
    assert storage_format_error(body) is None
    assert "<script>" not in body and '<ac:structured-macro ac:name="html">' not in body


def test_review_page_judges_pace_with_the_configured_thresholds(world: World) -> None:
    """The review job and the publisher the scheduler runs take the operator's thresholds."""
    creds = world.server.credentials
    settings = load_settings(
        None, database_url=str(world.engine.url), confluence_url=world.confluence_url,
        confluence_user=creds.email, confluence_token=creds.api_token, confluence_space=SPACE,
        confluence_parent=PARENT_TITLE, confluence_flavor="cloud",
        pace_on_track=0.6, pace_at_risk=0.9,
    )  # fmt: skip
    wiring = Wiring(settings, world.engine, clock=lambda: AFTER_THE_CYCLE)
    assert jobs.end_of_cycle_review(wiring) == [CYCLE]
    publish_running_cycles(wiring.publisher())
    body = world.page("review").body
    with session_scope(world.engine) as session:
        report = evaluate_cycle(
            session=session, cycle=CYCLE, now=AFTER_THE_CYCLE, thresholds=wiring.thresholds
        )
    finals = {kr.key: st.progress for n in report.all_nodes() for kr, st in n.key_results}
    shown = {}
    for key in finals:
        row = re.search(rf"<tr><td>{re.escape(key)} .*?</tr>", body)
        assert row, key
        shown[key] = re.findall(r'<ac:parameter ac:name="title">([^<]*)<', row.group(0))[0]
    assert shown == {key: report.status(p).replace("_", " ") for key, p in finals.items()}
    # The configured thresholds changed the verdict somewhere: the defaults would disagree.
    assert any(
        pace_status(p, report.cycle, report.cycle.end, THRESHOLDS).replace("_", " ") != shown[k]
        for k, p in finals.items()
    )


def test_monthly_review_pages_show_progress_then_and_now_confidence_and_notes(
    world: World,
) -> None:
    from okr_jira.storage.checkins import add_checkin

    with session_scope(world.engine) as session:
        for day, confidence, note in ((3, 7, "on plan"), (10, 5, "refunds slipped <a week>")):
            add_checkin(session=session, objective="SUP-1", confidence=confidence, note=note,
                        blockers="payments API" if confidence < 6 else None,
                        at=dt.datetime(2026, 11, day, 9, tzinfo=dt.UTC))  # fmt: skip
        add_checkin(session=session, objective="SUP-1", confidence=8, note="kick-off",
                    at=dt.datetime(2026, 10, 20, 9, tzinfo=dt.UTC))  # fmt: skip
    world.publish()

    november = world.page("review:2026-11")
    assert november.title == "OKRs - Q4 2026 - Review 2026-11"
    assert world.sim.pages[november.parent_id or ""].title == "OKRs - Q4 2026"
    body = november.body
    row = body[body.index("SUP-1 Answer faster") :].split("</tr>")[0]
    assert "7/10 → 5/10" in row and "8/10" not in row  # November's check-ins only
    assert "refunds slipped &lt;a week&gt;" in row and "Blockers: payments API" in row
    assert "Progress then" in body and "Progress now" in body and 'ac:name="status"' in body
    assert "2026-11-01 to 2026-11-15" in body  # the month so far
    october = world.page("review:2026-10").body
    assert "kick-off" in october and "refunds slipped" not in october


def test_the_end_of_cycle_review_gains_each_objectives_retrospective_note(world: World) -> None:
    from okr_jira.okrs.checkins import record_checkin

    jobs.end_of_cycle_review(wiring_at(world, AFTER_THE_CYCLE))
    with session_scope(world.engine) as session:  # entered after the close
        record_checkin(session=session, key="SUP-1", retro="Ship refunds in smaller slices",
                       author="team", now=AFTER_THE_CYCLE, thresholds=THRESHOLDS)  # fmt: skip
    world.publish()

    body = world.page("review").body
    assert "Retrospective" in body and "What we learned" in body
    row = body[body.index("<td>SUP-1 Answer faster") :].split("</tr>")[0]
    assert "Ship refunds in smaller slices" in row and "Support" in row
    assert "no retrospective note yet: okr-jira checkin SELF-1 --retro" in body
