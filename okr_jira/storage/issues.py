"""Issue snapshots: the last state okr-jira knows of each Jira issue (no assignee, ever).

Core statements rather than ORM objects on these paths: a sync stores pages of hundreds of issues
and the webhook worker holds SQLite's write lock while it writes, so a few statements per call,
whatever the number of issues.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any, NamedTuple

from sqlalchemy import Table, bindparam, func
from sqlalchemy import select as sa_select
from sqlalchemy import update as sa_update
from sqlmodel import Session

from okr_jira.domain.models import IssueSnapshot
from okr_jira.storage import codec
from okr_jira.storage.chunks import rows_in
from okr_jira.storage.tables import IssueSnapshotRow, KrIssueLinkRow

SNAPSHOTS: Table = IssueSnapshotRow.__table__  # type: ignore[attr-defined]
_LINKS: Table = KrIssueLinkRow.__table__  # type: ignore[attr-defined]


def snapshots(*, session: Session, keys: Iterable[str] | None = None) -> dict[str, IssueSnapshot]:
    """Whole snapshots of `keys` (every stored issue when None)."""
    # Core rows: building ORM objects cost more than the query for a few hundred issues.
    conn = session.connection()
    query = sa_select(SNAPSHOTS)
    rows: Iterable[Any] = (
        conn.execute(query) if keys is None else rows_in(conn, query, SNAPSHOTS.c.key, keys)
    )
    return {r.key: codec.snapshot_from_row(r) for r in rows}


def progress_snapshots(
    *, session: Session, krs: Sequence[str], with_dates: bool = False
) -> dict[str, list[IssueSnapshot]]:
    """KR key -> the snapshots of the issues in its scope, by issue key, in one query.

    Only what progress reads is loaded (status category, weights, numeric fields, deleted; and
    with `with_dates` the created, updated, resolved and status-change dates the reconstructed
    history reads): labels, components, fix versions, summary, priority and epic are left empty.
    For computing progress only; `snapshots` gives whole ones.
    """
    if not krs:
        return {}
    columns = [
        _LINKS.c.kr,
        SNAPSHOTS.c.key,
        SNAPSHOTS.c.project,
        SNAPSHOTS.c.issue_type,
        SNAPSHOTS.c.status,
        SNAPSHOTS.c.status_category,
        SNAPSHOTS.c.story_points,
        SNAPSHOTS.c.estimate_seconds,
        SNAPSHOTS.c.numbers,
        SNAPSHOTS.c.deleted,
    ]
    if with_dates:
        columns += [
            SNAPSHOTS.c.created,
            SNAPSHOTS.c.updated,
            SNAPSHOTS.c.resolved,
            SNAPSHOTS.c.status_changed,
        ]
    query = (
        sa_select(*columns)
        .join(SNAPSHOTS, SNAPSHOTS.c.key == _LINKS.c.issue_key)
        .where(_LINKS.c.left_at.is_(None), _LINKS.c.kr.in_(list(krs)))
    )
    found: dict[str, dict[str, IssueSnapshot]] = defaultdict(dict)
    dated: dict[str, IssueSnapshot] = {}  # an issue in several KRs is built once
    for kr, *values in session.connection().execute(query):
        if not with_dates:
            found[kr][values[0]] = _progress_snapshot(tuple(values))
            continue
        snap = dated.get(values[0])
        if snap is None:
            key, project, issue_type, status, category, points, seconds, numbers, deleted = values[
                :9
            ]
            snap = dated[key] = IssueSnapshot(
                key=key, project=project, issue_type=issue_type, status=status,
                status_category=category, story_points=points, estimate_seconds=seconds,
                numbers=codec.numbers_from_json(numbers), deleted=deleted, created=values[9],
                updated=values[10], resolved=values[11], status_changed=values[12],
            )  # fmt: skip
        found[kr][values[0]] = snap
    # Code point order on every database (collations differ), as progress always used.
    return {kr: [issues[k] for k in sorted(issues)] for kr, issues in found.items()}


_PROGRESS_SNAPSHOTS: dict[tuple[Any, ...], IssueSnapshot] = {}


def _progress_snapshot(values: tuple[Any, ...]) -> IssueSnapshot:
    """One IssueSnapshot per distinct row, reused: a worker recomputing a KR of hundreds of issues
    on every batch would otherwise build them all again (it costs more than the query)."""
    snap = _PROGRESS_SNAPSHOTS.get(values)
    if snap is None:
        if len(_PROGRESS_SNAPSHOTS) >= 50_000:
            _PROGRESS_SNAPSHOTS.clear()
        key, project, issue_type, status, category, points, seconds, numbers, deleted = values
        snap = IssueSnapshot(
            key=key,
            project=project,
            issue_type=issue_type,
            status=status,
            status_category=category,
            story_points=points,
            estimate_seconds=seconds,
            numbers=codec.numbers_from_json(numbers),
            deleted=deleted,
        )
        _PROGRESS_SNAPSHOTS[values] = snap
    return snap


def _stored_rows(session: Session, keys: Iterable[str]) -> dict[str, Any]:
    return {
        r.key: r for r in rows_in(session.connection(), sa_select(SNAPSHOTS), SNAPSHOTS.c.key, keys)
    }


def _unchanged(row: Any, values: dict[str, Any]) -> bool:
    return not row.deleted and all(row._mapping[n] == v for n, v in values.items())


def differing(*, session: Session, snapshots: Iterable[IssueSnapshot]) -> list[IssueSnapshot]:
    """The snapshots that are new or differ from what is stored (a read, no write)."""
    incoming = {s.key: s for s in snapshots}
    stored = _stored_rows(session, incoming)
    return [
        snap
        for key, snap in incoming.items()
        if (row := stored.get(key)) is None or not _unchanged(row, codec.snapshot_values(snap))
    ]


class Upserted(NamedTuple):
    applied: list[IssueSnapshot]  # stored: new or changed
    stale: list[str]  # older than the stored state: not stored
    # Stored, but only `updated` moved (a comment, a remote link okr-jira wrote): nothing
    # progress or a page reads changed.
    touched: set[str]


def upsert_snapshots(
    *, session: Session, snapshots: Iterable[IssueSnapshot], now: dt.datetime
) -> Upserted:
    """Store snapshots unless older than the stored state or unchanged.

    An unchanged snapshot is in none of the lists; a touched one is applied and touched. Another
    writer (the webhook worker, a sync in another process) may store a new issue between the read
    and the write: the insert then skips it and it is judged again against what that writer
    stored, as if it had been read so.
    """
    incoming = {s.key: s for s in snapshots}
    out = Upserted([], [], set())
    if not incoming:
        return out
    conn = session.connection()
    inserts, updates = _judge(incoming, _stored_rows(session, incoming), now, out)
    if inserts:
        raced = {row["key"] for row in inserts} - _insert_new(conn, inserts)
        if raced:
            out.applied[:] = [snap for snap in out.applied if snap.key not in raced]
            again = {key: incoming[key] for key in raced}
            late, more = _judge(again, _stored_rows(session, raced), now, out)
            assert not late, "a stored row cannot vanish inside the transaction"
            updates += more
    if updates:
        names = [n for n in updates[0] if n not in ("key", "old_key")]
        stmt = (
            sa_update(SNAPSHOTS)
            .where(SNAPSHOTS.c.key == bindparam("old_key"))
            .values({n: bindparam(n) for n in names})
        )
        conn.execute(stmt, updates)
    return out


def _judge(
    incoming: dict[str, IssueSnapshot], stored: dict[str, Any], now: dt.datetime, out: Upserted
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The rows to insert and to update for `incoming` against `stored`; fills `out`."""
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for key, snap in incoming.items():
        row = stored.get(key)
        if row is not None and row.updated and snap.updated and snap.updated < row.updated:
            out.stale.append(key)
            continue
        values = codec.snapshot_values(snap)
        if row is not None and snap.updated is None:
            values["updated"] = row.updated  # never blank the time the stored state is from
        if row is not None and not row.deleted:
            differ = {n for n, v in values.items() if row._mapping[n] != v}
            if not differ:
                continue  # re-read in an overlap window: nothing to apply
            if differ == {"updated"}:
                out.touched.add(key)
        if row is None:
            inserts.append({**values, "seen_at": now})
        else:
            updates.append({**values, "seen_at": now, "old_key": key})
        out.applied.append(snap)
    return inserts, updates


def _insert_new(conn: Any, rows: list[dict[str, Any]]) -> set[str]:
    """Insert the rows whose key is not stored; returns the keys inserted (the others were
    stored by another writer since they were read)."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    stmt = insert(SNAPSHOTS).on_conflict_do_nothing(index_elements=["key"])
    # SQLAlchemy batches RETURNING over many rows on both databases ("insertmanyvalues").
    return {key for (key,) in conn.execute(stmt.returning(SNAPSHOTS.c.key), rows)}


def mark_deleted(*, session: Session, keys: Iterable[str], now: dt.datetime) -> list[IssueSnapshot]:
    """Mark live snapshots of `keys` deleted; returns them (deleted), in the order asked."""
    wanted = list(dict.fromkeys(keys))
    if not wanted:
        return []
    conn = session.connection()
    live = sa_select(SNAPSHOTS).where(SNAPSHOTS.c.deleted.is_(False))
    out = [
        replace(codec.snapshot_from_row(r), deleted=True)
        for r in rows_in(conn, live, SNAPSHOTS.c.key, wanted)
    ]
    if out:
        conn.execute(
            sa_update(SNAPSHOTS)
            .where(SNAPSHOTS.c.key == bindparam("old_key"))
            .values(deleted=True, seen_at=now),
            [{"old_key": s.key} for s in out],
        )
    order = {k: n for n, k in enumerate(wanted)}
    return sorted(out, key=lambda s: order[s.key])


def stored_versions(
    *, session: Session, keys: Iterable[str]
) -> dict[str, tuple[dt.datetime | None, bool, str | None]]:
    """key -> (updated, deleted, Jira id) of the stored snapshots of `keys`."""
    query = sa_select(
        SNAPSHOTS.c.key, SNAPSHOTS.c.updated, SNAPSHOTS.c.deleted, SNAPSHOTS.c.jira_id
    )
    return {
        k: (u, d, j) for k, u, d, j in rows_in(session.connection(), query, SNAPSHOTS.c.key, keys)
    }


def live_keys_of_jira_ids(*, session: Session, ids: Iterable[str]) -> list[tuple[str, str]]:
    """(key, Jira id) of live snapshots with these Jira ids (a moved issue keeps its id)."""
    query = sa_select(SNAPSHOTS.c.key, SNAPSHOTS.c.jira_id).where(SNAPSHOTS.c.deleted.is_(False))
    return [(k, j) for k, j in rows_in(session.connection(), query, SNAPSHOTS.c.jira_id, ids)]


def set_jira_ids(*, session: Session, ids: Mapping[str, str]) -> None:
    """Keep the Jira id (issue key -> id) on the rows: IssueSnapshot does not carry it."""
    if ids:
        session.connection().execute(
            sa_update(SNAPSHOTS)
            .where(SNAPSHOTS.c.key == bindparam("k"))
            .values(jira_id=bindparam("i")),
            [{"k": k, "i": i} for k, i in ids.items()],
        )


def candidate_snapshots(
    *,
    session: Session,
    projects: Iterable[str] | None = None,
    keys: Iterable[str] = (),
) -> list[IssueSnapshot]:
    """Live snapshots of `projects` (every project when None) plus those of `keys`: what a
    selection over stored issues needs to look at."""
    conn = session.connection()
    live = sa_select(SNAPSHOTS).where(SNAPSHOTS.c.deleted.is_(False))
    found: dict[str, IssueSnapshot] = {}
    if projects is None:
        rows: Iterable[Any] = conn.execute(live)
    else:
        rows = rows_in(conn, live, SNAPSHOTS.c.project, sorted({p.upper() for p in projects}))
    for row in rows:
        found[row.key] = codec.snapshot_from_row(row)
    for row in rows_in(conn, live, SNAPSHOTS.c.key, sorted(set(keys) - set(found))):
        found[row.key] = codec.snapshot_from_row(row)
    return [found[k] for k in sorted(found)]


def live_keys_in_projects(*, session: Session, projects: Sequence[str]) -> set[str]:
    """Keys of the stored, not deleted, issues of `projects`."""
    query = sa_select(SNAPSHOTS.c.key).where(
        SNAPSHOTS.c.project.in_(list(projects)), SNAPSHOTS.c.deleted.is_(False)
    )
    return set(session.connection().execute(query).scalars())


def count_live_in_projects(*, session: Session, projects: Sequence[str]) -> int:
    """How many stored, not deleted, issues `projects` hold (an index-only count)."""
    query = (
        sa_select(func.count())
        .select_from(SNAPSHOTS)
        .where(SNAPSHOTS.c.project.in_(list(projects)), SNAPSHOTS.c.deleted.is_(False))
    )
    return int(session.connection().execute(query).scalar_one())
