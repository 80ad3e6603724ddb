"""The inbox worker: claims pending events in id order, keeps the newest state of each issue, and
applies the batch with its events' outcomes in the same transaction, so a crash at any point
leaves them pending and every stored event is applied exactly once in effect.

What a worker needs beyond the database (the site's field ids, Jira for JQL only Jira answers, the
pace thresholds) comes in `WorkerOptions`, which the runtime wiring builds: every process layout
(`run`, `worker`, the scheduler's inbox job, the demo) applies events the same way.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from okr_jira.adapters.jira_fields import FieldMap
from okr_jira.domain.matching import KrMatcher, RemoteMatch
from okr_jira.domain.models import PaceThresholds
from okr_jira.inbox.apply import ApplyChanges, BatchResult, apply_part
from okr_jira.inbox.plan import RemoteFor, plan_batch
from okr_jira.scope.changes import apply_issue_changes
from okr_jira.storage.db import is_sqlite
from okr_jira.storage.inbox import claim, pending_count
from okr_jira.storage.tables import utcnow

log = logging.getLogger(__name__)


def _stored_fields() -> FieldMap | None:
    return None


def _no_remote(_matchers: Sequence[KrMatcher]) -> RemoteMatch | None:
    return None


@dataclass(frozen=True)
class WorkerOptions:
    """How to apply events; built by okr_jira.runtime.wiring from the settings."""

    thresholds: PaceThresholds
    # The site's field ids (the Jira adapter's), or None: as the last sync stored them.
    fields: Callable[[], FieldMap | None] = _stored_fields
    # For the KRs of a batch, how to ask Jira about JQL only it answers (None: nobody to ask).
    remote: RemoteFor = _no_remote
    apply: ApplyChanges = apply_issue_changes
    # Told after a batch that moved some KR's progress (the wiring asks for a publish).
    on_progress: Callable[[], None] | None = None
    batch_size: int = 1000
    collect_seconds: float = 0.3
    max_idle_seconds: float = 2.0
    chunk_issues: int = 24  # issues per write transaction on SQLite


def process_batch(
    *,
    engine: Engine,
    options: WorkerOptions,
    limit: int | None = None,
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
    with Session(engine, expire_on_commit=False) as session:
        try:
            rows = claim(session=session, limit=limit or options.batch_size)
            result = BatchResult(claimed=len(rows))
            if rows:
                plan = plan_batch(session, rows, options.fields(), options.remote, now or utcnow())
                parts = plan.parts(chunk_issues if is_sqlite(engine) else None)
                held = 0.0
                for n, (links, groups) in enumerate(parts):
                    if n and between_chunks is not None:
                        between_chunks(held)
                    started = time.monotonic()
                    apply_part(
                        session, plan, links, groups, result, options.apply, options.thresholds
                    )
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
    if result.krs and options.on_progress is not None:
        options.on_progress()
    return result


def drain(
    *,
    engine: Engine,
    options: WorkerOptions,
    now: dt.datetime | None = None,
    chunk_issues: int | None = None,
) -> BatchResult:
    """Apply batches until the inbox has nothing pending (the scheduler's job, the CLI, tests)."""
    total = BatchResult()
    while True:
        result = process_batch(engine=engine, options=options, now=now, chunk_issues=chunk_issues)
        total.add(result)
        if result.claimed == 0:
            return total


def run_worker(*, engine: Engine, options: WorkerOptions, stop: threading.Event) -> BatchResult:
    """Apply events until `stop` is set.

    After a batch the worker lets events collect for `collect_seconds` before the next one. Each
    batch has a fixed cost (loading the OKRs, recomputing each affected KR from all its issues)
    and later events of an issue supersede earlier ones, so fewer, larger batches cost less CPU per
    event and leave the cores to the receivers. An event thus waits about `collect_seconds` plus
    one batch. On PostgreSQL a full batch (a backlog) is followed at once. On SQLite a batch is
    written `chunk_issues` issues per transaction, and the write lock is left free between two
    at least as long as the last one held it, so a receiver waits one short chunk at most; after
    the batch, `collect_seconds` again. An empty inbox is polled less and less often, up to
    `max_idle_seconds`. A database error keeps the batch pending and is retried after a pause."""
    total = BatchResult()
    collect = options.collect_seconds
    idle = collect
    single_writer = is_sqlite(engine)

    def share_lock(held: float) -> None:
        stop.wait(max(held, 0.002))

    while not stop.is_set():
        try:
            result = process_batch(
                engine=engine, options=options, chunk_issues=options.chunk_issues,
                between_chunks=share_lock,
            )  # fmt: skip
        except OperationalError as exc:
            log.warning("inbox.database_error", extra={"error": type(exc.orig).__name__})
            stop.wait(options.max_idle_seconds)
            continue
        total.add(result)
        if single_writer and result.claimed:
            # SQLite has one write lock: whatever the backlog, pause so that acknowledging
            # never waits long on applying.
            idle = collect
            stop.wait(collect)
        elif result.claimed >= options.batch_size:
            idle = collect  # a backlog: go on
        elif result.claimed:
            idle = collect
            stop.wait(collect)
        else:
            stop.wait(idle)
            idle = min(idle * 2, max(options.max_idle_seconds, collect))
    return total


def wait_until_empty(*, engine: Engine, timeout: float, poll: float = 0.05) -> bool:
    """True once nothing is pending (tests, benchmarks and the demo waiting for a worker)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with Session(engine) as session:
            if pending_count(session=session) == 0:
                return True
        time.sleep(poll)
    return False
