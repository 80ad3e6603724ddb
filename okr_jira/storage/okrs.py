"""The stored declaration (cycles, teams, objectives, key results, mappings) and check-ins."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping

from sqlmodel import Session, col, select

from okr_jira.domain.models import Cycle, KeyResult, OkrSet
from okr_jira.errors import NotFoundError
from okr_jira.storage import codec
from okr_jira.storage.tables import (
    CheckinRow,
    CycleRow,
    KeyResultRow,
    MappingRow,
    ObjectiveRow,
    TeamRow,
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


def ended_unfrozen_cycles(*, session: Session, today: dt.date) -> list[str]:
    """Cycles that ended before `today` and whose final scores are not frozen yet."""
    query = select(CycleRow.key).where(col(CycleRow.end) < today, col(CycleRow.frozen_at).is_(None))
    return list(session.exec(query))


def freeze_cycle(*, session: Session, key: str, at: dt.datetime) -> None:
    row = session.get(CycleRow, key)
    if row is None:
        raise NotFoundError(f"cycle '{key}' does not exist")
    row.frozen_at = at
    session.add(row)


def get_key_result(*, session: Session, key: str) -> KeyResultRow:
    row = session.get(KeyResultRow, key)
    if row is None or row.archived_at is not None:
        raise NotFoundError(f"key result '{key}' does not exist")
    return row


def latest_checkins(*, session: Session, krs: Iterable[str] | None = None) -> dict[str, float]:
    query = select(CheckinRow).order_by(col(CheckinRow.created_at), col(CheckinRow.id))
    if krs is not None:
        query = query.where(col(CheckinRow.kr).in_(list(krs)))
    return {row.kr: row.value for row in session.exec(query)}


def checkin_history(
    *, session: Session, krs: Iterable[str]
) -> dict[str, list[tuple[dt.datetime, float]]]:
    """KR -> (when, value) of every check-in, oldest first."""
    wanted = list(krs)
    if not wanted:
        return {}
    query = (
        select(CheckinRow.kr, CheckinRow.created_at, CheckinRow.value)
        .where(col(CheckinRow.kr).in_(wanted))
        .order_by(col(CheckinRow.created_at), col(CheckinRow.id))
    )
    out: dict[str, list[tuple[dt.datetime, float]]] = defaultdict(list)
    for kr, at, value in session.exec(query):
        out[kr].append((at, value))
    return dict(out)


def add_checkin(
    *, session: Session, kr: str, value: float, note: str | None, author: str | None
) -> CheckinRow:
    row = CheckinRow(kr=kr, value=value, note=note, author=author)
    session.add(row)
    session.flush()
    return row


def mapping_errors(*, session: Session) -> dict[str, str]:
    query = select(MappingRow).where(col(MappingRow.error).is_not(None))
    return {m.kr: m.error for m in session.exec(query) if m.error}


def unresolved_mappings(*, session: Session) -> set[str]:
    """KRs whose mapping no sync has resolved yet (new or changed since)."""
    query = select(MappingRow.kr).where(col(MappingRow.resolved_at).is_(None))
    return set(session.exec(query))


def resolve_mappings(
    *,
    session: Session,
    planned: Mapping[str, str],
    errors: Mapping[str, str],
    at: dt.datetime,
) -> None:
    """Mark the mappings a sync resolved: `planned` is kr -> the source JSON the sync used.

    A mapping changed while the sync ran (its source differs) stays unresolved for the next one.
    An error keeps its first time while it stays the same.
    """
    for row in session.exec(select(MappingRow)):
        if planned.get(row.kr) != row.source:
            continue
        error = errors.get(row.kr)
        if error is not None:
            if row.error != error:
                row.error, row.error_at = error, at
        else:
            row.error, row.error_at = None, None
        row.resolved_at = at
        session.add(row)
