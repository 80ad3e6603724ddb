"""Scheduler job functions: module-level, explicit ids, each one whole unit of work.

Each takes the process's `Wiring` (settings, engine, adapters built once per process), so the
scheduler, the single-node `run` and tests call the same code.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from okr_jira.errors import OkrFileError
from okr_jira.inbox.worker import drain
from okr_jira.okrs.file import load_okr_file
from okr_jira.okrs.plan import apply_plan, make_plan
from okr_jira.publish import publish_running_cycles
from okr_jira.report.evaluate import evaluate_cycle
from okr_jira.report.record import record_report
from okr_jira.report.review import freeze_ended_cycles
from okr_jira.runtime.wiring import Wiring
from okr_jira.storage import inbox, state
from okr_jira.storage.db import session_scope
from okr_jira.storage.okrs import load_okrs

log = logging.getLogger(__name__)


def mark_ran(wiring: Wiring, job_id: str) -> None:
    with session_scope(wiring.engine) as session:
        state.job_last_run(job_id).set(wiring.clock(), session=session)


def last_run(wiring: Wiring, job_id: str) -> dt.datetime | None:
    with session_scope(wiring.engine) as session:
        return state.job_last_run(job_id).get(session=session)


def request_publish(wiring: Wiring, *, links: bool = True) -> None:
    """Note that progress changed; the publish job publishes once the changes settle. `links`:
    the scope or the OKRs may have changed too, so Jira's remote links are checked as well."""
    now = wiring.clock()
    with session_scope(wiring.engine) as session:
        if not state.PUBLISH_REQUESTED.get(session=session):
            state.PUBLISH_REQUESTED.set(now, session=session)
        state.PUBLISH_LAST_CHANGE.set(now, session=session)
        if links and wiring.settings.jira_remote_links:
            state.REMOTE_LINKS_REQUESTED.set(now, session=session)


def remote_links(wiring: Wiring) -> bool:
    """Bring Jira's remote links in step with the scope when something asked for it (a sync, a
    webhook that changed a KR, a publish, an OKR file applied), and at least every sync
    interval; returns whether it ran. A run with nothing to change sends no request."""
    if not wiring.settings.jira_remote_links:
        return False
    with session_scope(wiring.engine) as session:
        requested = state.REMOTE_LINKS_REQUESTED.get(session=session)
    last = last_run(wiring, "remote_links")
    every = dt.timedelta(minutes=wiring.settings.sync_interval_minutes)
    if requested is None and last is not None and wiring.clock() - last < every:
        return False
    wiring.sync_remote_links()
    with session_scope(wiring.engine) as session:
        # A request that came while the links were written stays for the next run.
        if state.REMOTE_LINKS_REQUESTED.get(session=session) == requested:
            state.REMOTE_LINKS_REQUESTED.set(None, session=session)
    mark_ran(wiring, "remote_links")
    return True


def publish_due(wiring: Wiring) -> bool:
    """Debounce: publish when no change came for the window, or the oldest change waited 10x it."""
    with session_scope(wiring.engine) as session:
        first = state.PUBLISH_REQUESTED.get(session=session)
        last = state.PUBLISH_LAST_CHANGE.get(session=session)
    if not first or not last:
        return False
    window = dt.timedelta(seconds=wiring.settings.publish_debounce_seconds)
    now = wiring.clock()
    return now - last >= window or now - first >= 10 * window


def apply_okr_file(wiring: Wiring) -> bool:
    """Apply OKR_JIRA_OKR_FILE (OKRs as code, deployed with the service); True when it changed
    something. An invalid file is logged with every problem and changes nothing."""
    path = wiring.settings.okr_file
    if not path:
        return False
    try:
        okrs = load_okr_file(path)
    except OkrFileError as exc:
        log.error(
            "okrfile.invalid", extra={"file": path, "problems": [str(p) for p in exc.problems]}
        )
        return False
    with session_scope(wiring.engine) as session:
        plan = make_plan(session, okrs)
        if plan.empty:
            return False
        apply_plan(session, plan, actor=f"okr-file:{path}")
    log.info("okrfile.applied", extra={"file": path, "changes": len(plan.changes)})
    request_publish(wiring)
    return True


def incremental_sync(wiring: Wiring) -> None:
    summary = wiring.syncer().incremental()
    if summary.krs_changed:
        request_publish(wiring)
    mark_ran(wiring, "incremental_sync")


def full_sync(wiring: Wiring) -> None:
    wiring.syncer().full()
    request_publish(wiring)
    mark_ran(wiring, "full_sync")


def process_inbox(wiring: Wiring) -> None:
    result = drain(engine=wiring.engine, options=wiring.worker_options())
    if result.applied:
        # Only a change of some KR can change a remote link: an event okr-jira's own link
        # write caused changes none (it only moves the issue's `updated`).
        request_publish(wiring, links=bool(result.krs))


def prune_inbox(wiring: Wiring) -> int:
    """Delete applied and ignored webhook events past the retention; pending and failed stay."""
    days = wiring.settings.inbox_retention_days
    removed = inbox.prune(engine=wiring.engine, cutoff=wiring.clock() - dt.timedelta(days=days))
    if removed:
        log.info("inbox.pruned", extra={"deleted": removed})
    mark_ran(wiring, "prune_inbox")
    return removed


def publish(wiring: Wiring, *, publisher: Callable[[Wiring], object] | None = None) -> bool:
    """Publish if the debounce window has passed; returns whether it published."""
    if not publish_due(wiring):
        return False
    with session_scope(wiring.engine) as session:
        started = state.PUBLISH_LAST_CHANGE.get(session=session)
    if publisher is None:
        publish_running_cycles(wiring.publisher())
    else:
        publisher(wiring)
    with session_scope(wiring.engine) as session:
        # A change that arrived while publishing keeps the request open.
        if state.PUBLISH_LAST_CHANGE.get(session=session) == started:
            state.PUBLISH_REQUESTED.set(None, session=session)
            state.PUBLISH_LAST_CHANGE.set(None, session=session)
    if wiring.settings.jira_remote_links:
        with session_scope(wiring.engine) as session:  # pages may have new ids
            state.REMOTE_LINKS_REQUESTED.set(wiring.clock(), session=session)
    mark_ran(wiring, "publish")
    return True


def progress_snapshot(wiring: Wiring, *, reason: str = "daily") -> int:
    """A snapshot of every running cycle's progress (the time series charts are drawn from)."""
    now = wiring.clock()
    written = 0
    with session_scope(wiring.engine) as session:
        for cycle in load_okrs(session=session).cycles:
            if cycle.start <= now.date() <= cycle.end:
                report = evaluate_cycle(
                    session=session, cycle=cycle.key, now=now, thresholds=wiring.thresholds
                )
                written += record_report(session=session, report=report, reason=reason)
    mark_ran(wiring, f"{reason}_snapshot")
    return written


def daily_snapshot(wiring: Wiring) -> None:
    progress_snapshot(wiring, reason="daily")


def weekly_checkin(wiring: Wiring) -> None:
    progress_snapshot(wiring, reason="weekly")


def end_of_cycle_review(wiring: Wiring) -> list[str]:
    """Freeze the final scores of cycles that ended, and publish their review pages."""
    frozen = freeze_ended_cycles(
        engine=wiring.engine, now=wiring.clock(), thresholds=wiring.thresholds
    )
    if frozen:
        request_publish(wiring)
    mark_ran(wiring, "end_of_cycle_review")
    return frozen
