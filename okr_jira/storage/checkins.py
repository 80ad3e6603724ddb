"""Check-ins: added, never changed (the history is the record), read per objective or KR."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable

from sqlmodel import Session, col, select

from okr_jira.domain.checkins import CheckIn
from okr_jira.errors import OkrJiraError
from okr_jira.storage.chunks import chunked
from okr_jira.storage.tables import CheckinRow, utcnow


def add_checkin(
    *,
    session: Session,
    objective: str,
    kr: str | None = None,
    value: float | None = None,
    confidence: int | None = None,
    note: str | None = None,
    blockers: str | None = None,
    retro: str | None = None,
    author: str | None = None,
    at: dt.datetime | None = None,
) -> CheckinRow:
    if value is not None and not math.isfinite(value):
        # NaN or infinity could never be served as JSON again; every entry point refuses it
        # first, with the field named: this is the last line.
        raise OkrJiraError(f"a check-in value must be a finite number, not {value}")
    row = CheckinRow(
        objective=objective, kr=kr, value=value, confidence=confidence, note=note,
        blockers=blockers, retro=retro, author=author, created_at=at or utcnow(),
    )  # fmt: skip
    session.add(row)
    session.flush()
    return row


def latest_values(*, session: Session, krs: Iterable[str] | None = None) -> dict[str, float]:
    """kr -> the value of its newest check-in that carried one (manual KRs' progress)."""
    query = (
        select(CheckinRow.kr, CheckinRow.value)
        .where(col(CheckinRow.value).is_not(None), col(CheckinRow.kr).is_not(None))
        .order_by(col(CheckinRow.created_at), col(CheckinRow.id))
    )
    out: dict[str, float] = {}
    if krs is None:
        out.update({k: v for k, v in session.exec(query) if k and v is not None})
        return out
    for chunk in chunked(list(krs)):
        rows = session.exec(query.where(col(CheckinRow.kr).in_(chunk)))
        out.update({k: v for k, v in rows if k and v is not None})
    return out


def checkins_of(
    *, session: Session, objectives: Iterable[str], until: dt.datetime | None = None
) -> dict[str, tuple[CheckIn, ...]]:
    """objective -> its check-ins (on it and on its KRs), oldest first; up to `until` if given."""
    out: dict[str, list[CheckIn]] = {}
    for chunk in chunked(list(objectives)):
        query = (
            select(CheckinRow)
            .where(col(CheckinRow.objective).in_(chunk))
            .order_by(col(CheckinRow.created_at), col(CheckinRow.id))
        )
        if until is not None:
            query = query.where(col(CheckinRow.created_at) <= until)
        for row in session.exec(query):
            assert row.objective is not None
            out.setdefault(row.objective, []).append(_checkin(row))
    return {key: tuple(rows) for key, rows in out.items()}


def _checkin(row: CheckinRow) -> CheckIn:
    at = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=dt.UTC)
    return CheckIn(
        objective=row.objective or "", kr=row.kr, at=at, value=row.value,
        confidence=row.confidence, note=row.note, blockers=row.blockers, retro=row.retro,
    )  # fmt: skip


def recent_of_kr(*, session: Session, kr: str, limit: int = 20) -> list[CheckinRow]:
    """The newest check-ins of one KR, newest first (its page)."""
    query = (
        select(CheckinRow)
        .where(col(CheckinRow.kr) == kr)
        .order_by(col(CheckinRow.created_at).desc(), col(CheckinRow.id).desc())
        .limit(limit)
    )
    return list(session.exec(query))


def checkin_times(*, session: Session, krs: Iterable[str]) -> dict[str, list[dt.datetime]]:
    """KR -> when each of its check-ins was made, oldest first (stale check-ins)."""
    out: dict[str, list[dt.datetime]] = {}
    for chunk in chunked(list(krs)):
        query = (
            select(CheckinRow.kr, CheckinRow.created_at)
            .where(col(CheckinRow.kr).in_(chunk))
            .order_by(col(CheckinRow.created_at), col(CheckinRow.id))
        )
        for kr, at in session.exec(query):
            if kr is not None:
                out.setdefault(kr, []).append(at)
    return out


def checkin_history(
    *, session: Session, krs: Iterable[str]
) -> dict[str, list[tuple[dt.datetime, float]]]:
    """KR -> (when, value) of every check-in that carried a value, oldest first (history)."""
    out: dict[str, list[tuple[dt.datetime, float]]] = {}
    for chunk in chunked(list(krs)):
        query = (
            select(CheckinRow.kr, CheckinRow.created_at, CheckinRow.value)
            .where(col(CheckinRow.kr).in_(chunk), col(CheckinRow.value).is_not(None))
            .order_by(col(CheckinRow.created_at), col(CheckinRow.id))
        )
        for kr, at, value in session.exec(query):
            if kr is not None and value is not None:
                out.setdefault(kr, []).append((at, value))
    return out
