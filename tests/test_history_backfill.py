"""History from the first day, as an operator gets it: `okr-jira apply`, one `sync --full`, then
`tree --at` a past day answers with what the simulated Jira's own issues say of that day.

The expected figures are counted here from the simulator's records (its own JQL search picks
each KR's issues; creation and resolution dates decide each day), never from okr-jira's code.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine
from sqlmodel import col, select

from okr_jira.simulator import SimulatorServer, generate
from okr_jira.simulator.records import IssueRecord
from okr_jira.storage.db import session_scope
from okr_jira.storage.tables import ProgressSnapshotRow
from tests.support.service import okr_jira, site_env

OKRS = """
cycles:
  - {key: 2026-Q4, name: Q4 2026, start: 2026-10-01, end: 2026-12-31}
teams:
  - {key: acme, name: Acme, jira_projects: [SUP, MOB, PLAT, SELF]}
objectives:
  - key: CO-1
    cycle: 2026-Q4
    team: acme
    title: Company
    key_results:
      - {key: CO-1.1, title: NPS, kind: manual, start: 40, target: 60}
  - key: SUP-1
    cycle: 2026-Q4
    team: acme
    parent: CO-1
    title: Support
    key_results:
      - key: K-COUNT
        title: stories
        kind: issues
        source: {jql: 'project = SUP AND type = Story'}
      - key: K-POINTS
        title: mobile points
        kind: issues
        weight_by: story_points
        source: {jql: 'project = MOB AND type = Story'}
      - key: K-BUGS
        title: platform bugs
        kind: issue_count
        start: 0
        target: 100
        source: {jql: 'project = PLAT AND type = Bug'}
      - key: K-SAVED
        title: hours saved
        kind: field_sum
        field: Hours Saved
        done_only: true
        start: 0
        target: 500
        source: {jql: 'project = SELF'}
"""
JQL = {
    "K-COUNT": "project = SUP AND type = Story",
    "K-POINTS": "project = MOB AND type = Story",
    "K-BUGS": "project = PLAT AND type = Bug",
    "K-SAVED": "project = SELF",
}
DAYS = ("2026-10-01", "2026-10-20", "2026-11-09")


@pytest.fixture(params=[("cloud", "America/Los_Angeles"), ("datacenter", "Asia/Tokyo")])
def site(request: pytest.FixtureRequest) -> Iterator[tuple[SimulatorServer, str]]:
    flavor, zone = request.param
    with SimulatorServer(flavor, jira=generate("small", flavor=flavor)) as server:
        yield server, zone


def _done_by(rec: IssueRecord, end: dt.datetime) -> bool:
    when = rec.resolved or rec.status_changed
    return rec.status_category == "done" and when is not None and when <= end


def _expected(server: SimulatorServer, kr: str, end: dt.datetime) -> dict[str, float]:
    """What the simulator's own records say of `kr` at `end`."""
    issues = [server.jira.issues[k] for k in server.jira.search(JQL[kr])]
    there = [r for r in issues if r.created <= end]
    done = [r for r in there if _done_by(r, end)]
    if kr == "K-POINTS":
        total = sum(r.story_points if r.story_points is not None else 1.0 for r in there)
        current = sum(r.story_points if r.story_points is not None else 1.0 for r in done)
    elif kr == "K-SAVED":
        total, current = len(there), sum(r.hours_saved or 0.0 for r in done)
    elif kr == "K-BUGS":
        total = current = len(there)
    else:
        total, current = len(there), len(done)
    return {"total": len(there), "done": len(done), "current": current, "weight": total}


def _krs(tree: dict[str, object]) -> dict[str, dict[str, object]]:
    out: dict[str, dict[str, object]] = {}
    stack = list(tree["objectives"])  # type: ignore[call-overload]
    while stack:
        node = stack.pop()
        out |= {kr["key"]: kr for kr in node["key_results"]}
        stack.extend(node["children"])
    return out


def test_tree_at_a_past_day_right_after_the_first_sync_counts_what_jira_says_of_that_day(
    db_env: str, engine: Engine, site: tuple[SimulatorServer, str], tmp_path: Path
) -> None:
    server, zone = site
    okrs = tmp_path / "okrs.yaml"
    okrs.write_text(OKRS, encoding="utf-8")
    if server.flavor == "cloud":
        server.jira.time_zone = zone  # the account's zone, which /myself tells
        env = site_env(db_env, server)
    else:
        env = site_env(db_env, server, OKR_JIRA_TIME_ZONE=zone)  # the setting, no /myself
    okr_jira(env, "apply", str(okrs))
    okr_jira(env, "checkin", "CO-1.1", "45")
    out = okr_jira(env, "sync", "--full")
    assert "history reconstructed:" in out
    tz = ZoneInfo(zone)
    for day in DAYS:
        end = dt.datetime.combine(
            dt.date.fromisoformat(day) + dt.timedelta(days=1), dt.time.min, tzinfo=tz
        ) - dt.timedelta(microseconds=1)
        tree = json.loads(okr_jira(env, "tree", "--at", day, "--json"))
        assert tree["on"] == day
        krs = _krs(tree)
        for key in JQL:
            want = _expected(server, key, end)
            got = krs[key]
            assert got["issues"]["total"] == want["total"], (day, key)
            assert got["issues"]["done"] == want["done"], (day, key)
            assert got["current"] == pytest.approx(want["current"]), (day, key)
            if key in ("K-COUNT", "K-POINTS"):
                share = want["current"] / want["weight"] if want["weight"] else 0.0
                assert got["progress"] == pytest.approx(share, abs=1e-4), (day, key)
        # A manual KR starts at its first check-in (today): nothing before.
        assert krs["CO-1.1"]["warnings"] == ["no progress recorded by then"]
    with session_scope(engine) as session:
        rows = list(
            session.exec(
                select(ProgressSnapshotRow).where(
                    col(ProgressSnapshotRow.subject).in_(["K-COUNT", "SUP-1"])
                )
            )
        )
    assert {r.reason for r in rows} == {"backfill", "sync"}
    # One reconstructed point per day of the cycle so far (in the site's zone), no gaps.
    today = dt.datetime.now(tz).date()
    first = dt.date(2026, 10, 1)
    for subject in ("K-COUNT", "SUP-1"):
        days = sorted(
            r.taken_at.astimezone(tz).date()
            for r in rows
            if r.subject == subject and r.reason == "backfill"
        )
        assert days == [first + dt.timedelta(days=n) for n in range((today - first).days)]
    # A second full sync finds every day filled: nothing more is reconstructed.
    assert "history reconstructed" not in okr_jira(env, "sync", "--full")
