"""Migration 0011: the receiver's insert writes fewer inbox indexes, and nothing else changes.

Events stored before the migration are still claimed, recognised as duplicates, listed as dead
letters and pruned after it; downgrading puts the previous indexes back.
"""

from __future__ import annotations

import datetime as dt

from alembic import command
from sqlalchemy import Engine, inspect, text

from okr_jira.storage.db import alembic_config, make_engine, session_scope, upgrade
from okr_jira.storage.inbox import FAILED, claim, dead_letters, prune, store_event

T0 = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def _indexes(engine: Engine) -> set[str]:
    return {i["name"] for i in inspect(engine).get_indexes("webhook_event") if i["name"]}


def _seed(engine: Engine) -> None:
    """Three events as a 0009 database holds them: one pending, one applied, one failed."""
    with engine.begin() as conn:
        for n, (status, processed) in enumerate(
            [("pending", None), ("applied", T0), (FAILED, T0)], start=1
        ):
            conn.execute(
                text(
                    "INSERT INTO webhook_event (delivery_id, received_at, event_type, issue_key,"
                    " body, status, attempts, processed_at) VALUES (:d, :at,"
                    " 'jira:issue_updated', :key, '{}', :status, 0, :processed)"
                ),
                {"d": f"d-{n}", "at": T0, "key": f"SUP-{n}", "status": status,
                 "processed": processed},
            )  # fmt: skip


def _store(engine: Engine, delivery: str) -> bool:
    return store_event(
        engine=engine, delivery_id=delivery, event_type="jira:issue_updated", body="{}",
        issue_key="SUP-9",
    )  # fmt: skip


def test_events_stored_before_the_migration_behave_the_same_after_it(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        upgrade(engine, "0009")
        assert {"ix_webhook_event_issue_key", "ix_webhook_event_pending"} <= _indexes(engine)
        _seed(engine)
        upgrade(engine)

        indexes = _indexes(engine)
        assert "ix_webhook_event_issue_key" not in indexes
        assert "ix_webhook_event_pending" not in indexes
        assert {"ix_webhook_event_pending_only", "ix_webhook_event_settled"} <= indexes
        # A Jira retry of a delivery stored before the migration is still a duplicate.
        assert _store(engine, "d-1") is False
        assert _store(engine, "d-4") is True
        with session_scope(engine) as session:
            assert [e.issue_key for e in claim(session=session, limit=10)] == ["SUP-1", "SUP-9"]
        with session_scope(engine) as session:
            assert [e.delivery_id for e in dead_letters(session=session)] == ["d-3"]
        # The applied event goes; the failed one (a dead letter) and the pending ones stay.
        assert prune(engine=engine, cutoff=T0 + dt.timedelta(days=1)) == 1
        with engine.connect() as conn:
            left = conn.execute(text("SELECT delivery_id FROM webhook_event ORDER BY id"))
            assert list(left.scalars()) == ["d-1", "d-3", "d-4"]
    finally:
        engine.dispose()


def test_downgrading_puts_the_previous_indexes_back(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        upgrade(engine)
        _seed(engine)
        command.downgrade(alembic_config(engine), "0009")
        indexes = _indexes(engine)
        assert {"ix_webhook_event_issue_key", "ix_webhook_event_pending"} <= indexes
        assert "ix_webhook_event_settled" not in indexes
        assert _store(engine, "d-2") is False
        upgrade(engine)
        assert "ix_webhook_event_settled" in _indexes(engine)
        assert _store(engine, "d-5") is True
    finally:
        engine.dispose()
