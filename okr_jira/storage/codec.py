"""Conversions between domain values and table rows (JSON columns included)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

from sqlalchemy import Row, String, type_coerce
from sqlalchemy.sql.elements import ColumnElement

from okr_jira.domain.models import (
    Cycle,
    IssueSnapshot,
    KeyResult,
    Notify,
    Objective,
    Source,
    Team,
)
from okr_jira.storage.tables import (
    CycleRow,
    IssueSnapshotRow,
    KeyResultRow,
    ObjectiveRow,
    TeamRow,
)


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def raw_moment(column: Any) -> ColumnElement[Any]:
    """A datetime column read as the driver gives it, for reads of hundreds of thousands of rows:
    SQLAlchemy's per-value processing costs more than the query. `moment` finishes the job."""
    return type_coerce(column, String)


def moment(value: str | dt.datetime | None) -> dt.datetime | None:
    """An aware UTC datetime from what `raw_moment` read: SQLite's text (UTC, no offset) or
    PostgreSQL's datetime."""
    if value is None:
        return None
    if isinstance(value, str):
        return dt.datetime.fromisoformat(value + "+00:00")
    return value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)


def source_to_json(source: Source | None) -> str:
    if source is None:
        return "null"
    data = {
        k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(source).items()
    }
    return dumps({k: v for k, v in data.items() if v})


def source_from_json(text: str | None) -> Source | None:
    if not text or text == "null":
        return None
    data = json.loads(text)
    values: dict[str, Any] = {k: (tuple(v) if isinstance(v, list) else v) for k, v in data.items()}
    return Source(**values)


def notify_to_json(notify: Notify) -> str:
    """The stored form of a team's channels, as the OKR file writes them."""
    data: dict[str, Any] = {}
    if notify.slack_env:
        data["slack"] = {"webhook_env": notify.slack_env}
    if notify.teams_env:
        data["teams"] = {"webhook_env": notify.teams_env}
    if notify.email:
        data["email"] = list(notify.email)
    return dumps(data)


def notify_from_json(text: str | None) -> Notify:
    data = json.loads(text) if text else {}
    return Notify(
        slack_env=(data.get("slack") or {}).get("webhook_env"),
        teams_env=(data.get("teams") or {}).get("webhook_env"),
        email=tuple(data.get("email") or ()),
    )


def cycle_from_row(row: CycleRow) -> Cycle:
    return Cycle(key=row.key, name=row.name, start=row.start, end=row.end)


def team_from_row(row: TeamRow) -> Team:
    return Team(
        key=row.key,
        name=row.name,
        parent=row.parent,
        jira_projects=tuple(json.loads(row.jira_projects)),
        notify=notify_from_json(row.notify),
    )


def kr_from_row(row: KeyResultRow | Row[Any], source: Source | None) -> KeyResult:
    return KeyResult(
        key=row.key,
        title=row.title,
        kind=row.kind,  # type: ignore[arg-type]
        start=row.start,
        target=row.target,
        unit=row.unit,
        weight=row.weight,
        indicator=row.indicator,  # type: ignore[arg-type]
        weight_by=row.weight_by,  # type: ignore[arg-type]
        in_progress_credit=row.in_progress_credit,
        default_weight=row.default_weight,
        field=row.field,
        done_only=row.done_only,
        source=source,
        carried_from=row.carried_from,
    )


def objective_from_row(row: ObjectiveRow | Row[Any], krs: tuple[KeyResult, ...]) -> Objective:
    return Objective(
        key=row.key,
        cycle=row.cycle,
        team=row.team,
        title=row.title,
        key_results=krs,
        parent=row.parent,
        weight=row.weight,
        rollup=row.rollup,  # type: ignore[arg-type]
        description=row.description,
        cross_cycle=row.cross_cycle,
        carried_from=row.carried_from,
    )


def snapshot_from_row(row: IssueSnapshotRow | Row[Any]) -> IssueSnapshot:
    """An ORM row or a Core row with every issue_snapshot column."""
    return IssueSnapshot(
        key=row.key,
        project=row.project,
        issue_type=row.issue_type,
        status=row.status,
        status_category=row.status_category,  # type: ignore[arg-type]
        summary=row.summary,
        priority=row.priority,
        labels=_strings(row.labels),
        components=_strings(row.components),
        fix_versions=_strings(row.fix_versions),
        epic=row.epic,
        parent=row.parent,
        story_points=row.story_points,
        estimate_seconds=row.estimate_seconds,
        numbers=numbers_from_json(row.numbers),
        created=row.created,
        updated=row.updated,
        resolved=row.resolved,
        status_changed=row.status_changed,
        deleted=row.deleted,
    )


def numbers_from_json(text: str) -> tuple[tuple[str, float], ...]:
    # Most issues have none: skip the JSON parser for the empty object.
    return () if text == "{}" else tuple(sorted(json.loads(text).items()))


def _strings(text: str) -> tuple[str, ...]:
    return () if text == "[]" else tuple(json.loads(text))


def snapshot_values(snap: IssueSnapshot) -> dict[str, Any]:
    """Column values of an IssueSnapshotRow for `snap`."""
    return {
        "key": snap.key,
        "project": snap.project,
        "issue_type": snap.issue_type,
        "status": snap.status,
        "status_category": snap.status_category,
        "summary": snap.summary,
        "priority": snap.priority,
        "labels": dumps(list(snap.labels)),
        "components": dumps(list(snap.components)),
        "fix_versions": dumps(list(snap.fix_versions)),
        "epic": snap.epic,
        "parent": snap.parent,
        "story_points": snap.story_points,
        "estimate_seconds": snap.estimate_seconds,
        "numbers": dumps(dict(snap.numbers)),
        "created": snap.created,
        "updated": snap.updated,
        "resolved": snap.resolved,
        "status_changed": snap.status_changed,
        "deleted": snap.deleted,
    }
