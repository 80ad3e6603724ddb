"""Two writers that both saw an issue outside a key result (a sync and a webhook worker) open
one link, not two: with two, a later leave closed one and the issue went on counting."""

from __future__ import annotations

import datetime as dt
import threading

from sqlalchemy import Engine, text

from okr_jira.storage.db import make_engine, session_scope, upgrade
from okr_jira.storage.links import Join, Leave, open_link_ids, open_links, write_changes

T0 = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


def test_two_writers_opening_the_same_links_at_once_leave_one_open_link_each(
    engine: Engine,
) -> None:
    joins = [Join(kr="CO-1.1", issue=f"SUP-{i}", done=False, reason="sync") for i in range(200)]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            barrier.wait(timeout=30)
            with session_scope(engine) as session:
                write_changes(session=session, joins=joins, leaves=[], at=T0)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == [], errors[0]

    # The issue leaves: closing the link the reader finds takes it out of the key result.
    with session_scope(engine) as session:
        link = open_link_ids(session=session, issues=["SUP-7"])[("CO-1.1", "SUP-7")]
        write_changes(
            session=session, joins=[], leaves=[Leave(link, False, "left")],
            at=T0 + dt.timedelta(hours=1),
        )  # fmt: skip
    with session_scope(engine) as session:
        scope = open_links(session=session)["CO-1.1"]
    assert "SUP-7" not in scope
    assert len(scope) == 199


def test_upgrading_keeps_the_oldest_of_duplicate_open_links(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        upgrade(engine, "0006")
        with engine.begin() as conn:
            for i, (issue, left) in enumerate(
                [("SUP-1", None), ("SUP-1", None), ("SUP-1", T0), ("SUP-2", None)]
            ):
                conn.execute(
                    text(
                        "INSERT INTO kr_issue_link"
                        " (kr, issue_key, joined_at, left_at, reason, done_when_joined)"
                        " VALUES ('CO-1.1', :issue, :at, :left, 'sync', false)"
                    ),
                    {"issue": issue, "at": T0 + dt.timedelta(minutes=i), "left": left},
                )
        upgrade(engine)
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT issue_key, joined_at, left_at FROM kr_issue_link ORDER BY id")
            ).all()
        assert [(r[0], r[2] is None) for r in rows] == [
            ("SUP-1", True), ("SUP-1", False), ("SUP-2", True),
        ]  # fmt: skip
    finally:
        engine.dispose()
