"""The webhook inbox: raw events stored before Jira gets its 2xx, applied later by a worker.

Receiving only inserts (one statement; a duplicate delivery id is a no-op). The worker claims
pending events in id order, keeps the newest state of each issue, hands the batch to
`scope.apply_issue_changes`, and marks the events in the same transaction: a crash at any point
leaves them pending, so every stored event is applied exactly once in effect. On PostgreSQL,
several workers share the inbox (`FOR UPDATE SKIP LOCKED`, plus a per-issue advisory lock so two
workers never apply the same issue at once); on SQLite one worker takes the write lock up front.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, bindparam, func, text, update
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, select

from okr_jira.adapters.jira_fields import FieldMap, parse_issue
from okr_jira.domain.models import IssueSnapshot, KeyResult, OkrSet
from okr_jira.scope import FIELDS_STATE, Decisions, ScopeRules, decide_scope, load_rules
from okr_jira.storage import repo
from okr_jira.storage.db import is_sqlite
from okr_jira.storage.tables import IssueSnapshotRow, WebhookEventRow, utcnow

log = logging.getLogger(__name__)

PENDING, APPLIED, IGNORED, FAILED = "pending", "applied", "ignored", "failed"
DELETED_EVENT = "jira:issue_deleted"
RemoteMatch = Callable[[KeyResult, IssueSnapshot], bool]


class ApplyChanges(Protocol):
    """The signature of okr_jira.scope.apply_issue_changes."""

    def __call__(
        self,
        *,
        session: Session,
        snapshots: Sequence[IssueSnapshot],
        deleted_keys: Sequence[str] = (),
        remote_match: RemoteMatch | None = None,
        now: dt.datetime | None = None,
        rules: ScopeRules | None = None,
        decided: Decisions | None = None,
    ) -> Any: ...


# --- receiving -----------------------------------------------------------------------------------


def store_event(
    *,
    engine: Engine,
    delivery_id: str,
    event_type: str,
    body: str,
    issue_key: str | None = None,
    issue_id: str | None = None,
    event_ts: int | None = None,
) -> bool:
    """Commit one raw event; False when this delivery id is already stored (a Jira retry)."""
    values = {
        "delivery_id": delivery_id, "received_at": utcnow(), "event_type": event_type,
        "issue_key": issue_key, "issue_id": issue_id, "event_ts": event_ts, "body": body,
        "status": PENDING, "attempts": 0,
    }  # fmt: skip
    stmt = _insert_statement(engine.dialect.name)
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            created = _sqlite_insert(conn, stmt, values)
            conn.commit()
        return created
    # One statement in autocommit mode: one round trip instead of BEGIN, INSERT and COMMIT, and
    # as durable when it returns (synchronous_commit stays on), so still before the 2xx.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        return conn.execute(stmt, values).first() is not None


def _sqlite_insert(conn: Connection, stmt: Any, values: dict[str, Any]) -> bool:
    """Insert, waiting for SQLite's write lock by polling every half millisecond.

    SQLite's own busy handler sleeps 1, 2, 5, 10, ... up to 100 ms between tries, so a receiver
    that finds the lock taken (by the worker, or the other gunicorn worker) oversleeps by up to
    that much after it is free. The engine's busy timeout still bounds the wait.
    """
    # PRAGMAs straight on the driver connection: through SQLAlchemy they cost more than the insert.
    raw = conn.connection.dbapi_connection
    assert raw is not None
    saved = int(raw.execute("PRAGMA busy_timeout").fetchone()[0])
    raw.execute("PRAGMA busy_timeout = 0")
    deadline = time.monotonic() + saved / 1000
    try:
        while True:
            try:
                return conn.execute(stmt, values).first() is not None
            except OperationalError as exc:
                if "locked" not in str(exc.orig) or time.monotonic() > deadline:
                    raise
                conn.rollback()
                time.sleep(0.0005)
    finally:
        raw.execute(f"PRAGMA busy_timeout = {saved}")


@functools.cache
def _insert_statement(dialect: str) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING id, built once: the receiver's hot path only
    binds values (SQLAlchemy caches the compiled form)."""
    insert = sqlite.insert if dialect == "sqlite" else postgresql.insert
    table = WebhookEventRow.__table__  # type: ignore[attr-defined]
    return (
        insert(table).on_conflict_do_nothing(index_elements=["delivery_id"]).returning(table.c.id)
    )


# --- applying ------------------------------------------------------------------------------------


@dataclass
class BatchResult:
    claimed: int = 0
    applied: int = 0
    ignored: int = 0
    failed: int = 0
    krs: set[str] = field(default_factory=set)

    def add(self, other: BatchResult) -> None:
        self.claimed += other.claimed
        self.applied += other.applied
        self.ignored += other.ignored
        self.failed += other.failed
        self.krs |= other.krs


@dataclass(frozen=True, slots=True)
class _Event:
    """One claimed inbox row: plain values read with Core (no ORM identity map to keep in sync)."""

    id: int
    event_type: str
    issue_key: str | None
    issue_id: str | None
    event_ts: int | None
    body: str


@dataclass
class _IssueGroup:
    """The events of one issue in a batch, and the state they leave it in."""

    key: str
    events: list[_Event]
    snapshot: IssueSnapshot | None = None  # newest state, unless the newest event is a delete
    deleted: bool = False
    moved_from: list[str] = field(default_factory=list)  # old keys of a moved issue
    newest: _Event | None = None
    stale_reason: str | None = None
    error: str | None = None
    stored_jira_id: str | None = None  # the Jira id on the stored snapshot, if any


def default_apply() -> ApplyChanges:
    from okr_jira.scope import apply_issue_changes

    return apply_issue_changes


def stored_field_map(*, session: Session) -> FieldMap:
    """The site's field ids as the last sync stored them (`jira.fields`), else name-only defaults.

    Story points and Epic Link are custom fields whose ids only Jira's /field knows; the worker
    gets the FieldMap from the Jira adapter when one is configured.
    """
    from okr_jira.adapters.jira_fields import field_map

    raw = repo.get_state(session=session, name=FIELDS_STATE)
    if raw:
        try:
            return field_map(json.loads(raw))
        except (ValueError, TypeError, AttributeError):
            log.warning("inbox.fields.unreadable")
    return FieldMap()


def process_batch(
    *,
    engine: Engine,
    limit: int = 1000,
    fields: FieldMap | None = None,
    remote_match: RemoteMatch | None = None,
    apply: ApplyChanges | None = None,
    now: dt.datetime | None = None,
    chunk_issues: int | None = None,
    between_chunks: Callable[[float], object] | None = None,
) -> BatchResult:
    """Claim up to `limit` pending events and apply them.

    One transaction, except on SQLite with `chunk_issues`: the batch is parsed and decided first,
    then written `chunk_issues` issues per transaction (each marks its own events, so a crash
    between two leaves only the rest pending), calling `between_chunks(seconds the last one held
    the write lock)` in between so receivers get the lock back.
    """
    apply = apply or default_apply()
    with Session(engine, expire_on_commit=False) as session:
        try:
            rows = _claim(session, limit)
            result = BatchResult(claimed=len(rows))
            if rows:
                plan = _plan_rows(session, rows, fields, remote_match, now)
                parts = plan.parts(chunk_issues if is_sqlite(engine) else None)
                held = 0.0
                for n, (links, groups) in enumerate(parts):
                    if n and between_chunks is not None:
                        between_chunks(held)
                    started = time.monotonic()
                    _apply_part(session, plan, links, groups, result, remote_match, apply)
                    session.commit()
                    held = time.monotonic() - started
            session.commit()
        except BaseException:
            session.rollback()
            raise
    if rows:
        log.info(
            "inbox.batch",
            extra={"claimed": result.claimed, "applied": result.applied, "failed": result.failed},
        )
    return result


def drain(
    *,
    engine: Engine,
    batch_size: int = 1000,
    fields: FieldMap | None = None,
    remote_match: RemoteMatch | None = None,
    apply: ApplyChanges | None = None,
    now: dt.datetime | None = None,
    chunk_issues: int | None = None,
    between_chunks: Callable[[float], object] | None = None,
) -> BatchResult:
    """Apply batches until the inbox has nothing pending (for `run`, tests and the CLI).

    `chunk_issues` and `between_chunks` as for process_batch (receivers running on SQLite)."""
    total = BatchResult()
    while True:
        result = process_batch(
            engine=engine, limit=batch_size, fields=fields, remote_match=remote_match,
            apply=apply, now=now, chunk_issues=chunk_issues, between_chunks=between_chunks,
        )  # fmt: skip
        total.add(result)
        if result.claimed == 0:
            return total


def run_worker(
    *,
    engine: Engine,
    stop: threading.Event,
    batch_size: int = 1000,
    max_idle_seconds: float = 2.0,
    collect_seconds: float = 0.3,
    fields: FieldMap | Callable[[], FieldMap] | None = None,
    remote_match: RemoteMatch | None = None,
    apply: ApplyChanges | None = None,
    chunk_issues: int = 24,
) -> BatchResult:
    """Apply events until `stop` is set.

    After a batch the worker lets events collect for `collect_seconds` before the next one. Each
    batch has a fixed cost (loading the OKRs, recomputing each affected KR from all its issues)
    and later events of an issue supersede earlier ones, so fewer, larger batches cost less CPU per
    event and leave the cores to the receivers. An event thus waits about `collect_seconds` plus
    one batch. On PostgreSQL a full batch (a backlog) is followed at once. On SQLite a batch is
    written `chunk_issues` issues per transaction, and the write lock is left free between two
    at least as long as the last one held it, so a receiver waits one short chunk at most; after
    the batch, `collect_seconds` again. An empty inbox is polled less and less
    often, up to `max_idle_seconds`. A database error keeps the batch pending and is retried
    after a pause."""
    apply = apply or default_apply()
    total = BatchResult()
    idle = collect_seconds
    single_writer = is_sqlite(engine)

    def share_lock(held: float) -> None:
        stop.wait(max(held, 0.002))

    while not stop.is_set():
        try:
            fmap = fields() if callable(fields) else fields
            result = process_batch(
                engine=engine, limit=batch_size, fields=fmap, remote_match=remote_match,
                apply=apply, chunk_issues=chunk_issues, between_chunks=share_lock,
            )  # fmt: skip
        except OperationalError as exc:
            log.warning("inbox.database_error", extra={"error": type(exc.orig).__name__})
            stop.wait(max_idle_seconds)
            continue
        total.add(result)
        if single_writer and result.claimed:
            # SQLite has one write lock: whatever the backlog, pause so that acknowledging
            # never waits long on applying.
            idle = collect_seconds
            stop.wait(collect_seconds)
        elif result.claimed >= batch_size:
            idle = collect_seconds  # a backlog: go on
        elif result.claimed:
            idle = collect_seconds
            stop.wait(collect_seconds)
        else:
            stop.wait(idle)
            idle = min(idle * 2, max(max_idle_seconds, collect_seconds))
    return total


_CLAIM_COLUMNS = (
    WebhookEventRow.__table__.c.id,  # type: ignore[attr-defined]
    WebhookEventRow.__table__.c.event_type,  # type: ignore[attr-defined]
    WebhookEventRow.__table__.c.issue_key,  # type: ignore[attr-defined]
    WebhookEventRow.__table__.c.issue_id,  # type: ignore[attr-defined]
    WebhookEventRow.__table__.c.event_ts,  # type: ignore[attr-defined]
    WebhookEventRow.__table__.c.body,  # type: ignore[attr-defined]
)


def _claim(session: Session, limit: int) -> list[_Event]:
    table = WebhookEventRow.__table__  # type: ignore[attr-defined]
    query = (
        sa_select(*_CLAIM_COLUMNS)
        .where(table.c.status == PENDING)
        .order_by(table.c.id)
        .limit(limit)
    )
    conn = session.connection()
    if conn.dialect.name == "sqlite":
        # One worker on SQLite: reading needs no lock (pysqlite opens no transaction for a
        # SELECT); _apply_rows takes the write lock once the payloads are parsed.
        return [_Event(*r) for r in conn.execute(query)]
    rows = [_Event(*r) for r in conn.execute(query.with_for_update(skip_locked=True))]
    keys = sorted({r.issue_key for r in rows if r.issue_key})
    if not keys:
        return rows
    # One worker per issue at a time: another worker may hold a newer event of the same issue.
    # Keyed by schema too: advisory locks are per database, the inbox is per schema.
    locked = set(
        conn.execute(
            text(
                "SELECT k FROM unnest(CAST(:keys AS text[])) AS k "
                "WHERE pg_try_advisory_xact_lock("
                "hashtext(current_schema()), hashtext('okr-jira-issue:' || k))"
            ),
            {"keys": keys},
        ).scalars()
    )
    return [r for r in rows if r.issue_key is None or r.issue_key in locked]


@dataclass
class _Plan:
    """A claimed batch, parsed and decided before any write: what the write transactions need."""

    at: dt.datetime
    rules: ScopeRules
    decided: Decisions
    links: list[_Event]
    groups: list[_IssueGroup]

    def parts(self, size: int | None) -> list[tuple[list[_Event], list[_IssueGroup]]]:
        """(link events, issue groups) per write transaction: all at once, or about `size`
        issues each. The keys of one Jira issue (a moved issue's old and new key) stay in one
        part, so a move and the old key's events are applied together, as in one transaction."""
        if not size or len(self.groups) <= size:
            return [(self.links, self.groups)]
        same_issue: dict[str, list[_IssueGroup]] = {}
        for g in self.groups:
            jira_id = next((e.issue_id for e in g.events if e.issue_id), None)
            same_issue.setdefault(jira_id or f"key:{g.key}", []).append(g)
        chunks: list[list[_IssueGroup]] = [[]]
        for together in same_issue.values():
            if len(chunks[-1]) >= size:
                chunks.append([])
            chunks[-1].extend(together)
        return [(self.links if n == 0 else [], chunk) for n, chunk in enumerate(chunks)]


def _plan_rows(
    session: Session,
    rows: list[_Event],
    fields: FieldMap | None,
    remote_match: RemoteMatch | None,
    now: dt.datetime | None,
) -> _Plan:
    """Parse the payloads, read the rules, decide each issue's scope: reads only, no lock."""
    at = now or utcnow()
    fmap = fields if fields is not None else stored_field_map(session=session)
    rules = load_rules(session=session)
    numbers = _kr_numbers(rules.okrs, fmap)
    groups: dict[str, _IssueGroup] = {}
    links = [row for row in rows if row.issue_key is None]
    for row in rows:
        if row.issue_key is not None:
            groups.setdefault(row.issue_key, _IssueGroup(row.issue_key, [])).events.append(row)
    for group in groups.values():
        _plan_group(group, fmap, numbers)
    decided = decide_scope(
        rules.matchers,
        [g.snapshot for g in groups.values() if g.snapshot is not None and not g.deleted],
        now=at,
        remote=remote_match,
    )
    return _Plan(at, rules, decided, links, list(groups.values()))


def _apply_part(
    session: Session,
    plan: _Plan,
    links: list[_Event],
    groups: list[_IssueGroup],
    result: BatchResult,
    remote_match: RemoteMatch | None,
    apply: ApplyChanges,
) -> None:
    """Write one part of a plan: snapshots, scope, progress and the events' outcomes."""
    at, rules, decided = plan.at, plan.rules, plan.decided
    if session.get_bind().dialect.name == "sqlite":
        # Writing starts here. BEGIN IMMEDIATE waits for the lock instead of failing with
        # SQLITE_BUSY when a read transaction tries to become a write one.
        session.connection().exec_driver_sql("BEGIN IMMEDIATE")
        # Under the lock: drop events another worker applied since we read them.
        table = WebhookEventRow.__table__  # type: ignore[attr-defined]
        ids = [r.id for r in links] + [r.id for g in groups for r in g.events]
        still: set[int] = set()
        for i in range(0, len(ids), 500):
            chunk = sa_select(table.c.id).where(
                table.c.id.in_(ids[i : i + 500]), table.c.status == PENDING
            )
            still.update(session.connection().execute(chunk).scalars())
        links = [r for r in links if r.id in still]
        # Left pending or done: the next batch sees it whole.
        groups = [g for g in groups if all(r.id in still for r in g.events)]
    marks: list[dict[str, Any]] = []
    # Issue links do not change any KR's selection (no selector reads links).
    _mark(marks, links, IGNORED, "issue links do not change KR scope")
    result.ignored += len(links)
    _check_stored(session, groups)
    live = [g for g in groups if g.error is None and g.stale_reason is None]
    try:
        with session.begin_nested():
            change = _apply_groups(session, live, remote_match, apply, at, rules, decided)
        result.krs |= set(getattr(change, "krs", ()) or ())
    except OperationalError:
        raise
    except Exception as exc:
        # Find the issue(s) at fault: apply one issue at a time, each in its own savepoint.
        log.warning("inbox.batch_failed", extra={"error": type(exc).__name__, "size": len(live)})
        for group in live:
            try:
                with session.begin_nested():
                    change = _apply_groups(
                        session, [group], remote_match, apply, at, rules, decided
                    )
                result.krs |= set(getattr(change, "krs", ()) or ())
            except OperationalError:
                raise
            except Exception as one:
                group.error = f"{type(one).__name__}: {one}"[:2000]
    for group in groups:
        _finish_group(marks, group, result)
    _write_marks(session, marks, at)


def _plan_group(group: _IssueGroup, fmap: FieldMap, numbers: dict[str, str]) -> None:
    """Pick the newest event of the issue; the others are superseded by it."""
    parsed: list[tuple[tuple[Any, ...], _Event, IssueSnapshot]] = []
    for row in group.events:
        try:
            issue = json.loads(row.body).get("issue") or {}
            snap = parse_issue(issue, fmap, numbers)
        except (ValueError, TypeError, AttributeError) as exc:
            group.error = f"event {row.id}: unreadable payload ({type(exc).__name__})"
            return
        if snap.key != group.key:
            snap = _with_key(snap, group.key)
        updated = snap.updated or _from_ms(row.event_ts) or dt.datetime.min.replace(tzinfo=dt.UTC)
        # A delete carries the issue as it was, with the same `updated` as the last change:
        # on a tie the delete wins, then Jira's event time, then arrival order.
        version = (updated, row.event_type == DELETED_EVENT, row.event_ts or 0, row.id)
        parsed.append((version, row, snap))
    _, newest, latest = max(parsed, key=lambda item: item[0])
    group.newest = newest
    group.deleted = newest.event_type == DELETED_EVENT
    group.snapshot = latest


def _check_stored(session: Session, groups: list[_IssueGroup]) -> None:
    """Do not roll an issue back: skip events older than its stored state, and notice moves."""
    keys = [g.key for g in groups if g.snapshot is not None]
    ids = {g.newest.issue_id: g for g in groups if g.newest is not None and g.newest.issue_id}
    if not keys:
        return
    stored: dict[str, tuple[dt.datetime | None, bool, str | None]] = {}
    query = select(
        IssueSnapshotRow.key,
        IssueSnapshotRow.updated,
        IssueSnapshotRow.deleted,
        IssueSnapshotRow.jira_id,
    )
    for i in range(0, len(keys), 500):
        chunk = query.where(col(IssueSnapshotRow.key).in_(keys[i : i + 500]))
        stored.update({k: (u, d, j) for k, u, d, j in session.exec(chunk)})
    if ids:
        moved = select(IssueSnapshotRow.key, IssueSnapshotRow.jira_id).where(
            col(IssueSnapshotRow.jira_id).in_(list(ids)), col(IssueSnapshotRow.deleted).is_(False)
        )
        for old_key, jira_id in session.exec(moved):
            group = ids.get(jira_id or "")
            if group is not None and old_key != group.key:
                group.moved_from.append(old_key)
    for group in groups:
        assert group.snapshot is not None
        updated, deleted, group.stored_jira_id = stored.get(group.key, (None, False, None))
        new = group.snapshot.updated
        if updated is None or new is None:
            continue
        if new < updated or (deleted and not group.deleted and new <= updated):
            group.stale_reason = f"older than the stored issue (updated {updated.isoformat()})"
            group.moved_from.clear()


def _apply_groups(
    session: Session,
    groups: Sequence[_IssueGroup],
    remote_match: RemoteMatch | None,
    apply: ApplyChanges,
    at: dt.datetime,
    rules: ScopeRules,
    decided: Decisions,
) -> Any:
    snapshots = [g.snapshot for g in groups if not g.deleted and g.snapshot is not None]
    deleted = [g.key for g in groups if g.deleted]
    deleted += [old for g in groups for old in g.moved_from]
    if not snapshots and not deleted:
        return None
    change = apply(
        session=session, snapshots=snapshots, deleted_keys=deleted, remote_match=remote_match,
        now=at, rules=rules, decided=decided,
    )  # fmt: skip
    # IssueSnapshot has no Jira id; keep it on the row so a moved issue (new key, same id) is
    # recognised and its old key leaves every KR.
    ids = [
        {"k": g.key, "i": g.newest.issue_id}
        for g in groups
        if not g.deleted
        and g.newest is not None
        and g.newest.issue_id
        and g.newest.issue_id != g.stored_jira_id
    ]
    if ids:
        table = IssueSnapshotRow.__table__  # type: ignore[attr-defined]
        session.connection().execute(
            update(table).where(table.c.key == bindparam("k")).values(jira_id=bindparam("i")), ids
        )
    return change


def _finish_group(marks: list[dict[str, Any]], group: _IssueGroup, result: BatchResult) -> None:
    if group.error is not None:
        _mark(marks, group.events, FAILED, group.error)
        result.failed += len(group.events)
        log.warning("inbox.failed", extra={"issue": group.key, "events": len(group.events)})
        return
    if group.stale_reason is not None:
        _mark(marks, group.events, IGNORED, group.stale_reason)
        result.ignored += len(group.events)
        return
    assert group.newest is not None
    older = [r for r in group.events if r is not group.newest]
    _mark(marks, [group.newest], APPLIED, None)
    _mark(marks, older, IGNORED, f"superseded by event {group.newest.id}")
    result.applied += 1
    result.ignored += len(older)


def _mark(
    marks: list[dict[str, Any]], rows: Iterable[_Event], status: str, error: str | None
) -> None:
    marks.extend({"eid": r.id, "st": status, "err": error} for r in rows)


def _write_marks(session: Session, marks: list[dict[str, Any]], at: dt.datetime) -> None:
    """Every event's outcome in one executemany (Core: no ORM session to synchronise)."""
    if not marks:
        return
    table = WebhookEventRow.__table__  # type: ignore[attr-defined]
    stmt = (
        update(table)
        .where(table.c.id == bindparam("eid"))
        .values(
            status=bindparam("st"),
            error=bindparam("err"),
            processed_at=at,
            attempts=table.c.attempts + 1,
        )
    )
    session.connection().execute(stmt, marks)


def _kr_numbers(okrs: OkrSet, fmap: FieldMap) -> dict[str, str]:
    """Field names field_sum KRs use -> field ids, as the sync stores them in snapshots."""
    out: dict[str, str] = {}
    for objective in okrs.objectives:
        for kr in objective.key_results:
            if kr.kind == "field_sum" and kr.field:
                out[kr.field] = fmap.resolve(kr.field) or kr.field
    return out


def _with_key(snap: IssueSnapshot, key: str) -> IssueSnapshot:
    from dataclasses import replace

    return replace(snap, key=key)


def _from_ms(value: int | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        return dt.datetime.fromtimestamp(value / 1000, dt.UTC)
    except (OverflowError, OSError, ValueError):
        return None


# --- dead letters and counts ---------------------------------------------------------------------


def dead_letters(*, session: Session, limit: int = 100) -> list[WebhookEventRow]:
    query = (
        select(WebhookEventRow)
        .where(col(WebhookEventRow.status) == FAILED)
        .order_by(col(WebhookEventRow.id))
        .limit(limit)
    )
    return list(session.exec(query))


def retry(*, session: Session, ids: Sequence[int] | None = None) -> int:
    """Put failed events (these ids, or all when None) back in the queue; returns how many."""
    stmt = update(WebhookEventRow).where(col(WebhookEventRow.status) == FAILED)
    if ids is not None:
        stmt = stmt.where(col(WebhookEventRow.id).in_(list(ids)))
    result = session.execute(stmt.values(status=PENDING))
    return int(getattr(result, "rowcount", 0) or 0)


@dataclass(frozen=True)
class InboxStats:
    by_type_status: dict[tuple[str, str], int]
    pending: int
    oldest_pending: dt.datetime | None
    recent_delays: list[float]  # seconds from receipt to applied, latest events first


def inbox_stats(*, session: Session, recent: int = 1000) -> InboxStats:
    """Counts straight from the table, so every gunicorn worker reports the same numbers."""
    counts = session.exec(
        select(WebhookEventRow.event_type, WebhookEventRow.status, func.count()).group_by(
            col(WebhookEventRow.event_type), col(WebhookEventRow.status)
        )
    )
    by: dict[tuple[str, str], int] = {(t, s): int(n) for t, s, n in counts}
    oldest = session.exec(
        select(func.min(WebhookEventRow.received_at)).where(col(WebhookEventRow.status) == PENDING)
    ).one()
    delays_q = (
        select(WebhookEventRow.received_at, WebhookEventRow.processed_at)
        .where(col(WebhookEventRow.status) == APPLIED)
        .order_by(col(WebhookEventRow.id).desc())
        .limit(recent)
    )
    delays = [(p - r).total_seconds() for r, p in session.exec(delays_q) if p is not None]
    if isinstance(oldest, dt.datetime) and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=dt.UTC)
    pending = sum(n for (_, s), n in by.items() if s == PENDING)
    return InboxStats(by, pending, oldest, delays)


def prune_inbox(
    engine: Engine,
    older_than: dt.timedelta,
    *,
    now: dt.datetime | None = None,
    batch_size: int = 2000,
) -> int:
    """Delete applied and ignored events processed more than `older_than` ago; returns how many.

    Pending and failed events (dead letters) are kept. Deletes go in short transactions of
    `batch_size` rows, so receivers never wait long for SQLite's write lock. A job function.
    """
    cutoff = (now or utcnow()) - older_than
    table = WebhookEventRow.__table__  # type: ignore[attr-defined]
    deleted = 0
    for status in (APPLIED, IGNORED):
        while True:
            with engine.begin() as conn:
                ids = list(
                    conn.execute(
                        sa_select(table.c.id)
                        .where(table.c.status == status, table.c.processed_at < cutoff)
                        .order_by(table.c.id)
                        .limit(batch_size)
                    ).scalars()
                )
                if ids:
                    conn.execute(table.delete().where(table.c.id.in_(ids)))
            deleted += len(ids)
            if len(ids) < batch_size:
                break
    if deleted:
        log.info("inbox.pruned", extra={"deleted": deleted})
    return deleted


def wait_until_empty(*, engine: Engine, timeout: float, poll: float = 0.05) -> bool:
    """True once nothing is pending (tests and benchmarks waiting for a worker)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with Session(engine) as session:
            n = session.exec(
                select(func.count()).where(col(WebhookEventRow.status) == PENDING)
            ).one()
        if n == 0:
            return True
        time.sleep(poll)
    return False


__all__ = [
    "APPLIED",
    "FAILED",
    "IGNORED",
    "PENDING",
    "ApplyChanges",
    "BatchResult",
    "InboxStats",
    "dead_letters",
    "drain",
    "inbox_stats",
    "process_batch",
    "prune_inbox",
    "retry",
    "run_worker",
    "store_event",
    "wait_until_empty",
]
