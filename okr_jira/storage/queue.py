"""Queued jobs: sync and publish asked for over the API, run later by the scheduler's leader.

A job is claimed with a conditional UPDATE (queued -> running), so two claimers never run the same
one, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from okr_jira.storage.tables import QueuedJobRow

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"


def enqueue(
    *, session: Session, kind: str, params: dict[str, Any], requested_by: str, at: dt.datetime
) -> QueuedJobRow:
    row = QueuedJobRow(
        kind=kind, params=json.dumps(params, sort_keys=True), requested_by=requested_by,
        requested_at=at,
    )  # fmt: skip
    session.add(row)
    session.flush()
    return row


def get_job(*, session: Session, job_id: int) -> QueuedJobRow | None:
    return session.get(QueuedJobRow, job_id)


def claim_next(*, session: Session, at: dt.datetime) -> QueuedJobRow | None:
    """The oldest queued job, now marked running (None when none is queued)."""
    while True:
        query = (
            select(QueuedJobRow.id)
            .where(col(QueuedJobRow.status) == QUEUED)
            .order_by(col(QueuedJobRow.id))
            .limit(1)
        )
        job_id = session.exec(query).first()
        if job_id is None:
            return None
        claimed = session.connection().execute(
            update(QueuedJobRow)
            .where(col(QueuedJobRow.id) == job_id, col(QueuedJobRow.status) == QUEUED)
            .values(status=RUNNING, started_at=at)
        )
        if claimed.rowcount == 1:
            row = session.get(QueuedJobRow, job_id, populate_existing=True)
            assert row is not None
            return row


def finish(
    *, session: Session, job_id: int, status: str, message: str | None, at: dt.datetime
) -> None:
    row = session.get(QueuedJobRow, job_id)
    if row is not None:
        row.status, row.message, row.finished_at = status, message, at
        session.add(row)


def fail_interrupted(*, session: Session, at: dt.datetime) -> int:
    """Jobs left running by a process that died: failed, saying so (asked again if wanted)."""
    result = session.connection().execute(
        update(QueuedJobRow)
        .where(col(QueuedJobRow.status) == RUNNING)
        .values(status=FAILED, finished_at=at, message="interrupted: the process stopped")
    )
    return int(result.rowcount or 0)
