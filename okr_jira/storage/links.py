"""Scope links: which issue is in which KR's scope, since when, and until when.

Links are never deleted while their KR exists: a closed link keeps when the issue joined and left
and whether it was done then, the scope history.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any

from sqlalchemy import Table, delete, func, or_
from sqlalchemy import select as sa_select
from sqlalchemy import update as sa_update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from okr_jira.domain.health import IssueFacts, LinkSpan
from okr_jira.storage.chunks import chunked, rows_in
from okr_jira.storage.codec import moment, raw_moment
from okr_jira.storage.tables import IssueSnapshotRow, KeyResultRow, KrIssueLinkRow, ObjectiveRow

LINKS: Table = KrIssueLinkRow.__table__  # type: ignore[attr-defined]
_SNAPSHOTS: Table = IssueSnapshotRow.__table__  # type: ignore[attr-defined]
_KRS: Table = KeyResultRow.__table__  # type: ignore[attr-defined]
_OBJECTIVES: Table = ObjectiveRow.__table__  # type: ignore[attr-defined]
_INSERT_BATCH = 5000  # rows per INSERT: a large site opens hundreds of thousands at once
_STREAM_ROWS = 5000  # rows fetched at once where a large site's links are streamed


@dataclass(frozen=True, slots=True)
class Join:
    kr: str
    issue: str
    done: bool
    reason: str


@dataclass(frozen=True, slots=True)
class Leave:
    link_id: int
    done: bool | None
    reason: str


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


def open_scope_keys(*, session: Session, krs: Collection[str]) -> Iterator[str]:
    """The keys of the issues in the open scope of `krs`, each once, in key order, streamed
    from the open-links index: an incremental sync counts a large site's scope without
    holding its links."""
    query = (
        sa_select(LINKS.c.issue_key, LINKS.c.kr)
        .where(LINKS.c.left_at.is_(None))
        .order_by(LINKS.c.issue_key)
        .execution_options(yield_per=_STREAM_ROWS)
    )
    wanted = set(krs)
    last = None
    for key, kr in session.connection().execute(query):
        if key != last and kr in wanted:
            last = key
            yield key


def open_link_ids(
    *, session: Session, issues: Iterable[str] | None = None, krs: Iterable[str] | None = None
) -> dict[tuple[str, str], int]:
    """(KR, issue) -> id of every open link (of `issues` only, or of `krs` only, when given)."""
    query = sa_select(LINKS.c.id, LINKS.c.kr, LINKS.c.issue_key).where(LINKS.c.left_at.is_(None))
    conn = session.connection()
    rows: Iterable[Any]
    if issues is not None:
        rows = rows_in(conn, query, LINKS.c.issue_key, issues)
    elif krs is not None:
        rows = rows_in(conn, query, LINKS.c.kr, krs)
    else:
        rows = conn.execute(query)
    return {(kr, key): link_id for link_id, kr, key in rows}


def krs_with_open_links(*, session: Session) -> set[str]:
    """The KRs that have an issue in their scope now."""
    query = sa_select(LINKS.c.kr).where(LINKS.c.left_at.is_(None)).distinct()
    return set(session.connection().execute(query).scalars())


def write_changes(
    *, session: Session, joins: Iterable[Join], leaves: Sequence[Leave], at: dt.datetime
) -> None:
    """Open a link per join and close the links of `leaves`, all at `at`. The rows of `joins`
    are built a batch at a time: a first full sync of a large site opens millions."""
    conn = session.connection()
    insert = sqlite_insert if conn.dialect.name == "sqlite" else pg_insert
    # A link another writer opened meanwhile stays the one open link (see the unique index).
    statement = insert(LINKS).on_conflict_do_nothing(
        index_elements=["kr", "issue_key"], index_where=LINKS.c.left_at.is_(None)
    )
    pending = iter(joins)
    while batch := list(islice(pending, _INSERT_BATCH)):
        rows = [
            {"kr": j.kr, "issue_key": j.issue, "joined_at": at, "done_when_joined": j.done,
             "reason": j.reason}
            for j in batch
        ]  # fmt: skip
        conn.execute(statement, rows)
    groups: dict[tuple[bool | None, str], list[int]] = defaultdict(list)
    for leave in leaves:
        groups[(leave.done, leave.reason)].append(leave.link_id)
    for (done, reason), ids in groups.items():
        for chunk in chunked(ids):
            conn.execute(
                sa_update(LINKS)
                .where(LINKS.c.id.in_(chunk))
                .values(left_at=at, done_when_left=done, reason=reason)
            )


def history(*, session: Session, kr: str) -> list[KrIssueLinkRow]:
    """Every link of `kr`, open and closed, in the order issues joined."""
    query = (
        select(KrIssueLinkRow)
        .where(col(KrIssueLinkRow.kr) == kr)
        .order_by(col(KrIssueLinkRow.joined_at), col(KrIssueLinkRow.id))
    )
    return list(session.exec(query))


def delete_links(*, session: Session, kr: str) -> None:
    """Forget a KR's scope history (the KR itself is deleted with --prune)."""
    session.connection().execute(delete(LINKS).where(LINKS.c.kr == kr))


@dataclass(frozen=True, slots=True)
class ScopeMove:
    kr: str
    issue: str
    joined: bool  # else left
    done: bool | None  # done when it joined / left
    at: dt.datetime


def changes_since(*, session: Session, krs: Sequence[str], since: dt.datetime) -> list[ScopeMove]:
    """Issues that joined or left these KRs at or after `since`; the links a KR opened when it
    was first resolved are its starting scope, not a change."""
    out: list[ScopeMove] = []
    for chunk in chunked(list(krs)):
        first = {
            kr: at
            for kr, at in session.connection().execute(
                sa_select(LINKS.c.kr, func.min(LINKS.c.joined_at))
                .where(LINKS.c.kr.in_(chunk))
                .group_by(LINKS.c.kr)
            )
        }
        query = select(KrIssueLinkRow).where(
            col(KrIssueLinkRow.kr).in_(chunk),
            or_(col(KrIssueLinkRow.joined_at) >= since, col(KrIssueLinkRow.left_at) >= since),
        )
        for row in session.exec(query):
            start = _aware(first.get(row.kr))
            joined_at = _aware(row.joined_at)
            if (
                joined_at is not None
                and joined_at >= since
                and (start is None or joined_at > start + _FIRST_RESOLUTION)
            ):
                out.append(ScopeMove(row.kr, row.issue_key, True, row.done_when_joined, joined_at))
            left_at = _aware(row.left_at)
            if left_at is not None and left_at >= since:
                out.append(ScopeMove(row.kr, row.issue_key, False, row.done_when_left, left_at))
    return sorted(out, key=lambda m: (m.kr, m.at, m.issue))


# Links opened within this long of a KR's first link are its first resolution (one sync).
_FIRST_RESOLUTION = dt.timedelta(minutes=10)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def cycle_scope_history(
    *, session: Session, cycle: str, krs: Sequence[str] | None = None
) -> tuple[dict[str, list[LinkSpan]], dict[str, IssueFacts]]:
    """Every link of the cycle's KRs (of `krs` only, when given: a large site's health reads a
    chunk of KRs at a time) as KR -> its stays, and what the guardrails read of each linked
    issue (weights, resolution)."""
    query = (
        sa_select(
            LINKS.c.kr,
            LINKS.c.issue_key,
            raw_moment(LINKS.c.joined_at),
            LINKS.c.done_when_joined,
            raw_moment(LINKS.c.left_at),
            _SNAPSHOTS.c.key,
            _SNAPSHOTS.c.story_points,
            _SNAPSHOTS.c.estimate_seconds,
            raw_moment(_SNAPSHOTS.c.resolved),
        )
        .join(_KRS, _KRS.c.key == LINKS.c.kr)
        .join(_OBJECTIVES, _OBJECTIVES.c.key == _KRS.c.objective)
        .outerjoin(_SNAPSHOTS, _SNAPSHOTS.c.key == LINKS.c.issue_key)
        .where(_OBJECTIVES.c.cycle == cycle)
    )
    spans: dict[str, list[LinkSpan]] = defaultdict(list)
    issues: dict[str, IssueFacts] = {}
    conn = session.connection()
    # Row by row, never every row at once: a large site's cycle has millions of links.
    rows: Iterable[Any] = (
        conn.execute(query) if krs is None else rows_in(conn, query, LINKS.c.kr, krs)
    )
    for kr, key, joined, done, left, known, points, seconds, resolved in rows:
        spans[kr].append(LinkSpan(key, moment(joined), bool(done), moment(left)))  # type: ignore[arg-type]
        if known is not None and key not in issues:
            issues[key] = IssueFacts(points, seconds, moment(resolved))
    return dict(spans), issues


def cycle_shared_scope(*, session: Session, cycle: str) -> dict[str, list[LinkSpan]]:
    """KR -> the open stays of the issues in the open scope of KRs of two teams or more (the
    only ones an overlap between teams can name), over the cycle's KRs: on a large site a small
    part of its links."""
    open_in_cycle = (
        sa_select(LINKS.c.issue_key)
        .join(_KRS, _KRS.c.key == LINKS.c.kr)
        .join(_OBJECTIVES, _OBJECTIVES.c.key == _KRS.c.objective)
        .where(_OBJECTIVES.c.cycle == cycle, LINKS.c.left_at.is_(None))
    )
    shared = open_in_cycle.group_by(LINKS.c.issue_key).having(
        func.count(func.distinct(_OBJECTIVES.c.team)) > 1
    )
    query = (
        sa_select(LINKS.c.kr, LINKS.c.issue_key, raw_moment(LINKS.c.joined_at),
                  LINKS.c.done_when_joined)
        .join(_KRS, _KRS.c.key == LINKS.c.kr)
        .join(_OBJECTIVES, _OBJECTIVES.c.key == _KRS.c.objective)
        .where(_OBJECTIVES.c.cycle == cycle, LINKS.c.left_at.is_(None))
        .where(LINKS.c.issue_key.in_(shared.scalar_subquery()))
    )  # fmt: skip
    spans: dict[str, list[LinkSpan]] = defaultdict(list)
    for kr, key, joined, done in session.connection().execute(query):
        spans[kr].append(LinkSpan(key, moment(joined), bool(done), None))  # type: ignore[arg-type]
    return dict(spans)
