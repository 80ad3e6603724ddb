"""The audit log: who changed which target, weight, mapping or parent, when, old -> new."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from okr_jira.domain.health import AuditEntry
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


def entries(*, session: Session, entities: tuple[str, ...]) -> list[AuditEntry]:
    """Every audit row of these entities (key_result, mapping, ...), oldest first."""
    c = AuditRow.__table__.c  # type: ignore[attr-defined]
    query = (
        sa_select(c.at, c.actor, c.entity, c.entity_key, c.action, c.field, c.old, c.new)
        .where(c.entity.in_(list(entities)))
        .order_by(c.id)
    )
    return [AuditEntry(*row) for row in session.connection().execute(query)]
