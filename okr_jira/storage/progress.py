"""The progress history of KRs and objectives, and the pointer to each subject's latest point."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert as sa_insert
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, delete, func, select

from okr_jira.domain.health import ProgressPoint
from okr_jira.storage.chunks import chunked, rows_in
from okr_jira.storage.codec import moment, raw_moment
from okr_jira.storage.tables import ProgressLatestRow, ProgressSnapshotRow, utcnow

BACKFILL = "backfill"  # the reason of points reconstructed on a mapping's first sync


def record_progress(
    *,
    session: Session,
    kind: str,
    subject: str,
    cycle: str,
    progress: float,
    current: float | None = None,
    status: str | None = None,
    issues: tuple[int, int, int] = (0, 0, 0),
    scope: float | None = None,
    reason: str = "sync",
    at: dt.datetime | None = None,
    latest: bool = True,
) -> None:
    """Append one point to the progress history and move the subject's latest pointer to it.

    `latest=False` for a point in the past (a backfilled day): the pointer stays where it is."""
    taken_at = at or utcnow()
    conn = session.connection()
    history_insert, latest_upsert = _progress_statements(conn.dialect.name)
    snapshot_id = conn.execute(
        history_insert,
        {
            "kind": kind, "subject": subject, "cycle": cycle, "taken_at": taken_at,
            "progress": progress, "current": current, "status": status,
            "issues_total": issues[0], "issues_done": issues[1], "issues_in_progress": issues[2],
            "scope": scope, "reason": reason,
        },
    ).scalar_one()  # fmt: skip
    if not latest:
        return
    conn.execute(
        latest_upsert,
        {"kind": kind, "subject": subject, "snapshot_id": snapshot_id, "taken_at": taken_at},
    )


def record_backfill(*, session: Session, points: Sequence[dict[str, Any]]) -> int:
    """Insert reconstructed points (reason "backfill") in bulk; the latest pointers stay.

    Each point has the keys of record_progress: kind, subject, cycle, taken_at, progress,
    current, status, issues_total, issues_done, issues_in_progress, scope.
    """
    history = ProgressSnapshotRow.__table__  # type: ignore[attr-defined]
    conn = session.connection()
    for batch in chunked(points, 5000):
        conn.execute(sa_insert(history), [{**point, "reason": BACKFILL} for point in batch])
    return len(points)


@functools.cache
def _progress_statements(dialect: str) -> tuple[Any, Any]:
    """INSERT into the history RETURNING id, and the upsert of progress_latest.

    The latest pointer only moves forward (to a larger id), so it is the row progress_as_of
    would find in the history whatever order concurrent transactions commit in.
    """
    history = ProgressSnapshotRow.__table__  # type: ignore[attr-defined]
    latest = ProgressLatestRow.__table__  # type: ignore[attr-defined]
    insert = sqlite_insert if dialect == "sqlite" else pg_insert
    upsert = insert(latest)
    upsert = upsert.on_conflict_do_update(
        index_elements=[latest.c.kind, latest.c.subject],
        set_={"snapshot_id": upsert.excluded.snapshot_id, "taken_at": upsert.excluded.taken_at},
        where=latest.c.snapshot_id < upsert.excluded.snapshot_id,
    )
    return sa_insert(history).returning(history.c.id), upsert


def progress_as_of(
    *, session: Session, kind: str, subjects: Sequence[str], until: dt.datetime
) -> dict[str, ProgressSnapshotRow]:
    """The last recorded progress of each subject at or before `until`: the point taken last
    (the one written last among points taken at the same moment).

    The latest point of each subject is a primary-key lookup in progress_latest; only subjects
    whose latest point is after `until` (a past date) are looked up in the history. Points are
    ordered by when they were taken, not by id: backfilled days are written after later points.
    """
    if not subjects:
        return {}
    wanted = list(dict.fromkeys(subjects))
    out: dict[str, ProgressSnapshotRow] = {}
    for chunk in chunked(wanted):
        current = (
            select(ProgressSnapshotRow)
            .join(ProgressLatestRow, col(ProgressLatestRow.snapshot_id) == ProgressSnapshotRow.id)
            .where(col(ProgressLatestRow.kind) == kind, col(ProgressLatestRow.subject).in_(chunk))
        )
        out.update({row.subject: row for row in session.exec(current) if row.taken_at <= until})
    older = [s for s in wanted if s not in out]
    for chunk in chunked(older):
        last = (
            select(
                ProgressSnapshotRow.subject,
                func.max(ProgressSnapshotRow.taken_at).label("taken_at"),
            )
            .where(
                col(ProgressSnapshotRow.kind) == kind,
                col(ProgressSnapshotRow.subject).in_(chunk),
                col(ProgressSnapshotRow.taken_at) <= until,
            )
            .group_by(col(ProgressSnapshotRow.subject))
            .subquery()
        )
        query = (
            select(ProgressSnapshotRow)
            .join(
                last,
                (col(ProgressSnapshotRow.subject) == last.c.subject)
                & (col(ProgressSnapshotRow.taken_at) == last.c.taken_at),
            )
            .where(col(ProgressSnapshotRow.kind) == kind)
            .order_by(col(ProgressSnapshotRow.id))
        )
        out.update({row.subject: row for row in session.exec(query)})  # the last id wins ties
    return out


def final_progress(
    *, session: Session, kind: str, subjects: Sequence[str]
) -> dict[str, ProgressSnapshotRow]:
    """The progress frozen by the end-of-cycle review (reason "final") of each subject."""
    out: dict[str, ProgressSnapshotRow] = {}
    for chunk in chunked(subjects):
        query = (
            select(ProgressSnapshotRow)
            .where(
                col(ProgressSnapshotRow.kind) == kind,
                col(ProgressSnapshotRow.subject).in_(chunk),
                col(ProgressSnapshotRow.reason) == "final",
            )
            .order_by(col(ProgressSnapshotRow.id))
        )
        out.update({row.subject: row for row in session.exec(query)})
    return out


def history(*, session: Session, kind: str, subject: str) -> list[ProgressSnapshotRow]:
    """Every recorded point of one subject, oldest first."""
    query = (
        select(ProgressSnapshotRow)
        .where(col(ProgressSnapshotRow.kind) == kind, col(ProgressSnapshotRow.subject) == subject)
        .order_by(col(ProgressSnapshotRow.taken_at), col(ProgressSnapshotRow.id))
    )
    return list(session.exec(query))


@dataclass(frozen=True, slots=True)
class Point:
    """One recorded point of a subject, as charts draw it."""

    at: dt.datetime
    progress: float
    scope: float | None
    backfilled: bool


def subject_points(*, session: Session, kind: str, subject: str) -> list[Point]:
    """Every point recorded for one subject, oldest first, as charts draw them."""
    t = ProgressSnapshotRow.__table__  # type: ignore[attr-defined]
    query = (
        sa_select(t.c.taken_at, t.c.progress, t.c.scope, t.c.reason)
        .where(t.c.kind == kind, t.c.subject == subject)
        .order_by(t.c.taken_at, t.c.id)
    )
    return [
        Point(at, value, scope, reason == BACKFILL)
        for at, value, scope, reason in session.connection().execute(query)
    ]


def cycle_history(*, session: Session, kind: str, cycle: str) -> dict[str, list[Point]]:
    """subject -> every point recorded for `cycle`, oldest first."""
    t = ProgressSnapshotRow.__table__  # type: ignore[attr-defined]
    query = (
        sa_select(t.c.subject, t.c.taken_at, t.c.progress, t.c.scope, t.c.reason)
        .where(t.c.kind == kind, t.c.cycle == cycle)
        .order_by(t.c.taken_at, t.c.id)
    )
    out: dict[str, list[Point]] = {}
    for subject, at, progress, scope, reason in session.connection().execute(query):
        out.setdefault(subject, []).append(Point(at, progress, scope, reason == BACKFILL))
    return out


def first_recorded(
    *, session: Session, kind: str, subjects: Sequence[str]
) -> dict[str, dt.datetime]:
    """subject -> when its first point was taken, for the subjects that have one."""
    out: dict[str, dt.datetime] = {}
    for chunk in chunked(list(dict.fromkeys(subjects))):
        query = (
            select(ProgressSnapshotRow.subject, func.min(ProgressSnapshotRow.taken_at))
            .where(
                col(ProgressSnapshotRow.kind) == kind, col(ProgressSnapshotRow.subject).in_(chunk)
            )
            .group_by(col(ProgressSnapshotRow.subject))
        )
        out.update({subject: at for subject, at in session.exec(query)})
    return out


def cycle_points(
    *, session: Session, cycle: str, krs: Sequence[str] | None = None
) -> dict[str, list[ProgressPoint]]:
    """KR -> every progress recorded for it in `cycle` (for `krs` only, when given), with its
    issue counts, oldest first."""
    table = ProgressSnapshotRow.__table__  # type: ignore[attr-defined]
    query = (
        sa_select(
            table.c.subject,
            raw_moment(table.c.taken_at),
            table.c.progress,
            table.c.issues_total,
            table.c.issues_done,
        )
        .where(table.c.kind == "kr", table.c.cycle == cycle)
        .order_by(table.c.taken_at, table.c.id)
    )
    conn = session.connection()
    rows: Iterable[Any] = (
        conn.execute(query) if krs is None else rows_in(conn, query, table.c.subject, krs)
    )
    out: dict[str, list[ProgressPoint]] = {}
    for subject, at, progress, total, done in rows:
        out.setdefault(subject, []).append(ProgressPoint(moment(at), progress, total, done))  # type: ignore[arg-type]
    return out


def last_recorded(*, session: Session, cycle: str) -> dt.datetime | None:
    """When progress was last recorded for the cycle (by a sync or a webhook)."""
    query = select(func.max(ProgressSnapshotRow.taken_at)).where(
        col(ProgressSnapshotRow.cycle) == cycle
    )
    return session.exec(query).one()


def delete_history(*, session: Session, kind: str, subject: str) -> None:
    """Forget a subject's history (its KR or objective is deleted with --prune)."""
    session.exec(
        delete(ProgressSnapshotRow).where(
            col(ProgressSnapshotRow.kind) == kind, col(ProgressSnapshotRow.subject) == subject
        )
    )


def latest_points(*, session: Session, kind: str) -> dict[str, Any]:
    """subject -> its latest recorded point (a row with progress, current and the issue counts),
    for every subject of `kind`, in one query: what the web tree reads instead of recomputing."""
    history = ProgressSnapshotRow.__table__  # type: ignore[attr-defined]
    latest = ProgressLatestRow.__table__  # type: ignore[attr-defined]
    query = (
        sa_select(
            history.c.subject, history.c.progress, history.c.current, history.c.issues_total,
            history.c.issues_done, history.c.issues_in_progress,
        )
        .join(latest, latest.c.snapshot_id == history.c.id)
        .where(latest.c.kind == kind)
    )  # fmt: skip
    return {row.subject: row for row in session.connection().execute(query)}
