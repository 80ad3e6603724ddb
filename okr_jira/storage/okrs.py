"""The stored declaration: cycles, teams, objectives, key results, mappings."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping

from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from okr_jira.domain.models import Cycle, KeyResult, OkrSet
from okr_jira.errors import NotFoundError
from okr_jira.storage import codec
from okr_jira.storage.tables import (
    CycleRow,
    KeyResultRow,
    MappingRow,
    ObjectiveRow,
    TeamRow,
)


def load_okrs(*, session: Session, include_archived: bool = False) -> OkrSet:
    """The stored declaration as domain values, in file order.

    Core rows, not ORM objects: the web tree reads the declaration on every request, and building
    thousands of ORM instances cost more than the queries."""
    conn = session.connection()
    mappings = MappingRow.__table__  # type: ignore[attr-defined]
    kr_table = KeyResultRow.__table__  # type: ignore[attr-defined]
    obj_table = ObjectiveRow.__table__  # type: ignore[attr-defined]
    sources = {
        m.kr: codec.source_from_json(m.source)
        for m in conn.execute(sa_select(mappings.c.kr, mappings.c.source))
    }
    krs_by_obj: dict[str, list[KeyResult]] = defaultdict(list)
    kr_query = sa_select(kr_table).order_by(kr_table.c.objective, kr_table.c.position)
    for row in conn.execute(kr_query):
        if row.archived_at is None or include_archived:
            krs_by_obj[row.objective].append(codec.kr_from_row(row, sources.get(row.key)))
    obj_query = sa_select(obj_table).order_by(obj_table.c.position, obj_table.c.key)
    objectives = [
        codec.objective_from_row(row, tuple(krs_by_obj.get(row.key, ())))
        for row in conn.execute(obj_query)
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
            shown = key if len(key) <= 64 else key[:64] + "..."  # never echo a long parameter
            raise NotFoundError(f"cycle '{shown}' does not exist (known: {known})")
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


def team_key_results(*, session: Session, cycle: str) -> dict[str, list[str]]:
    """team -> the keys of its KRs in `cycle`, archived ones included (a past cycle's objectives
    are often archived when the next cycle's file replaces them)."""
    query = (
        select(ObjectiveRow.team, KeyResultRow.key)
        .join(KeyResultRow, col(KeyResultRow.objective) == ObjectiveRow.key)
        .where(col(ObjectiveRow.cycle) == cycle)
        .order_by(col(ObjectiveRow.position), col(KeyResultRow.position))
    )
    out: dict[str, list[str]] = defaultdict(list)
    for team, kr in session.exec(query):
        out[team].append(kr)
    return dict(out)


def get_key_result(*, session: Session, key: str) -> KeyResultRow:
    row = session.get(KeyResultRow, key)
    if row is None or row.archived_at is not None:
        shown = key if len(key) <= 64 else key[:64] + "..."
        raise NotFoundError(f"key result '{shown}' does not exist")
    return row


def get_objective(*, session: Session, key: str) -> ObjectiveRow:
    row = session.get(ObjectiveRow, key)
    if row is None or row.archived_at is not None:
        raise NotFoundError(f"objective '{key}' does not exist")
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
    An error keeps its first time while it stays the same. The first resolution after the mapping
    was added or changed is its baseline (see `mapping_baselines`).
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
        if row.resolved_at is None:
            row.baseline_at = at
        row.resolved_at = at
        session.add(row)


def archived_cycles(*, session: Session) -> set[str]:
    """Keys of cycles the OKR file no longer declares (kept for their history)."""
    return set(session.exec(select(CycleRow.key).where(col(CycleRow.archived_at).is_not(None))))


def all_keys(*, session: Session) -> set[str]:
    """Every objective and key result key ever stored, archived ones included."""
    keys = set(session.exec(select(ObjectiveRow.key)))
    return keys | set(session.exec(select(KeyResultRow.key)))


def cycles(*, session: Session) -> list[Cycle]:
    """Declared (not archived) cycles, oldest first: the cycle selector."""
    query = (
        select(CycleRow).where(col(CycleRow.archived_at).is_(None)).order_by(col(CycleRow.start))
    )
    return [codec.cycle_from_row(r) for r in session.exec(query)]


def mapping_baselines(*, session: Session) -> dict[str, dt.datetime]:
    """KR -> when its mapping's scope became the baseline (the first sync after it was added
    or last changed); KRs whose mapping no sync resolved yet are missing."""
    query = select(MappingRow.kr, MappingRow.baseline_at).where(
        col(MappingRow.baseline_at).is_not(None)
    )
    return {kr: at for kr, at in session.exec(query) if at is not None}
