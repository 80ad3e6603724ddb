"""Scheduler job functions: module-level, explicit ids, each one whole unit of work.

Each takes a `Services` (settings, engine, adapters built once per process) so the scheduler, the
single-node `run` and tests call the same code.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from okr_jira.evaluate import evaluate_cycle, record_report
from okr_jira.settings import Settings
from okr_jira.storage import repo
from okr_jira.storage.db import session_scope
from okr_jira.storage.tables import utcnow

log = logging.getLogger(__name__)

PUBLISH_REQUESTED = "publish.requested"  # first change not yet published
PUBLISH_LAST_CHANGE = "publish.last_change"
LAST_RUN = "job.last_run."


@dataclass
class Services:
    settings: Settings
    engine: Engine
    clock: Callable[[], dt.datetime] = utcnow
    _cache: dict[str, Any] = field(default_factory=dict)

    def jira(self) -> Any:
        if "jira" not in self._cache:
            from okr_jira.factory import make_jira

            self._cache["jira"] = make_jira(self.settings)
        return self._cache["jira"]


def mark_ran(services: Services, job_id: str) -> None:
    with session_scope(services.engine) as session:
        repo.set_state(session=session, name=LAST_RUN + job_id, value=services.clock().isoformat())


def last_run(services: Services, job_id: str) -> dt.datetime | None:
    with session_scope(services.engine) as session:
        raw = repo.get_state(session=session, name=LAST_RUN + job_id)
    return dt.datetime.fromisoformat(raw) if raw else None


def request_publish(services: Services) -> None:
    """Note that progress changed; the publish job publishes once the changes settle."""
    now = services.clock().isoformat()
    with session_scope(services.engine) as session:
        if not repo.get_state(session=session, name=PUBLISH_REQUESTED):
            repo.set_state(session=session, name=PUBLISH_REQUESTED, value=now)
        repo.set_state(session=session, name=PUBLISH_LAST_CHANGE, value=now)


def publish_due(services: Services) -> bool:
    """Debounce: publish when no change came for the window, or the oldest change waited 10x it."""
    with session_scope(services.engine) as session:
        first = repo.get_state(session=session, name=PUBLISH_REQUESTED)
        last = repo.get_state(session=session, name=PUBLISH_LAST_CHANGE)
    if not first or not last:
        return False
    window = dt.timedelta(seconds=services.settings.publish_debounce_seconds)
    now = services.clock()
    return (
        now - dt.datetime.fromisoformat(last) >= window
        or now - dt.datetime.fromisoformat(first) >= 10 * window
    )


def apply_okr_file(services: Services) -> bool:
    """Apply OKR_JIRA_OKR_FILE (OKRs as code, deployed with the service); True when it changed
    something. An invalid file is logged with every problem and changes nothing."""
    from okr_jira.apply import apply_plan, make_plan
    from okr_jira.errors import OkrFileError
    from okr_jira.okrfile import load_okr_file

    path = services.settings.okr_file
    if not path:
        return False
    try:
        okrs = load_okr_file(path)
    except OkrFileError as exc:
        log.error(
            "okrfile.invalid", extra={"file": path, "problems": [str(p) for p in exc.problems]}
        )
        return False
    with session_scope(services.engine) as session:
        plan = make_plan(session, okrs)
        if plan.empty:
            return False
        apply_plan(session, plan, actor=f"okr-file:{path}")
    log.info("okrfile.applied", extra={"file": path, "changes": len(plan.changes)})
    request_publish(services)
    return True


def incremental_sync(services: Services) -> None:
    from okr_jira.sync import Syncer

    summary = Syncer(services.engine, services.jira(), clock=services.clock).incremental()
    if summary.krs_changed:
        request_publish(services)
    mark_ran(services, "incremental_sync")


def full_sync(services: Services) -> None:
    from okr_jira.sync import Syncer

    Syncer(services.engine, services.jira(), clock=services.clock).full()
    request_publish(services)
    mark_ran(services, "full_sync")


def process_inbox(services: Services) -> None:
    from okr_jira.inbox import drain

    result = drain(engine=services.engine)
    if result.applied:
        request_publish(services)


def prune_inbox(services: Services) -> int:
    """Delete applied and ignored webhook events past the retention; pending and failed stay."""
    from okr_jira.inbox import prune_inbox as prune

    days = services.settings.inbox_retention_days
    removed = prune(services.engine, dt.timedelta(days=days), now=services.clock())
    mark_ran(services, "prune_inbox")
    return removed


def publish(services: Services, *, publisher: Callable[[Services], None] | None = None) -> bool:
    """Publish if the debounce window has passed; returns whether it published."""
    if not publish_due(services):
        return False
    if publisher is None:
        from okr_jira.publish import publish_all

        def publisher(s: Services) -> None:
            publish_all(settings=s.settings, engine=s.engine)

    with session_scope(services.engine) as session:
        started = repo.get_state(session=session, name=PUBLISH_LAST_CHANGE)
    publisher(services)
    with session_scope(services.engine) as session:
        # A change that arrived while publishing keeps the request open.
        if repo.get_state(session=session, name=PUBLISH_LAST_CHANGE) == started:
            repo.set_state(session=session, name=PUBLISH_REQUESTED, value="")
            repo.set_state(session=session, name=PUBLISH_LAST_CHANGE, value="")
    mark_ran(services, "publish")
    return True


def progress_snapshot(services: Services, *, reason: str = "daily") -> int:
    """A snapshot of every running cycle's progress (the time series charts are drawn from)."""
    now = services.clock()
    written = 0
    with session_scope(services.engine) as session:
        okrs = repo.load_okrs(session=session)
        for cycle in okrs.cycles:
            if cycle.start <= now.date() <= cycle.end:
                report = evaluate_cycle(session=session, cycle=cycle.key, now=now)
                written += record_report(session=session, report=report, reason=reason)
    mark_ran(services, f"{reason}_snapshot")
    return written


def daily_snapshot(services: Services) -> None:
    progress_snapshot(services, reason="daily")


def weekly_checkin(services: Services) -> None:
    progress_snapshot(services, reason="weekly")


def end_of_cycle_review(services: Services) -> list[str]:
    """Freeze the final scores of cycles that ended, and publish their review pages."""
    from okr_jira.review import freeze_ended_cycles

    frozen = freeze_ended_cycles(engine=services.engine, now=services.clock())
    if frozen:
        request_publish(services)
    mark_ran(services, "end_of_cycle_review")
    return frozen
