"""The notification outbox and each channel's health.

Enqueueing is an INSERT ... ON CONFLICT DO NOTHING on the (message, period, channel) key, so a
weekly digest enqueued twice (a second scheduler, a restart, `okr-jira digest` run again) is one
row. Sending claims a row with one conditional UPDATE (pending -> sending), committed before the
message goes out: two senders never both send it. A sender that died while sending leaves its row
claimed; after CLAIM_LEASE another sender takes it over (at least once beats never).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, and_, func, or_, update
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from okr_jira.storage.tables import ChannelRow, OutboxRow

PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"
OUTBOX: Table = OutboxRow.__table__  # type: ignore[attr-defined]
CLAIM_LEASE = dt.timedelta(minutes=10)


@dataclass(frozen=True)
class NewMessage:
    kind: str
    subject: str
    period: str
    channel: str
    payload: str  # JSON

    @property
    def dedupe_key(self) -> str:
        return f"{self.kind}:{self.subject}:{self.period}:{self.channel}"


@functools.cache
def _insert(dialect: str) -> Any:
    insert = sqlite.insert if dialect == "sqlite" else postgresql.insert
    return insert(OUTBOX).on_conflict_do_nothing(index_elements=["dedupe_key"])


def enqueue(*, session: Session, messages: Sequence[NewMessage], now: dt.datetime) -> list[str]:
    """Insert the messages not enqueued before; returns the dedupe keys of the new rows."""
    conn = session.connection()
    stmt = _insert(conn.dialect.name).returning(OUTBOX.c.dedupe_key)
    created: list[str] = []
    for m in messages:
        row = conn.execute(
            stmt,
            {
                "dedupe_key": m.dedupe_key, "kind": m.kind, "subject": m.subject,
                "period": m.period, "channel": m.channel, "payload": m.payload,
                "status": PENDING, "attempts": 0, "next_attempt_at": now, "created_at": now,
            },
        ).first()  # fmt: skip
        if row is not None:
            created.append(row[0])
    return created


def statuses(*, session: Session, keys: Sequence[str]) -> dict[str, OutboxRow]:
    """dedupe key -> its row (for the CLI to say what became of each message)."""
    if not keys:
        return {}
    query = select(OutboxRow).where(col(OutboxRow.dedupe_key).in_(list(keys)))
    return {row.dedupe_key: row for row in session.exec(query)}


def due(*, session: Session, now: dt.datetime, limit: int = 100) -> list[int]:
    """Ids of rows to send now: pending and due, or claimed by a sender whose lease ran out."""
    query = (
        sa_select(OUTBOX.c.id)
        .where(
            or_(
                and_(OUTBOX.c.status == PENDING, OUTBOX.c.next_attempt_at <= now),
                and_(OUTBOX.c.status == SENDING, OUTBOX.c.claimed_at < now - CLAIM_LEASE),
            )
        )
        .order_by(OUTBOX.c.id)
        .limit(limit)
    )
    return list(session.connection().execute(query).scalars())


def claim(*, session: Session, row_id: int, now: dt.datetime) -> OutboxRow | None:
    """Take the row for this sender (one UPDATE; None when another sender has it)."""
    stmt = (
        update(OUTBOX)
        .where(
            OUTBOX.c.id == row_id,
            or_(
                and_(OUTBOX.c.status == PENDING, OUTBOX.c.next_attempt_at <= now),
                and_(OUTBOX.c.status == SENDING, OUTBOX.c.claimed_at < now - CLAIM_LEASE),
            ),
        )
        .values(status=SENDING, claimed_at=now, attempts=OUTBOX.c.attempts + 1)
    )
    result = session.connection().execute(stmt)
    if getattr(result, "rowcount", 0) != 1:
        return None
    row = session.get(OutboxRow, row_id, populate_existing=True)
    if row is not None:
        session.expunge(row)
    return row


def mark_sent(*, session: Session, row_id: int, now: dt.datetime) -> None:
    session.connection().execute(
        update(OUTBOX)
        .where(OUTBOX.c.id == row_id)
        .values(status=SENT, sent_at=now, last_error=None, claimed_at=None)
    )


def mark_retry(*, session: Session, row_id: int, at: dt.datetime, error: str) -> None:
    session.connection().execute(
        update(OUTBOX)
        .where(OUTBOX.c.id == row_id)
        .values(status=PENDING, next_attempt_at=at, last_error=error, claimed_at=None)
    )


def mark_failed(*, session: Session, row_id: int, error: str) -> None:
    session.connection().execute(
        update(OUTBOX)
        .where(OUTBOX.c.id == row_id)
        .values(status=FAILED, last_error=error, claimed_at=None)
    )


def counts(*, session: Session) -> dict[str, int]:
    """status -> rows, for /metrics."""
    query = select(OutboxRow.status, func.count()).group_by(col(OutboxRow.status))
    return {status: int(n) for status, n in session.exec(query)}


# ----- channel health ----------------------------------------------------------------------------


def channel(*, session: Session, name: str) -> ChannelRow | None:
    return session.get(ChannelRow, name)


def channels(*, session: Session) -> list[ChannelRow]:
    return list(session.exec(select(ChannelRow).order_by(col(ChannelRow.channel))))


def channel_ok(*, session: Session, name: str, fingerprint: str, now: dt.datetime) -> None:
    row = session.get(ChannelRow, name) or ChannelRow(channel=name)
    row.state, row.fingerprint, row.failures, row.last_ok_at = "ok", fingerprint, 0, now
    session.add(row)


def channel_failed(
    *,
    session: Session,
    name: str,
    fingerprint: str | None,
    error: str,
    state: str,
    now: dt.datetime,
) -> None:
    """Keep the channel's last error. `state`: dead (permanent: nothing more is sent until the
    target changes), retrying, or degraded (delivered, but something was refused)."""
    row = session.get(ChannelRow, name) or ChannelRow(channel=name)
    row.state = state
    row.fingerprint = fingerprint
    row.last_error, row.last_error_at = error, now
    row.failures = (row.failures or 0) + 1
    session.add(row)
