"""Two writers storing the same new issues at once (the webhook worker and a sync, or two
workers on PostgreSQL) both succeed, and the newer state wins: a crashed sync job was what the
kill -9 test caught when the start-up sync and the worker met on an issue stored by neither."""

from __future__ import annotations

import datetime as dt
import threading

from sqlalchemy import Engine

from okr_jira.storage.db import session_scope
from okr_jira.storage.issues import snapshots, upsert_snapshots
from tests.support.builders import make_issue

T0 = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


def test_two_writers_storing_the_same_new_issues_at_once_both_succeed(engine: Engine) -> None:
    rounds, per_round = 25, 40
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []
    applied: dict[str, list[int]] = {"older": [], "newer": []}

    def writer(name: str, status: str, category: str, minutes: int) -> None:
        for r in range(rounds):
            batch = [
                make_issue(f"RACE-{r * per_round + i}", status=status, status_category=category,
                           updated=T0 + dt.timedelta(minutes=minutes))
                for i in range(per_round)
            ]  # fmt: skip
            try:
                barrier.wait(timeout=30)
                with session_scope(engine) as session:
                    out = upsert_snapshots(session=session, snapshots=batch, now=T0)
                applied[name].append(len(out.applied))
            except BaseException as exc:  # reported below
                errors.append(exc)
                barrier.abort()
                return

    threads = [
        threading.Thread(target=writer, args=("older", "To Do", "new", 0)),
        threading.Thread(target=writer, args=("newer", "Done", "done", 5)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == [], errors[0]

    with session_scope(engine) as session:
        stored = snapshots(session=session, keys=[f"RACE-{n}" for n in range(rounds * per_round)])
    assert len(stored) == rounds * per_round
    # Whoever came first, the newer state is what stays: an older one is never written over it.
    assert {s.status for s in stored.values()} == {"Done"}
    assert all(s.updated == T0 + dt.timedelta(minutes=5) for s in stored.values())
    # The newer writer applied every issue of every round (inserted or written over the older).
    assert applied["newer"] == [per_round] * rounds
