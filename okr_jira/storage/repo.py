"""Repository functions: the queries the rest of okr-jira needs, keyword-only session first."""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import insert as sa_insert
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, func, select

from okr_jira.domain.models import Cycle, IssueSnapshot, KeyResult, OkrSet
from okr_jira.errors import NotFoundError
from okr_jira.storage import codec
from okr_jira.storage.tables import (
    CheckinRow,
    CycleRow,
    IssueSnapshotRow,
    KeyResultRow,
    KrIssueLinkRow,
    MappingRow,
    ObjectiveRow,
    ProgressLatestRow,
    ProgressSnapshotRow,
    SyncStateRow,
    TeamRow,
    utcnow,
)


def load_okrs(*, session: Session, include_archived: bool = False) -> OkrSet:
    """The stored declaration as domain values, in file order."""
    sources = {m.kr: codec.source_from_json(m.source) for m in session.exec(select(MappingRow))}
    krs_by_obj: dict[str, list[KeyResult]] = defaultdict(list)
    kr_query = select(KeyResultRow).order_by(
        col(KeyResultRow.objective), col(KeyResultRow.position)
    )
    for row in session.exec(kr_query):
        if row.archived_at is None or include_archived:
            krs_by_obj[row.objective].append(codec.kr_from_row(row, sources.get(row.key)))
    obj_query = select(ObjectiveRow).order_by(col(ObjectiveRow.position), col(ObjectiveRow.key))
    objectives = [
        codec.objective_from_row(row, tuple(krs_by_obj.get(row.key, ())))
        for row in session.exec(obj_query)
        if row.archived_at is None or include_archived
    ]
    cycles = [
        codec.cycle_from_row(r)
        for r in session.exec(select(CycleRow).order_by(col(CycleRow.start)))
    ]
    teams = [codec.team_from_row(r) for r in session.exec(select(TeamRow)) if r.archived_at is None]
    return OkrSet(cycles=tuple(cycles), teams=tuple(teams), objectives=tuple(objectives))


def get_cycle(*, session: Session, key: str | None, on: dt.date | None = None) -> Cycle:
    """The named cycle; without a name, the one running on `on` (else the latest)."""
    if key:
        row = session.get(CycleRow, key)
        if row is None:
            known = ", ".join(r.key for r in session.exec(select(CycleRow))) or "none"
            raise NotFoundError(f"cycle '{key}' does not exist (known: {known})")
        return codec.cycle_from_row(row)
    rows = list(session.exec(select(CycleRow).order_by(col(CycleRow.start))))
    if not rows:
        raise NotFoundError("no cycle is stored yet; run `okr-jira apply FILE` first")
    day = on or dt.date.today()
    running = [r for r in rows if r.start <= day <= r.end and r.archived_at is None]
    return codec.cycle_from_row(running[0] if running else rows[-1])


def cycle_frozen_at(*, session: Session, key: str) -> dt.datetime | None:
    row = session.get(CycleRow, key)
    return row.frozen_at if row else None


def get_key_result(*, session: Session, key: str) -> KeyResultRow:
    row = session.get(KeyResultRow, key)
    if row is None or row.archived_at is not None:
        raise NotFoundError(f"key result '{key}' does not exist")
    return row


def open_links(*, session: Session, krs: Iterable[str] | None = None) -> dict[str, set[str]]:
    """KR key -> keys of the issues currently in its scope."""
    query = select(KrIssueLinkRow.kr, KrIssueLinkRow.issue_key).where(
        col(KrIssueLinkRow.left_at).is_(None)
    )
    if krs is not None:
        query = query.where(col(KrIssueLinkRow.kr).in_(list(krs)))
    out: dict[str, set[str]] = defaultdict(set)
    for kr, issue in session.exec(query):
        out[kr].add(issue)
    return out


def snapshots(*, session: Session, keys: Iterable[str] | None = None) -> dict[str, IssueSnapshot]:
    # Core rows: building ORM objects cost more than the query for a few hundred issues.
    table = IssueSnapshotRow.__table__  # type: ignore[attr-defined]
    conn = session.connection()
    query = sa_select(table)
    if keys is None:
        return {r.key: codec.snapshot_from_row(r) for r in conn.execute(query)}
    wanted = list(keys)
    out: dict[str, IssueSnapshot] = {}
    for i in range(0, len(wanted), 500):  # bounded IN lists
        chunk = query.where(table.c.key.in_(wanted[i : i + 500]))
        out.update({r.key: codec.snapshot_from_row(r) for r in conn.execute(chunk)})
    return out


def progress_snapshots(*, session: Session, krs: Sequence[str]) -> dict[str, list[IssueSnapshot]]:
    """KR key -> the snapshots of the issues in its scope, by issue key, in one query.

    Only what progress reads is loaded (status category, weights, numeric fields, deleted):
    labels, components, fix versions, summary, priority, epic and dates are left empty. For
    computing progress only; `snapshots` gives whole ones.
    """
    if not krs:
        return {}
    snap = IssueSnapshotRow.__table__  # type: ignore[attr-defined]
    link = KrIssueLinkRow.__table__  # type: ignore[attr-defined]
    query = (
        sa_select(
            link.c.kr,
            snap.c.key,
            snap.c.project,
            snap.c.issue_type,
            snap.c.status,
            snap.c.status_category,
            snap.c.story_points,
            snap.c.estimate_seconds,
            snap.c.numbers,
            snap.c.deleted,
        )
        .join(snap, snap.c.key == link.c.issue_key)
        .where(link.c.left_at.is_(None), link.c.kr.in_(list(krs)))
    )
    found: dict[str, dict[str, IssueSnapshot]] = defaultdict(dict)
    for kr, *values in session.connection().execute(query):
        found[kr][values[0]] = _progress_snapshot(tuple(values))
    # Code point order on every database (collations differ), as kr_states always used.
    return {kr: [issues[k] for k in sorted(issues)] for kr, issues in found.items()}


_PROGRESS_SNAPSHOTS: dict[tuple[Any, ...], IssueSnapshot] = {}


def _progress_snapshot(values: tuple[Any, ...]) -> IssueSnapshot:
    """One IssueSnapshot per distinct row, reused: a worker recomputing a KR of hundreds of issues
    on every batch would otherwise build them all again (it costs more than the query)."""
    snap = _PROGRESS_SNAPSHOTS.get(values)
    if snap is None:
        if len(_PROGRESS_SNAPSHOTS) >= 50_000:
            _PROGRESS_SNAPSHOTS.clear()
        key, project, issue_type, status, category, points, seconds, numbers, deleted = values
        snap = IssueSnapshot(
            key=key,
            project=project,
            issue_type=issue_type,
            status=status,
            status_category=category,
            story_points=points,
            estimate_seconds=seconds,
            numbers=codec.numbers_from_json(numbers),
            deleted=deleted,
        )
        _PROGRESS_SNAPSHOTS[values] = snap
    return snap


def latest_checkins(*, session: Session, krs: Iterable[str] | None = None) -> dict[str, float]:
    query = select(CheckinRow).order_by(col(CheckinRow.created_at), col(CheckinRow.id))
    if krs is not None:
        query = query.where(col(CheckinRow.kr).in_(list(krs)))
    return {row.kr: row.value for row in session.exec(query)}


def mapping_errors(*, session: Session) -> dict[str, str]:
    query = select(MappingRow).where(col(MappingRow.error).is_not(None))
    return {m.kr: m.error for m in session.exec(query) if m.error}


def unresolved_mappings(*, session: Session) -> set[str]:
    """KRs whose mapping no sync has resolved yet (new or changed since)."""
    query = select(MappingRow.kr).where(col(MappingRow.resolved_at).is_(None))
    return set(session.exec(query))


def add_checkin(
    *, session: Session, kr: str, value: float, note: str | None, author: str | None
) -> CheckinRow:
    row = CheckinRow(kr=kr, value=value, note=note, author=author)
    session.add(row)
    session.flush()
    return row


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
    reason: str = "sync",
    at: dt.datetime | None = None,
) -> None:
    """Append one point to the progress history and move the subject's latest pointer to it."""
    taken_at = at or utcnow()
    conn = session.connection()
    history_insert, latest_upsert = _progress_statements(conn.dialect.name)
    snapshot_id = conn.execute(
        history_insert,
        {
            "kind": kind, "subject": subject, "cycle": cycle, "taken_at": taken_at,
            "progress": progress, "current": current, "status": status,
            "issues_total": issues[0], "issues_done": issues[1], "issues_in_progress": issues[2],
            "reason": reason,
        },
    ).scalar_one()  # fmt: skip
    conn.execute(
        latest_upsert,
        {"kind": kind, "subject": subject, "snapshot_id": snapshot_id, "taken_at": taken_at},
    )


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
    """The last recorded progress of each subject at or before `until`.

    The latest point of each subject is a primary-key lookup in progress_latest; only subjects
    whose latest point is after `until` (a past date) are looked up in the history.
    """
    if not subjects:
        return {}
    wanted = list(dict.fromkeys(subjects))
    out: dict[str, ProgressSnapshotRow] = {}
    for i in range(0, len(wanted), 500):  # bounded IN lists
        current = (
            select(ProgressSnapshotRow)
            .join(ProgressLatestRow, col(ProgressLatestRow.snapshot_id) == ProgressSnapshotRow.id)
            .where(
                col(ProgressLatestRow.kind) == kind,
                col(ProgressLatestRow.subject).in_(wanted[i : i + 500]),
            )
        )
        out.update({row.subject: row for row in session.exec(current) if row.taken_at <= until})
    older = [s for s in wanted if s not in out]
    if not older:
        return out
    latest = (
        select(ProgressSnapshotRow.subject, func.max(ProgressSnapshotRow.id).label("id"))
        .where(
            col(ProgressSnapshotRow.kind) == kind,
            col(ProgressSnapshotRow.subject).in_(older),
            col(ProgressSnapshotRow.taken_at) <= until,
        )
        .group_by(col(ProgressSnapshotRow.subject))
        .subquery()
    )
    query = select(ProgressSnapshotRow).join(latest, col(ProgressSnapshotRow.id) == latest.c.id)
    out.update({row.subject: row for row in session.exec(query)})
    return out


def final_progress(
    *, session: Session, kind: str, subjects: Sequence[str]
) -> dict[str, ProgressSnapshotRow]:
    """The progress frozen by the end-of-cycle review (reason "final") of each subject."""
    if not subjects:
        return {}
    query = (
        select(ProgressSnapshotRow)
        .where(
            col(ProgressSnapshotRow.kind) == kind,
            col(ProgressSnapshotRow.subject).in_(list(subjects)),
            col(ProgressSnapshotRow.reason) == "final",
        )
        .order_by(col(ProgressSnapshotRow.id))
    )
    return {row.subject: row for row in session.exec(query)}


def get_state(*, session: Session, name: str) -> str | None:
    row = session.get(SyncStateRow, name)
    return row.value if row else None


def set_state(*, session: Session, name: str, value: str) -> None:
    row = session.get(SyncStateRow, name) or SyncStateRow(name=name, value=value)
    row.value = value
    row.updated_at = utcnow()
    session.add(row)
