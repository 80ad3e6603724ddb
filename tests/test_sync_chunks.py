"""A large site's full sync works on its key results a chunk at a time (links, reconstructed
history, health): the chunk boundaries must change nothing a user sees.

The same Jira is synced into two databases, one key result per chunk and all in one, on the
example OKRs (objective trees, manual key results, teams in two lines of the org chart), then
again after the work moved and an admin changed the file (an overlap between teams, a lowered
target, a key result dropped). Scope history, progress history and health come out the same.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from okr_jira.okrs.file import parse_okr_text
from okr_jira.okrs.plan import apply_plan, make_plan
from okr_jira.simulator import SimulatorServer, generate
from okr_jira.storage.db import session_scope
from okr_jira.storage.tables import CycleHealthRow, KrIssueLinkRow, ProgressSnapshotRow
from okr_jira.sync.summary import SyncSummary
from tests.support.database import fresh_engine
from tests.support.paths import EXAMPLE_OKRS
from tests.test_sync import adapter_for, syncer

NOW = dt.datetime(2026, 11, 15, 9, 0, tzinfo=dt.UTC)  # day 46 of the example's quarter
LATER = NOW + dt.timedelta(days=2)


@pytest.fixture
def site() -> Iterator[SimulatorServer]:
    with SimulatorServer("cloud", jira=generate("small", deliver=False)) as server:
        yield server


@pytest.fixture
def other_engine(tmp_path: Path, worker_id: str) -> Iterator[Engine]:
    with fresh_engine(tmp_path, worker_id, "other") as engine:
        yield engine


def changed_okrs(text: str) -> str:
    """PLAT-1.1's target lowered, SELF-1.3 claiming SUP-3 (support's too), PLAT-1.2 dropped."""
    lowered = text.replace(
        "        start: 0\n        target: 120\n", "        start: 0\n        target: 80\n"
    )
    claimed = lowered.replace(
        "source: {issues: [SELF-2, SELF-3, SELF-4]}",
        "source: {issues: [SELF-2, SELF-3, SELF-4], include: [SUP-3]}",
    )
    start = claimed.index("      - key: PLAT-1.2")
    end = claimed.index("  - key: MOB-1", start)
    dropped = claimed[:start] + claimed[end:]
    assert lowered != text and claimed != lowered and "PLAT-1.2" not in dropped
    return dropped


def apply(engine: Engine, text: str, at: dt.datetime) -> None:
    with session_scope(engine) as session:
        apply_plan(session, make_plan(session, parse_okr_text(text)), actor="alice", now=at)


def sync(engine: Engine, site: SimulatorServer, at: dt.datetime, chunk: int) -> SyncSummary:
    return syncer(engine, adapter_for(site), clock=lambda: at, chunk=chunk).full()


def seen(engine: Engine) -> dict[str, Any]:
    """What users read back: every link, every progress point, the health kept per cycle."""
    links, points = KrIssueLinkRow.__table__, ProgressSnapshotRow.__table__  # type: ignore[attr-defined]
    with engine.connect() as conn:
        link_rows = sorted(
            (r.kr, r.issue_key, str(r.joined_at), str(r.left_at), r.done_when_joined,
             r.done_when_left, r.reason)
            for r in conn.execute(select(links))
        )  # fmt: skip
        point_rows = sorted(
            (r.kind, r.subject, r.cycle, str(r.taken_at), r.progress, r.current, r.status,
             r.issues_total, r.issues_done, r.issues_in_progress, r.scope, r.reason)
            for r in conn.execute(select(points))
        )  # fmt: skip
        health = {
            r.cycle: json.loads(r.body)
            for r in conn.execute(select(CycleHealthRow.__table__))  # type: ignore[attr-defined]
        }
    return {"links": link_rows, "points": point_rows, "health": health}


def totals(summary: SyncSummary) -> tuple[int, ...]:
    return (summary.krs_changed, summary.joined, summary.left, summary.backfilled,
            summary.signals, summary.issues_read)  # fmt: skip


def test_one_key_result_per_chunk_syncs_the_same_links_history_and_health_as_one_chunk(
    engine: Engine, other_engine: Engine, site: SimulatorServer
) -> None:
    text = EXAMPLE_OKRS.read_text(encoding="utf-8")
    for db in (engine, other_engine):
        apply(db, text, NOW - dt.timedelta(hours=1))
    first = sync(engine, site, NOW, chunk=1)
    whole = sync(other_engine, site, NOW, chunk=1000)
    assert first.errors == {} and first.backfilled > 0 and first.joined > 100
    assert totals(first) == totals(whole)
    assert seen(engine) == seen(other_engine)

    # The work moves in Jira; an admin changes the file; the nightly full sync runs again.
    jira = site.jira
    child = next(r.key for r in jira.issues.values() if r.epic == "SUP-12")
    jira.update_issue(child, epic="SUP-14")
    jira.create_issue("SUP", "Story", "Refund edge case", epic="SUP-12", story_points=8.0)
    for key in [r.key for r in jira.issues.values() if r.project == "MOB"][:15]:
        jira.transition(key, "Done")
    changed = changed_okrs(text)
    for db in (engine, other_engine):
        apply(db, changed, LATER - dt.timedelta(hours=1))
    again = sync(engine, site, LATER, chunk=1)
    whole_again = sync(other_engine, site, LATER, chunk=1000)
    assert again.errors == {} and again.left > 0 and again.joined > 0
    assert totals(again) == totals(whole_again)
    after = seen(engine)
    assert after == seen(other_engine)
    kinds = {(s["kind"], s["key_result"]) for s in after["health"]["2026-Q4"]["signals"]}
    assert {("overlap", "SUP-1.3"), ("overlap", "SELF-1.3"), ("target_lowered", "PLAT-1.1")} <= (
        kinds
    )
    dropped = [link for link in after["links"] if link[0] == "PLAT-1.2"]
    assert dropped and all(left != "None" for _, _, _, left, *_ in dropped)
