"""The worker's incremental progress equals a recomputation from scratch after random bursts."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from okr_jira import inbox
from okr_jira.report.evaluate import evaluate_cycle
from okr_jira.scope import load_rules
from okr_jira.storage.inbox import inbox_stats, prune, store_event
from okr_jira.storage.issues import snapshots
from okr_jira.storage.links import open_links
from okr_jira.storage.progress import progress_as_of
from tests.fixtures.webhooks import encode, issue_event
from tests.support.builders import THRESHOLDS
from tests.support.inbox_world import NOW, T0, WORKER

KEYS = [f"SUP-{n}" for n in range(100, 130)] + ["SUP-3", "SUP-7", "MOB-5", "PLAT-9"]


def random_burst(engine: Engine, rng: random.Random, n: int, tag: str) -> None:
    """n events over a few issues, out of order, with duplicates, deletes, moves and scope
    changes."""
    for i in range(n):
        key = rng.choice(KEYS)
        event = "jira:issue_deleted" if rng.random() < 0.08 else "jira:issue_updated"
        issue_id = None
        if rng.random() < 0.05:  # the issue moved: a new key, the same Jira id
            issue_id = str(10000 + int(key.rsplit("-", 1)[1]))
            key = f"SUP-{500 + rng.randrange(5)}"
        payload = issue_event(
            key,
            event=event,
            issue_id=issue_id,
            status=rng.choice(["To Do", "In Progress", "Done"]),
            labels=rng.choice([("macros",), ("reliability",), (), ("macros", "other")]),
            issue_type=rng.choice(["Story", "Task", "Bug"]),
            points=rng.choice([None, 1.0, 3.0, 5.0]),
            updated=T0 + dt.timedelta(minutes=rng.randrange(300)),
        )
        assert store_event(
            engine=engine,
            delivery_id=f"{tag}-{i}",
            event_type=event,
            issue_key=key,
            issue_id=payload["issue"]["id"],
            event_ts=payload["timestamp"],
            body=encode(payload).decode(),
        )


def recorded(engine: Engine, kind: str, subjects: list[str]) -> dict[str, float]:
    with Session(engine) as s:
        rows = progress_as_of(session=s, kind=kind, subjects=subjects, until=NOW)
    return {k: r.progress for k, r in rows.items()}


@pytest.mark.parametrize("chunk_issues", [None, 4])
def test_progress_after_random_bursts_equals_a_recomputation_from_scratch(
    okr_engine: Engine, chunk_issues: int | None
) -> None:
    rng = random.Random(7)
    for burst in range(4):
        random_burst(okr_engine, rng, 60, f"b{burst}")
        # Small batches, and on SQLite small write transactions, as a busy worker would take.
        while inbox.process_batch(
            engine=okr_engine, options=WORKER, limit=25, now=NOW, chunk_issues=chunk_issues
        ).claimed:
            pass
    with Session(okr_engine) as s:
        report = evaluate_cycle(session=s, now=NOW, thresholds=THRESHOLDS)
        rules = load_rules(session=s)
        snaps = snapshots(session=s)
        links = open_links(session=s)
    # Scope: exactly the issues each KR's rule selects from the stored (newest) snapshots.
    for m in rules.matchers:
        wanted = {k for k, snap in snaps.items() if m.decide(snap, now=NOW, remote=None)}
        assert links.get(m.kr.key, set()) == wanted, m.kr.key
    nodes = report.all_nodes()
    live_krs = {kr.key: st.progress for n in nodes for kr, st in n.key_results}
    live_objectives = {n.objective.key: n.progress for n in nodes}
    touched = recorded(okr_engine, "kr", list(live_krs))
    assert touched, "the bursts recorded some KR progress"
    assert touched == {k: live_krs[k] for k in touched}
    objectives = recorded(okr_engine, "objective", list(live_objectives))
    assert objectives == {k: live_objectives[k] for k in objectives}
    assert any(0 < p < 1 for p in touched.values())


def test_pruning_deletes_old_applied_and_ignored_events_and_keeps_the_rest(
    okr_engine: Engine,
) -> None:
    rng = random.Random(3)
    random_burst(okr_engine, rng, 30, "old")
    inbox.drain(engine=okr_engine, options=WORKER, now=NOW)
    random_burst(okr_engine, rng, 5, "new")  # still pending
    with Session(okr_engine) as s:
        before = inbox_stats(session=s).by_type_status
    done = sum(n for (_, status), n in before.items() if status in ("applied", "ignored"))
    week = dt.timedelta(days=7)
    assert prune(engine=okr_engine, cutoff=NOW - week) == 0  # too recent
    later = NOW + dt.timedelta(days=8)
    assert prune(engine=okr_engine, cutoff=later - week, batch_size=7) == done
    with Session(okr_engine) as s:
        after = inbox_stats(session=s)
    assert after.pending == 5
    assert {status for _, status in after.by_type_status} == {"pending"}
