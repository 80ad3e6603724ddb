"""Plan and apply: make storage match the OKR file, declaratively and idempotently.

The plan is the field-level difference between the file and what is stored; applying it writes one
audit row per change. Applying the same file twice finds nothing to do and writes nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session

from okr_jira.domain.models import OkrSet
from okr_jira.storage import declared, state
from okr_jira.storage.audit import add_audit
from okr_jira.storage.codec import dumps, notify_to_json, source_to_json
from okr_jira.storage.tables import utcnow

# Bookkeeping columns: never compared, never audited.
_IGNORED = {"archived_at", "frozen_at", "error", "error_at", "resolved_at"}
# Columns that change with the order of the file only: applied, not audited.
_SILENT = {"position"}


@dataclass(frozen=True)
class Change:
    entity: str
    key: str
    action: str  # add | change | archive | restore | delete
    field: str | None = None
    old: Any = None
    new: Any = None

    def describe(self) -> str:
        sign = {"add": "+", "change": "~", "archive": "-", "restore": "+", "delete": "x"}[
            self.action
        ]
        if self.action == "change":
            old, new = _show(self.old), _show(self.new)
            return f"  {sign} {self.entity} {self.key}: {self.field} {old} -> {new}"
        if self.action == "add":
            title = (
                self.new.get("title") or self.new.get("name")
                if isinstance(self.new, dict)
                else None
            )
            return f"  {sign} {self.entity} {self.key}" + (f" {title!r}" if title else "")
        return f"  {sign} {self.entity} {self.key} ({self.action})"


@dataclass
class Plan:
    changes: list[Change] = field(default_factory=list)
    # Row values to write: entity -> key -> column values (for add/change/restore).
    upserts: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    live_objectives: int = 0  # objectives stored and not archived before the plan
    kept_objectives: int = 0  # of those, the ones the file declares again

    @property
    def removes_every_objective(self) -> bool:
        """Every live objective would be archived or deleted: almost always the wrong file (an
        empty one, another site's), so apply asks for a confirmation first."""
        return self.live_objectives > 0 and self.kept_objectives == 0

    def count(self, *actions: str) -> int:
        keys = {(c.entity, c.key) for c in self.changes if c.action in actions}
        return len(keys)

    @property
    def empty(self) -> bool:
        return not self.changes and not self.upserts

    def summary(self) -> str:
        added, changed = self.count("add"), self.count("change", "restore")
        archived, deleted = self.count("archive"), self.count("delete")
        head = f"Plan: {added} to add, {changed} to change, {archived} to archive"
        head += f", {deleted} to delete." if deleted else "."
        if not self.changes:
            return "No changes. Storage already matches the file."
        return "\n".join([head, *(c.describe() for c in self.changes)])


def _show(value: Any) -> str:
    if value is None:
        return "(none)"
    return value if isinstance(value, str) else json.dumps(value)


def desired_rows(okrs: OkrSet) -> dict[str, dict[str, dict[str, Any]]]:
    """Column values of every row the file declares."""
    rows: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in declared.ENTITIES}
    for c in okrs.cycles:
        rows["cycle"][c.key] = {"key": c.key, "name": c.name, "start": c.start, "end": c.end}
    for t in okrs.teams:
        rows["team"][t.key] = {
            "key": t.key, "name": t.name, "parent": t.parent,
            "jira_projects": dumps(list(t.jira_projects)), "notify": notify_to_json(t.notify),
        }  # fmt: skip
    for pos, o in enumerate(okrs.objectives):
        rows["objective"][o.key] = {
            "key": o.key, "cycle": o.cycle, "team": o.team, "title": o.title, "parent": o.parent,
            "weight": o.weight, "rollup": o.rollup, "description": o.description,
            "cross_cycle": o.cross_cycle, "carried_from": o.carried_from, "position": pos,
        }  # fmt: skip
        for kpos, kr in enumerate(o.key_results):
            values = {k: v for k, v in dataclasses.asdict(kr).items() if k != "source"}
            rows["key_result"][kr.key] = {**values, "objective": o.key, "position": kpos}
            if kr.source is not None:
                rows["mapping"][kr.key] = {"kr": kr.key, "source": source_to_json(kr.source)}
    return rows


def make_plan(session: Session, okrs: OkrSet, *, prune: bool = False) -> Plan:
    plan = Plan()
    wanted = desired_rows(okrs)
    for entity in declared.ENTITIES:
        stored = declared.stored(session=session, entity=entity)
        if entity == "objective":
            live = [key for key, row in stored.items() if not row.archived]
            plan.live_objectives = len(live)
            plan.kept_objectives = sum(key in wanted[entity] for key in live)
        for key, values in wanted[entity].items():
            row = stored.get(key)
            if row is None:
                plan.changes.append(Change(entity, key, "add", new=_jsonable(values)))
                plan.upserts.setdefault(entity, {})[key] = values
                continue
            diffs = {
                name: (row.values.get(name), value)
                for name, value in values.items()
                if name not in _IGNORED and _norm(row.values.get(name)) != _norm(value)
            }
            if row.archived:
                plan.changes.append(Change(entity, key, "restore"))
            for name, (old, new) in diffs.items():
                if name not in _SILENT:
                    plan.changes.append(
                        Change(entity, key, "change", name, _jsonable(old), _jsonable(new))
                    )
            if diffs or row.archived:
                plan.upserts.setdefault(entity, {})[key] = values
        for key, row in stored.items():
            if key in wanted[entity]:
                continue
            if entity == "mapping":
                # A mapping goes with its KR; a KR that lost its source has its mapping deleted.
                if key in wanted["key_result"] or prune:
                    plan.changes.append(Change(entity, key, "delete", old=row.values.get("source")))
            elif prune:
                plan.changes.append(Change(entity, key, "delete"))
            elif not row.archived:
                plan.changes.append(Change(entity, key, "archive"))
    return plan


def apply_plan(session: Session, plan: Plan, *, actor: str, now: dt.datetime | None = None) -> None:
    """Write the plan and its audit rows in the caller's transaction."""
    at = now or utcnow()
    state.DECLARATION_VERSION.set(uuid.uuid4().hex, session=session)
    for entity, rows in plan.upserts.items():
        for key, values in rows.items():
            declared.upsert(session=session, entity=entity, key=key, values=values)
    for change in plan.changes:
        if change.action == "archive":
            declared.archive(session=session, entity=change.entity, key=change.key, at=at)
        elif change.action == "delete":
            declared.delete_entity(session=session, entity=change.entity, key=change.key)
        add_audit(
            session=session, at=at, actor=actor, entity=change.entity, key=change.key,
            action=change.action, field=change.field,
            old=None if change.old is None else _show(change.old),
            new=None if change.new is None else _show(change.new),
        )  # fmt: skip
    session.flush()


def _norm(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, dt.date):
        return value.isoformat()
    return _norm(value)
