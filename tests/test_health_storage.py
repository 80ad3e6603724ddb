"""Health from storage: the inputs as the database holds them, what is kept, the migration."""

from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, text
from sqlmodel import Session

from okr_jira.cli import main
from okr_jira.okrs.file import parse_okr_text
from okr_jira.okrs.plan import apply_plan, make_plan
from okr_jira.report import evaluate_cycle, record_report
from okr_jira.report.health import refresh_health, refresh_open_cycles, stored_health
from okr_jira.report.review import freeze_ended_cycles
from okr_jira.storage.checkins import add_checkin
from okr_jira.storage.db import make_engine, session_scope, upgrade
from okr_jira.storage.okrs import get_key_result
from tests.support.builders import GUARDRAILS, THRESHOLDS


def objective_of(session: Session, kr: str) -> str:
    return get_key_result(session=session, key=kr).objective


TWO_CYCLES = """
cycles:
  - {key: Q3, name: Q3 2026, start: 2026-07-01, end: 2026-09-30}
  - {key: Q4, name: Q4 2026, start: 2026-10-01, end: 2026-12-31}
teams:
  - {key: support, name: Support}
  - {key: mobile, name: Mobile}
objectives:
  - key: SUP-Q3
    cycle: Q3
    team: support
    title: Easy Q3
    key_results:
      - {key: SUP-Q3.1, title: CSAT from 70 to 71, kind: manual, start: 70, target: 71, unit: pts}
  - key: MOB-Q3
    cycle: Q3
    team: mobile
    title: Mobile Q3
    key_results:
      - {key: MOB-Q3.1, title: Rating from 4.1 to 4.6, kind: manual, start: 4.1, target: 4.6, unit: stars}
  - key: SUP-Q4
    cycle: Q4
    team: support
    title: Easy Q4
    key_results:
      - {key: SUP-Q4.1, title: CSAT from 71 to 72, kind: manual, start: 71, target: 72, unit: pts}
      - {key: SUP-Q4.2, title: NPS from 40 to 41, kind: manual, start: 40, target: 41, unit: pts}
  - key: MOB-Q4
    cycle: Q4
    team: mobile
    title: Mobile Q4
    key_results:
      - {key: MOB-Q4.1, title: Rating from 4.6 to 4.8, kind: manual, start: 4.6, target: 4.8, unit: stars}
"""  # noqa: E501
ADDED = dt.datetime(2026, 6, 20, tzinfo=dt.UTC)


def at(month: int, day: int) -> dt.datetime:
    return dt.datetime(2026, month, day, 12, tzinfo=dt.UTC)


def record(engine: Engine, cycle: str, now: dt.datetime) -> None:
    with session_scope(engine) as session:
        report = evaluate_cycle(session=session, cycle=cycle, now=now, thresholds=THRESHOLDS)
        record_report(session=session, report=report, reason="sync")


def test_a_team_done_two_cycles_running_is_found_from_the_frozen_previous_cycle(
    engine: Engine,
) -> None:
    with session_scope(engine) as session:
        apply_plan(session, make_plan(session, parse_okr_text(TWO_CYCLES)), actor="a", now=ADDED)
        for kr, value, day in (
            ("SUP-Q3.1", 71, at(9, 20)), ("MOB-Q3.1", 4.4, at(9, 20)),
            ("SUP-Q4.1", 72, at(11, 10)), ("SUP-Q4.2", 41, at(11, 10)),
            ("MOB-Q4.1", 4.8, at(11, 10)),
        ):  # fmt: skip
            add_checkin(
                session=session,
                objective=get_key_result(session=session, key=kr).objective,
                kr=kr,
                value=value,
                note=None,
                author="a",
                at=day,
            )
    record(engine, "Q3", at(9, 25))
    assert freeze_ended_cycles(engine=engine, now=at(10, 2), thresholds=THRESHOLDS) == ["Q3"]
    record(engine, "Q4", at(11, 12))

    with session_scope(engine) as session:
        reports = refresh_open_cycles(session=session, now=at(11, 12), thresholds=GUARDRAILS)
    (report,) = reports  # Q3 is frozen: a sync leaves its health alone
    assert report.cycle == "Q4"
    assert [(s.kind, s.team) for s in report.signals] == [("sandbagging", "support")]
    assert "in Q4 2026 (2) and in Q3 2026 (1)" in report.signals[0].detail
    support = next(t for t in report.distribution if t.team == "support")
    assert (support.key_results, support.mean_score, support.bands) == (2, 1.0, (0, 0, 0, 2))
    with session_scope(engine) as session:
        assert stored_health(session=session, cycle="Q4") == report
        assert stored_health(session=session, cycle="Q3") is None
        # Weeks later with no check-in, the manual KRs are stale too.
        later = refresh_health(session=session, cycle="Q4", now=at(12, 1), thresholds=GUARDRAILS)
    assert {s.kind for s in later.signals} == {"sandbagging", "stale_checkin"}


def test_health_in_a_terminal_and_as_json(db_env: str, engine: Engine) -> None:
    with session_scope(engine) as session:
        apply_plan(session, make_plan(session, parse_okr_text(TWO_CYCLES)), actor="a", now=ADDED)
    runner = CliRunner()
    result = runner.invoke(main, ["health", "--cycle", "Q4"], catch_exceptions=False)
    assert result.exit_code == 0
    assert result.stdout.startswith("Health of Q4 (computed ")
    assert "Score distribution by team" in result.stdout
    missing = runner.invoke(main, ["health", "--cycle", "Q9"])
    assert missing.exit_code == 1 and "cycle 'Q9' does not exist" in missing.stderr


def test_the_migration_takes_each_mapping_s_last_resolution_as_its_baseline(
    database_url: str,
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("one backend is enough for the data step; the suite runs the DDL on both")
    engine = make_engine(database_url)
    try:
        upgrade(engine, "0004")
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO kr_mapping (kr, source, resolved_at) VALUES "
                    "('A', '{}', '2026-11-01 10:00:00.000000'), ('B', '{}', NULL)"
                )
            )
        upgrade(engine)
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT kr, baseline_at FROM kr_mapping ORDER BY kr"))
            assert [tuple(r) for r in rows] == [("A", "2026-11-01 10:00:00.000000"), ("B", None)]
            assert conn.execute(text("SELECT COUNT(*) FROM cycle_health")).scalar() == 0
    finally:
        engine.dispose()
