"""A full sync killed half-way (kill -9) against a simulator in another process, then resumed."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from okr_jira.adapters.jira import JiraAdapter
from okr_jira.storage import state as named
from okr_jira.storage.db import make_engine, session_scope, upgrade
from okr_jira.storage.tables import IssueSnapshotRow
from okr_jira.sync import Syncer
from tests.support.builders import GUARDRAILS, THRESHOLDS
from tests.test_sync import OKRS, apply_okrs, open_scope

EMAIL, TOKEN = "okr-bot@example.com", "sim-api-token"
OKR_JIRA = str(Path(sys.executable).with_name("okr-jira"))  # the installed console script


@pytest.fixture
def sim_url() -> Iterator[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "okr_jira.simulator", "--flavor", "cloud", "--size", "small",
         "--latency-ms", "150"],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("url="), line
        yield line.removeprefix("url=")
    finally:
        proc.terminate()
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()


def snapshot_count(engine: Engine) -> int:
    with Session(engine) as s:
        return int(s.exec(select(func.count()).select_from(IssueSnapshotRow)).one())


def state(engine: Engine, key: named.TimeKey) -> dt.datetime | None:
    with session_scope(engine) as session:
        return key.get(session=session)


def test_full_sync_killed_half_way_is_finished_by_the_next_sync(
    engine: Engine, database_url: str, sim_url: str, tmp_path: object
) -> None:
    apply_okrs(engine, OKRS)
    env = os.environ | {
        "OKR_JIRA_DATABASE_URL": database_url,
        "OKR_JIRA_JIRA_URL": sim_url,
        "OKR_JIRA_JIRA_USER": EMAIL,
        "OKR_JIRA_JIRA_TOKEN": TOKEN,
    }
    env.pop("OKR_JIRA_CONFIG", None)
    proc = subprocess.Popen(
        [OKR_JIRA, "sync", "--full"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 30
    while snapshot_count(engine) == 0 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    if proc.poll() is not None:
        assert proc.stderr is not None
        pytest.fail(f"the sync ended before it could be killed: {proc.stderr.read()!r}")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    assert proc.stderr is not None
    proc.stderr.close()
    # Killed after the first page: snapshots stored, but no scope and no watermark yet.
    assert snapshot_count(engine) > 0
    assert open_scope(engine) == {}
    assert state(engine, named.FULL_SYNC_STARTED) and not state(engine, named.WATERMARK)

    resumed = subprocess.run(
        [OKR_JIRA, "sync"], env=env, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming an interrupted full sync" in resumed.stdout
    assert state(engine, named.FULL_SYNC_STARTED) is None and state(engine, named.WATERMARK)

    # The same as a sync that was never interrupted, into a fresh database.
    fresh = make_engine(f"sqlite:///{tmp_path}/fresh.db")
    upgrade(fresh)
    try:
        apply_okrs(fresh, OKRS)
        Syncer(
            fresh,
            JiraAdapter(sim_url, user=EMAIL, token=TOKEN),
            thresholds=THRESHOLDS,
            guardrails=GUARDRAILS,
        ).full()
        assert open_scope(engine) == open_scope(fresh)
        assert snapshot_count(engine) == snapshot_count(fresh)
    finally:
        fresh.dispose()
