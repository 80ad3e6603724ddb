"""The audit log: who changed which target, weight, mapping or parent, when, old -> new."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session, col, select

from okr_jira.storage.tables import AuditRow


def add_audit(
    *,
    session: Session,
    at: dt.datetime,
    actor: str,
    entity: str,
    key: str,
    action: str,
    field: str | None,
    old: str | None,
    new: str | None,
) -> None:
    session.add(
        AuditRow(
            at=at, actor=actor, entity=entity, entity_key=key, action=action, field=field,
            old=old, new=new,
        )
    )  # fmt: skip


def recent(*, session: Session, limit: int) -> list[AuditRow]:
    """The newest `limit` audit rows, newest first."""
    return list(session.exec(select(AuditRow).order_by(col(AuditRow.id).desc()).limit(limit)))


def changes_since(
    *, session: Session, since: dt.datetime, entity: str, fields: tuple[str, ...]
) -> list[AuditRow]:
    """Changes of these fields of `entity` at or after `since`, oldest first (targets lowered,
    starts moved: what a digest points out)."""
    query = (
        select(AuditRow)
        .where(
            col(AuditRow.entity) == entity,
            col(AuditRow.action) == "change",
            col(AuditRow.field).in_(list(fields)),
            col(AuditRow.at) >= since,
        )
        .order_by(col(AuditRow.id))
    )
    return list(session.exec(query))
