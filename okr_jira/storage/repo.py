"""Repository functions: the queries the rest of okr-jira needs, keyword-only session first."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence

from sqlmodel import Session, col, func, select

from okr_jira.domain.models import Cycle, IssueSnapshot, KeyResult, Objective, OkrSet
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
    query = select(IssueSnapshotRow)
    if keys is not None:
        wanted = list(keys)
        if not wanted:
            return {}
        out: dict[str, IssueSnapshot] = {}
        for i in range(0, len(wanted), 500):  # bounded IN lists
            chunk = query.where(col(IssueSnapshotRow.key).in_(wanted[i : i + 500]))
            out.update({r.key: codec.snapshot_from_row(r) for r in session.exec(chunk)})
        return out
    return {r.key: codec.snapshot_from_row(r) for r in session.exec(query)}


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
    session.add(
        ProgressSnapshotRow(
            kind=kind, subject=subject, cycle=cycle, progress=progress, current=current,
            status=status, issues_total=issues[0], issues_done=issues[1],
            issues_in_progress=issues[2], reason=reason, taken_at=at or utcnow(),
        )
    )  # fmt: skip


def progress_as_of(
    *, session: Session, kind: str, subjects: Sequence[str], until: dt.datetime
) -> dict[str, ProgressSnapshotRow]:
    """The last recorded progress of each subject at or before `until`."""
    if not subjects:
        return {}
    latest = (
        select(ProgressSnapshotRow.subject, func.max(ProgressSnapshotRow.id).label("id"))
        .where(
            col(ProgressSnapshotRow.kind) == kind,
            col(ProgressSnapshotRow.subject).in_(list(subjects)),
            col(ProgressSnapshotRow.taken_at) <= until,
        )
        .group_by(col(ProgressSnapshotRow.subject))
        .subquery()
    )
    query = select(ProgressSnapshotRow).join(latest, col(ProgressSnapshotRow.id) == latest.c.id)
    return {row.subject: row for row in session.exec(query)}


def history(*, session: Session, kind: str, subject: str) -> list[tuple[dt.datetime, float]]:
    query = (
        select(ProgressSnapshotRow.taken_at, ProgressSnapshotRow.progress)
        .where(col(ProgressSnapshotRow.kind) == kind, col(ProgressSnapshotRow.subject) == subject)
        .order_by(col(ProgressSnapshotRow.taken_at))
    )
    return [(at, p) for at, p in session.exec(query)]


def get_state(*, session: Session, name: str) -> str | None:
    row = session.get(SyncStateRow, name)
    return row.value if row else None


def set_state(*, session: Session, name: str, value: str) -> None:
    row = session.get(SyncStateRow, name) or SyncStateRow(name=name, value=value)
    row.value = value
    row.updated_at = utcnow()
    session.add(row)


def objectives_of_cycle(okrs: OkrSet, cycle: str) -> list[Objective]:
    return [o for o in okrs.objectives if o.cycle == cycle]
