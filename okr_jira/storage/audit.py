"""The audit log: who changed which target, weight, mapping or parent, when, old -> new."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from okr_jira.domain.health import AuditEntry
from okr_jira.storage.chunks import IN_MAX
from okr_jira.storage.okrs import load_okrs
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


def search(
    *,
    session: Session,
    keys: list[str] | None = None,
    actor: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    limit: int = 100,
) -> list[AuditRow]:
    """Audit rows, newest first: of the entities `keys` (objective, KR or mapping keys), by
    `actor`, at or after `since` and before `until`."""
    query = select(AuditRow)
    if keys is not None:
        query = query.where(col(AuditRow.entity_key).in_(keys[:IN_MAX]))
    if actor:
        query = query.where(col(AuditRow.actor) == actor)
    if since is not None:
        query = query.where(col(AuditRow.at) >= since)
    if until is not None:
        query = query.where(col(AuditRow.at) < until)
    return list(session.exec(query.order_by(col(AuditRow.id).desc()).limit(limit)))


def keys_of(*, session: Session, objective: str | None, kr: str | None) -> list[str] | None:
    """The entity keys an audit filter means: the KR (and its mapping, keyed the same), the
    objective with its key results, archived ones included; None: no filter."""
    if not objective and not kr:
        return None
    keys = [kr] if kr else []
    for o in load_okrs(session=session, include_archived=True).objectives:
        if o.key == objective:
            keys += [o.key, *(k.key for k in o.key_results)]
    if objective and objective not in keys:
        keys.append(objective)  # an objective deleted (pruned) still has its history
    return keys


def actors(*, session: Session) -> list[str]:
    """Everyone who changed something, for the audit filter."""
    return sorted(session.exec(select(AuditRow.actor).distinct()))


def entries(*, session: Session, entities: tuple[str, ...]) -> list[AuditEntry]:
    """Every audit row of these entities (key_result, mapping, ...), oldest first."""
    c = AuditRow.__table__.c  # type: ignore[attr-defined]
    query = (
        sa_select(c.at, c.actor, c.entity, c.entity_key, c.action, c.field, c.old, c.new)
        .where(c.entity.in_(list(entities)))
        .order_by(c.id)
    )
    return [AuditEntry(*row) for row in session.connection().execute(query)]
