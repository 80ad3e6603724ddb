"""The scheduler: one leader at a time, missed jobs run once, publishing is debounced."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from apscheduler.events import EVENT_JOB_ERROR
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from okr_jira.errors import SchemaBehindError
from okr_jira.okrs.file import load_okr_file
from okr_jira.okrs.plan import apply_plan, make_plan
from okr_jira.runtime import jobs
from okr_jira.runtime.leader import Leadership, SingleNodeError
from okr_jira.runtime.scheduler import build_scheduler
from okr_jira.runtime.wiring import Wiring
from okr_jira.settings import load_settings
from okr_jira.simulator import SimulatorServer, generate
from okr_jira.storage.db import check_schema, is_sqlite, make_engine, session_scope
from okr_jira.storage.state import job_last_run
from okr_jira.storage.tables import ProgressSnapshotRow
from tests.support.paths import EXAMPLE_OKRS, ROOT


class Clock:
    def __init__(self, at: dt.datetime) -> None:
        self.at = at

    def __call__(self) -> dt.datetime:
        return self.at


def services(engine: Engine, clock: Clock, **settings: object) -> Wiring:
    s = load_settings(None, database_url=str(engine.url), **settings)
    return Wiring(s, engine, clock=clock)


def applied(engine: Engine) -> None:
    with session_scope(engine) as session:
        apply_plan(session, make_plan(session, load_okr_file(EXAMPLE_OKRS)), actor="test")


def snapshot_count(engine: Engine, reason: str) -> int:
    with Session(engine) as s:
        query = select(func.count()).where(col(ProgressSnapshotRow.reason) == reason)
        return int(s.exec(query).one())


def test_publish_is_debounced_then_runs_once(engine: Engine) -> None:
    clock = Clock(dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC))
    svc = services(engine, clock, publish_debounce_seconds=60)
    calls: list[dt.datetime] = []
    assert not jobs.publish(svc, publisher=lambda s: calls.append(s.clock()))  # nothing to do
    for _ in range(5):  # a burst of changes, 10 s apart
        jobs.request_publish(svc)
        clock.at += dt.timedelta(seconds=10)
        assert not jobs.publish(svc, publisher=lambda s: calls.append(s.clock()))
    clock.at += dt.timedelta(seconds=60)
    assert jobs.publish(svc, publisher=lambda s: calls.append(s.clock()))
    assert not jobs.publish(svc, publisher=lambda s: calls.append(s.clock()))
    assert len(calls) == 1


def test_steady_changes_publish_once_a_window_so_no_change_waits_longer(engine: Engine) -> None:
    clock = Clock(dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC))
    svc = services(engine, clock, publish_debounce_seconds=60)
    published_at: list[dt.datetime] = []
    changes: list[dt.datetime] = []
    for _ in range(70):  # a change every 10 s for over 10 minutes
        jobs.request_publish(svc)
        changes.append(clock.at)
        clock.at += dt.timedelta(seconds=10)
        jobs.publish(svc, publisher=lambda s: published_at.append(s.clock()))
    assert 10 <= len(published_at) <= 12  # once per minute, not once per change
    # Every change was on a page within one window (plus the job's own period here, 10 s).
    for change in changes[:-6]:
        first = next(p for p in published_at if p > change)
        assert first - change <= dt.timedelta(seconds=70)


def test_a_change_during_a_publish_is_published_in_the_next_window(engine: Engine) -> None:
    clock = Clock(dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC))
    svc = services(engine, clock, publish_debounce_seconds=60)
    jobs.request_publish(svc)
    clock.at += dt.timedelta(seconds=60)

    def slow_publisher(s: object) -> None:
        clock.at += dt.timedelta(seconds=5)
        jobs.request_publish(svc)  # arrives while the pages are being written

    assert jobs.publish(svc, publisher=slow_publisher)
    clock.at += dt.timedelta(seconds=50)
    assert not jobs.publish(svc, publisher=lambda s: None)  # 55 s after it started
    clock.at += dt.timedelta(seconds=10)
    assert jobs.publish(svc, publisher=lambda s: None)


def test_missed_daily_job_runs_once_after_downtime(engine: Engine) -> None:
    applied(engine)
    clock = Clock(dt.datetime.now(dt.UTC))
    svc = services(engine, clock)
    # The last daily snapshot ran three days ago: three intervals were missed.
    with session_scope(engine) as session:
        three_days = clock.at - dt.timedelta(days=3)
        job_last_run("daily_snapshot").set(three_days, session=session)
    leadership = Leadership(engine)
    scheduler = BackgroundScheduler(timezone="UTC")
    build_scheduler(scheduler, svc, leadership, election_seconds=0.2)
    scheduler.start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and snapshot_count(engine, "daily") == 0:
            time.sleep(0.1)
        time.sleep(1.0)  # give a second (wrong) run the chance to happen
    finally:
        scheduler.shutdown(wait=True)
        leadership.release()
    krs = 16
    objectives = 8
    assert snapshot_count(engine, "daily") == krs + objectives
    assert jobs.last_run(svc, "daily_snapshot") == clock.at


def test_second_scheduler_on_sqlite_is_refused_with_the_reason(engine: Engine) -> None:
    if not is_sqlite(engine):
        pytest.skip("SQLite single-node rule")
    first = Leadership(engine)
    assert first.try_acquire()
    second = Leadership(engine)
    with pytest.raises(SingleNodeError, match="SQLite is single-node") as refused:
        second.try_acquire()
    assert first.identity in str(refused.value)  # who holds it
    first.release()
    assert second.try_acquire()
    second.release()


LEADER_SCRIPT = """
import sys, time
from okr_jira.runtime.leader import Leadership
from okr_jira.storage.db import make_engine
lead = Leadership(make_engine(sys.argv[1]))
print("READY", flush=True)
sys.stdin.readline()  # all three start electing together
was = False
while True:
    now = lead.try_acquire()
    if now and not was:
        print("LEADER", flush=True)
    was = now
    time.sleep(0.1)
"""


def _read_leaders(procs: list[subprocess.Popen[str]], timeout: float) -> list[tuple[int, float]]:
    """(process index, seconds since the call) of every process that announced leadership."""
    import selectors

    sel = selectors.DefaultSelector()
    for i, p in enumerate(procs):
        assert p.stdout is not None
        sel.register(p.stdout, selectors.EVENT_READ, i)
    leaders: list[tuple[int, float]] = []
    start = time.monotonic()
    deadline = start + timeout
    while time.monotonic() < deadline:
        for key, _ in sel.select(timeout=0.1):
            line = key.fileobj.readline()  # type: ignore[union-attr]
            if line.startswith("LEADER"):
                leaders.append((key.data, time.monotonic() - start))
    sel.close()
    return leaders


def test_three_schedulers_elect_one_leader_and_a_killed_leader_is_replaced(
    database_url: str, engine: Engine
) -> None:
    if is_sqlite(engine):
        pytest.skip("leader election across processes needs PostgreSQL")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", LEADER_SCRIPT, database_url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(3)
    ]
    try:
        for p in procs:  # slow machines take seconds to import: time the election, not that
            assert p.stdout is not None and p.stdout.readline().startswith("READY")
        for p in procs:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        leaders = _read_leaders(procs, timeout=4)
        assert len(leaders) == 1, leaders
        first = leaders[0][0]
        procs[first].kill()  # kill -9: no clean release
        procs[first].wait()
        rest = [p for i, p in enumerate(procs) if i != first]
        new = _read_leaders(rest, timeout=5)
        assert len(new) == 1, new
        # Followers try every 0.1 s: the new leader takes over within a couple of intervals.
        assert new[0][1] < 2.0
    finally:
        for p in procs:
            p.kill()
            p.wait()
            for stream in (p.stdin, p.stdout):
                if stream:
                    stream.close()


def test_scheduler_command_stops_on_sigterm(db_env: str, engine: Engine) -> None:
    env = dict(os.environ, OKR_JIRA_LOG_LEVEL="INFO")
    proc = subprocess.Popen(
        [sys.executable, "-m", "okr_jira.cli", "scheduler", "--election-seconds", "0.2"],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    seen: list[str] = []
    try:
        assert proc.stderr is not None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not any("leader.elected" in s for s in seen):
            line = proc.stderr.readline()
            if not line:
                break
            seen.append(line)
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert proc.returncode == 0, "".join(seen) + err
    assert "scheduler started" in "".join(seen) and any("leader.elected" in s for s in seen)


def test_a_process_against_an_empty_database_names_the_upgrade_command(
    database_url: str,
) -> None:
    fresh = make_engine(database_url)
    try:
        with pytest.raises(SchemaBehindError, match="run `okr-jira db upgrade` first"):
            check_schema(fresh)
    finally:
        fresh.dispose()


def test_okr_file_job_applies_once_and_refuses_an_invalid_file(
    engine: Engine, tmp_path: Path
) -> None:
    okr_file = tmp_path / "okrs.yaml"
    okr_file.write_text(EXAMPLE_OKRS.read_text())
    clock = Clock(dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC))
    svc = services(engine, clock, okr_file=str(okr_file))
    assert jobs.apply_okr_file(svc) is True
    assert jobs.apply_okr_file(svc) is False  # idempotent
    assert jobs.publish_due(svc) is False and jobs.last_run(svc, "publish") is None
    okr_file.write_text(EXAMPLE_OKRS.read_text().replace("weight: 2\n", "weight: -2\n"))
    assert jobs.apply_okr_file(svc) is False  # invalid: nothing changes
    with Session(engine) as s:
        from okr_jira.storage.tables import KeyResultRow

        assert s.get(KeyResultRow, "SUP-1.2").weight == 2  # type: ignore[union-attr]


def test_okr_file_job_logs_the_lint_findings_of_a_change_once(
    engine: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    okr_file = tmp_path / "okrs.yaml"
    okr_file.write_text(EXAMPLE_OKRS.read_text().replace("    parent: CX-1\n", "", 1))
    svc = services(
        engine, Clock(dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)), okr_file=str(okr_file)
    )
    with caplog.at_level("WARNING", logger="okr_jira.runtime.jobs"):
        assert jobs.apply_okr_file(svc) is True
        assert jobs.apply_okr_file(svc) is False  # unchanged: applied and said once
    (record,) = [r for r in caplog.records if r.getMessage() == "okrfile.lint"]
    assert any("[unaligned_objective]" in p for p in record.problems)  # type: ignore[attr-defined]


def test_a_failed_sync_is_tried_again_within_a_minute_not_at_the_next_interval(
    engine: Engine,
) -> None:
    """Jira down when the scheduler starts: the catch-up sync fails; the next try comes in about
    30 s (backoff), not after the 15-minute interval, and succeeds once Jira answers again."""
    applied(engine)
    with SimulatorServer("cloud", jira=generate("small", flavor="cloud", deliver=False)) as site:
        creds = site.credentials
        svc = services(
            engine, Clock(dt.datetime.now(dt.UTC)), jira_url=site.url, jira_flavor="cloud",
            jira_user=creds.email, jira_token=creds.api_token, sync_interval_minutes=15,
        )  # fmt: skip
        svc.clock = lambda: dt.datetime.now(dt.UTC)
        with session_scope(engine) as session:  # the nightly full sync ran: not due at start
            job_last_run("full_sync").set(svc.clock(), session=session)
        site.faults.error_rate, site.faults.error_status = 1.0, 503
        leadership = Leadership(engine)
        scheduler = BackgroundScheduler(timezone="UTC")
        build_scheduler(scheduler, svc, leadership, election_seconds=0.2)
        failed = threading.Event()
        scheduler.add_listener(
            lambda e: e.job_id == "incremental_sync" and failed.set(), EVENT_JOB_ERROR
        )
        scheduler.start()
        try:
            assert failed.wait(60), "the catch-up sync should have run (and failed)"
            time.sleep(0.5)  # the retry is scheduled by the same event's listener
            job = scheduler.get_job("incremental_sync")
            wait = job.next_run_time - dt.datetime.now(dt.UTC)
            assert dt.timedelta(seconds=20) < wait <= dt.timedelta(seconds=31)
            site.faults.clear()
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and jobs.last_run(svc, "incremental_sync") is None:
                time.sleep(0.5)
            assert jobs.last_run(svc, "incremental_sync") is not None
            after = scheduler.get_job("incremental_sync").next_run_time - dt.datetime.now(dt.UTC)
            assert after > dt.timedelta(minutes=14)  # back on its interval
        finally:
            scheduler.shutdown(wait=True)
            leadership.release()
