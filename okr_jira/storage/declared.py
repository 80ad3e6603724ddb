"""Rows of the declaration as `okr-jira apply` writes them: entity by entity, key by key.

The plan (okr_jira.okrs.plan) compares column values; these functions read and write them, and
delete what a pruned entity leaves behind (a KR's scope history and progress).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, SQLModel, col, delete, select

from okr_jira.storage import links, progress
from okr_jira.storage.tables import CycleRow, KeyResultRow, MappingRow, ObjectiveRow, TeamRow

# Entities in dependency order, with the table and its key column.
_TABLES: dict[str, tuple[type[SQLModel], str]] = {
    "cycle": (CycleRow, "key"),
    "team": (TeamRow, "key"),
    "objective": (ObjectiveRow, "key"),
    "key_result": (KeyResultRow, "key"),
    "mapping": (MappingRow, "kr"),
}
ENTITIES = tuple(_TABLES)


@dataclass(frozen=True)
class Stored:
    values: dict[str, Any]  # every column
    archived: bool


def stored(*, session: Session, entity: str) -> dict[str, Stored]:
    """key -> the stored row of `entity`, archived ones included."""
    table, key_col = _TABLES[entity]
    out = {}
    for row in session.exec(select(table)):
        values = row.model_dump()
        out[values[key_col]] = Stored(values, values.get("archived_at") is not None)
    return out


def upsert(*, session: Session, entity: str, key: str, values: dict[str, Any]) -> None:
    """Create or overwrite one row (restoring it when archived)."""
    table, _ = _TABLES[entity]
    row = session.get(table, key)
    if row is None:
        row = table(**values)
    else:
        for name, value in values.items():
            setattr(row, name, value)
    if hasattr(row, "archived_at"):
        row.archived_at = None
    if isinstance(row, MappingRow):
        # A changed mapping must be resolved again by the next sync.
        row.error = None
        row.resolved_at = None
    session.add(row)


def archive(*, session: Session, entity: str, key: str, at: dt.datetime) -> None:
    table, _ = _TABLES[entity]
    row = session.get(table, key)
    if row is not None:
        row.archived_at = at
        session.add(row)


def delete_entity(*, session: Session, entity: str, key: str) -> None:
    """Delete one row; a KR takes its scope history and progress with it, an objective its
    progress."""
    table, key_col = _TABLES[entity]
    session.exec(delete(table).where(col(getattr(table, key_col)) == key))
    if entity == "key_result":
        links.delete_links(session=session, kr=key)
        progress.delete_history(session=session, kind="kr", subject=key)
    if entity == "objective":
        progress.delete_history(session=session, kind="objective", subject=key)
