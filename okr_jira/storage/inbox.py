"""The webhook inbox table: raw events stored before Jira gets its 2xx, claimed by workers.

Receiving only inserts (one statement; a duplicate delivery id is a no-op). On PostgreSQL several
workers share the inbox (`FOR UPDATE SKIP LOCKED`, plus a per-issue advisory lock so two workers
never apply the same issue at once); on SQLite one worker takes the write lock when it writes.
"""

from __future__ import annotations

import datetime as dt
import functools
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, Table, bindparam, func, literal, text, update
from sqlalchemy import select as sa_select
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col, select

from okr_jira.storage.chunks import rows_in
from okr_jira.storage.tables import WebhookEventRow, utcnow

PENDING, APPLIED, IGNORED, FAILED = "pending", "applied", "ignored", "failed"
EVENTS: Table = WebhookEventRow.__table__  # type: ignore[attr-defined]
# Implied by `status = 'applied'` (or 'failed', ...), but SQLite matches a partial index only on
# its WHERE written out in the query, with the value in the SQL: the queries of settled events
# say it, so both databases read ix_webhook_event_settled.
SETTLED = EVENTS.c.status != literal(PENDING, literal_execute=True)


@dataclass(frozen=True, slots=True)
class Event:
    """One claimed inbox row: plain values read with Core (no ORM identity map to keep in sync)."""

    id: int
    event_type: str
    issue_key: str | None
    issue_id: str | None
    event_ts: int | None
    body: str


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one event: its new status, and why when it was not applied."""

    event_id: int
    status: str
    error: str | None = None


# --- receiving -----------------------------------------------------------------------------------


def store_event(
    *,
    engine: Engine,
    delivery_id: str,
    event_type: str,
    body: str,
    issue_key: str | None = None,
    issue_id: str | None = None,
    event_ts: int | None = None,
) -> bool:
    """Commit one raw event; False when this delivery id is already stored (a Jira retry).

    The receiver's hot path: one prepared statement on the pooled driver connection, without
    SQLAlchemy's per-statement work (compiled-cache lookup, result objects), which cost more than
    the INSERT itself. Driver errors come out as SQLAlchemy's DBAPIError, as everywhere else, and a
    connection found dead is dropped from the pool.
    """
    insert = _raw_insert(engine.dialect)
    values = insert.values(
        delivery_id=delivery_id, received_at=utcnow(), event_type=event_type, issue_key=issue_key,
        issue_id=issue_id, event_ts=event_ts, body=body, status=PENDING, attempts=0,
    )  # fmt: skip
    raw = None
    try:
        raw = engine.raw_connection()  # unlike engine.connect(), raises the driver's own errors
        return insert.run(raw, values)
    except insert.dbapi_error as exc:
        invalidated = raw is not None and engine.dialect.is_disconnect(
            exc, raw.dbapi_connection, None
        )
        if invalidated and raw is not None:
            raw.invalidate()
        raise DBAPIError.instance(
            insert.sql, None, exc, insert.dbapi_error, hide_parameters=True,
            connection_invalidated=invalidated, dialect=engine.dialect,
        ) from exc  # fmt: skip
    finally:
        if raw is not None:
            raw.close()


_INSERTED = (
    "delivery_id", "received_at", "event_type", "issue_key", "issue_id", "event_ts", "body",
    "status", "attempts",
)  # fmt: skip


@dataclass(frozen=True)
class _RawInsert:
    """INSERT ... ON CONFLICT (delivery_id) DO NOTHING RETURNING id in the driver's own SQL, with
    the columns' bind processors (how SQLAlchemy would store each value), built once per dialect."""

    sql: str
    processors: tuple[tuple[str, Any], ...]
    sqlite: bool
    dbapi_error: type[Any]  # the driver's Error class

    def values(self, **given: Any) -> dict[str, Any]:
        for name, process in self.processors:
            if given[name] is not None:
                given[name] = process(given[name])
        return given

    def run(self, raw: Any, values: dict[str, Any]) -> bool:
        if self.sqlite:
            created = _sqlite_insert(raw, self.sql, values)
            raw.commit()
            return created
        # One statement in autocommit mode: one round trip instead of BEGIN, INSERT and COMMIT,
        # and as durable when it returns (synchronous_commit stays on), so still before the 2xx.
        driver = raw.driver_connection
        driver.autocommit = True
        try:
            cursor = raw.cursor()
            try:
                cursor.execute(self.sql, values)
                return cursor.fetchone() is not None
            finally:
                cursor.close()
        finally:
            if not driver.closed:
                driver.autocommit = False


@functools.cache
def _raw_insert(dialect: Any) -> _RawInsert:
    sqlite = dialect.name == "sqlite"
    marks = [f":{c}" if sqlite else f"%({c})s" for c in _INSERTED]
    sql = (
        f"INSERT INTO {EVENTS.name} ({', '.join(_INSERTED)}) VALUES ({', '.join(marks)}) "
        "ON CONFLICT (delivery_id) DO NOTHING RETURNING id"
    )
    processors = tuple(
        (name, process)
        for name in _INSERTED
        if (process := EVENTS.c[name].type.bind_processor(dialect)) is not None
    )
    return _RawInsert(sql, processors, sqlite, dialect.loaded_dbapi.Error)


def _sqlite_insert(raw: Any, sql: str, values: dict[str, Any]) -> bool:
    """Insert, waiting for SQLite's write lock by polling every half millisecond.

    SQLite's own busy handler sleeps 1, 2, 5, 10, ... up to 100 ms between tries, so a receiver
    that finds the lock taken (by the worker, or the other gunicorn worker) oversleeps by up to
    that much after it is free. The engine's busy timeout still bounds the wait.
    """
    saved = int(raw.execute("PRAGMA busy_timeout").fetchone()[0])
    raw.execute("PRAGMA busy_timeout = 0")
    deadline = time.monotonic() + saved / 1000
    try:
        while True:
            try:
                return raw.execute(sql, values).fetchone() is not None
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                raw.rollback()
                time.sleep(0.0005)
    finally:
        raw.execute(f"PRAGMA busy_timeout = {saved}")


# --- claiming and marking ------------------------------------------------------------------------

_CLAIM_COLUMNS = (
    EVENTS.c.id,
    EVENTS.c.event_type,
    EVENTS.c.issue_key,
    EVENTS.c.issue_id,
    EVENTS.c.event_ts,
    EVENTS.c.body,
)


def claim(*, session: Session, limit: int) -> list[Event]:
    """Up to `limit` pending events in id order, for this worker alone (PostgreSQL) or for the
    one worker SQLite allows (which re-checks them under the write lock: `still_pending`)."""
    query = (
        sa_select(*_CLAIM_COLUMNS)
        # Written into the SQL, not bound: the planner then matches the partial index of
        # pending events (ix_webhook_event_pending_only) even in a generic plan.
        .where(EVENTS.c.status == literal(PENDING, literal_execute=True))
        .order_by(EVENTS.c.id)
        .limit(limit)
    )
    conn = session.connection()
    if conn.dialect.name == "sqlite":
        # Reading needs no lock (pysqlite opens no transaction for a SELECT).
        return [Event(*r) for r in conn.execute(query)]
    rows = [Event(*r) for r in conn.execute(query.with_for_update(skip_locked=True))]
    keys = sorted({r.issue_key for r in rows if r.issue_key})
    if not keys:
        return rows
    # One worker per issue at a time: another worker may hold a newer event of the same issue.
    # Keyed by schema too: advisory locks are per database, the inbox is per schema.
    locked = set(
        conn.execute(
            text(
                "SELECT k FROM unnest(CAST(:keys AS text[])) AS k "
                "WHERE pg_try_advisory_xact_lock("
                "hashtext(current_schema()), hashtext('okr-jira-issue:' || k))"
            ),
            {"keys": keys},
        ).scalars()
    )
    return [r for r in rows if r.issue_key is None or r.issue_key in locked]


def begin_write(*, session: Session) -> None:
    """On SQLite, take the write lock now: BEGIN IMMEDIATE waits for it instead of failing with
    SQLITE_BUSY when a read transaction tries to become a write one. A no-op elsewhere."""
    if session.get_bind().dialect.name == "sqlite":
        session.connection().exec_driver_sql("BEGIN IMMEDIATE")


def still_pending(*, session: Session, ids: Iterable[int]) -> set[int]:
    """Which of these events are still pending (another worker may have applied them)."""
    query = sa_select(EVENTS.c.id).where(EVENTS.c.status == PENDING)
    return {row.id for row in rows_in(session.connection(), query, EVENTS.c.id, ids)}


def write_outcomes(*, session: Session, outcomes: Sequence[Outcome], at: dt.datetime) -> None:
    """Every event's outcome in one executemany (Core: no ORM session to synchronise)."""
    if not outcomes:
        return
    stmt = (
        update(EVENTS)
        .where(EVENTS.c.id == bindparam("eid"))
        .values(
            status=bindparam("st"),
            error=bindparam("err"),
            processed_at=at,
            attempts=EVENTS.c.attempts + 1,
        )
    )
    rows = [{"eid": o.event_id, "st": o.status, "err": o.error} for o in outcomes]
    session.connection().execute(stmt, rows)


# --- dead letters, counts, pruning ---------------------------------------------------------------


def dead_letters(*, session: Session, limit: int = 100) -> list[WebhookEventRow]:
    query = (
        select(WebhookEventRow)
        .where(col(WebhookEventRow.status) == FAILED, SETTLED)
        .order_by(col(WebhookEventRow.id))
        .limit(limit)
    )
    return list(session.exec(query))


def retry(*, session: Session, ids: Sequence[int] | None = None) -> int:
    """Put failed events (these ids, or all when None) back in the queue; returns how many."""
    stmt = update(WebhookEventRow).where(col(WebhookEventRow.status) == FAILED, SETTLED)
    if ids is not None:
        stmt = stmt.where(col(WebhookEventRow.id).in_(list(ids)))
    result = session.execute(stmt.values(status=PENDING))
    return int(getattr(result, "rowcount", 0) or 0)


@dataclass(frozen=True)
class InboxStats:
    by_type_status: dict[tuple[str, str], int]
    pending: int
    oldest_pending: dt.datetime | None
    recent_delays: list[float]  # seconds from receipt to applied, latest events first


def inbox_stats(*, session: Session, recent: int = 1000) -> InboxStats:
    """Counts straight from the table, so every gunicorn worker reports the same numbers."""
    counts = session.exec(
        select(WebhookEventRow.event_type, WebhookEventRow.status, func.count()).group_by(
            col(WebhookEventRow.event_type), col(WebhookEventRow.status)
        )
    )
    by: dict[tuple[str, str], int] = {(t, s): int(n) for t, s, n in counts}
    oldest = session.exec(
        select(func.min(WebhookEventRow.received_at)).where(col(WebhookEventRow.status) == PENDING)
    ).one()
    delays_q = (
        select(WebhookEventRow.received_at, WebhookEventRow.processed_at)
        .where(col(WebhookEventRow.status) == APPLIED, SETTLED)
        .order_by(col(WebhookEventRow.id).desc())
        .limit(recent)
    )
    delays = [(p - r).total_seconds() for r, p in session.exec(delays_q) if p is not None]
    if isinstance(oldest, dt.datetime) and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=dt.UTC)
    pending = sum(n for (_, s), n in by.items() if s == PENDING)
    return InboxStats(by, pending, oldest, delays)


def pending_count(*, session: Session) -> int:
    return int(
        session.exec(select(func.count()).where(col(WebhookEventRow.status) == PENDING)).one()
    )


def prune(*, engine: Engine, cutoff: dt.datetime, batch_size: int = 2000) -> int:
    """Delete applied and ignored events processed before `cutoff`; returns how many.

    Pending and failed events (dead letters) are kept. Deletes go in short transactions of
    `batch_size` rows, so receivers never wait long for SQLite's write lock.
    """
    deleted = 0
    for status in (APPLIED, IGNORED):
        while True:
            with engine.begin() as conn:
                ids = list(
                    conn.execute(
                        sa_select(EVENTS.c.id)
                        .where(EVENTS.c.status == status, SETTLED, EVENTS.c.processed_at < cutoff)
                        .order_by(EVENTS.c.id)
                        .limit(batch_size)
                    ).scalars()
                )
                if ids:
                    conn.execute(EVENTS.delete().where(EVENTS.c.id.in_(ids)))
            deleted += len(ids)
            if len(ids) < batch_size:
                break
    return deleted
