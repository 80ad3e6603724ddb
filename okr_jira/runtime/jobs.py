"""Scheduler job functions: module-level, explicit ids, each one whole unit of work.

Each takes the process's `Wiring` (settings, engine, adapters built once per process), so the
scheduler, the single-node `run` and tests call the same code.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable
from typing import Any

from okr_jira.errors import OkrFileError
from okr_jira.inbox.worker import drain
from okr_jira.notify import DeliveryResult, deliver, due_this_week, enqueue_digests
from okr_jira.notify import enqueue_reminders as enqueue_checkin_reminders
from okr_jira.okrs.file import load_okr_document
from okr_jira.okrs.lint import describe, lint_document
from okr_jira.okrs.plan import apply_plan, make_plan
from okr_jira.publish import debounce, publish_running_cycles
from okr_jira.report.evaluate import evaluate_cycle
from okr_jira.report.record import record_report
from okr_jira.report.review import freeze_ended_cycles
from okr_jira.runtime.wiring import Wiring
from okr_jira.storage import inbox, queue, state
from okr_jira.storage.db import session_scope
from okr_jira.storage.okrs import load_okrs
from okr_jira.sync.golden_thread import request_remote_links

log = logging.getLogger(__name__)


def mark_ran(wiring: Wiring, job_id: str) -> None:
    with session_scope(wiring.engine) as session:
        state.job_last_run(job_id).set(wiring.clock(), session=session)


def last_run(wiring: Wiring, job_id: str) -> dt.datetime | None:
    with session_scope(wiring.engine) as session:
        return state.job_last_run(job_id).get(session=session)


def request_publish(wiring: Wiring, *, links: bool = True) -> None:
    """Note that progress changed; the publish job publishes once the window has passed. `links`:
    the scope or the OKRs may have changed too, so Jira's remote links are checked as well."""
    wiring.request_publish(links=links)


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
    window = dt.timedelta(seconds=wiring.settings.publish_debounce_seconds)
    return debounce.publish_due(wiring.engine, now=wiring.clock(), window=window)


def apply_okr_file(wiring: Wiring) -> bool:
    """Apply OKR_JIRA_OKR_FILE (OKRs as code, deployed with the service); True when it changed
    something. An invalid file is logged with every problem and changes nothing."""
    path = wiring.settings.okr_file
    if not path:
        return False
    try:
        document = load_okr_document(path)
    except OkrFileError as exc:
        log.error(
            "okrfile.invalid", extra={"file": path, "problems": [str(p) for p in exc.problems]}
        )
        return False
    with session_scope(wiring.engine) as session:
        plan = make_plan(session, document.okrs)
        if plan.empty:
            return False
        if plan.removes_every_objective:
            # Nobody is there to confirm: an unattended apply never empties the tree.
            session.rollback()
            log.error(
                "okrfile.refused",
                extra={
                    "file": path,
                    "reason": "the file would archive every objective and keep none; apply it "
                    "with `okr-jira apply FILE --yes` if that is intended",
                    "objectives": plan.live_objectives,
                },
            )
            return False
        apply_plan(session, plan, actor=f"okr-file:{path}")
    log.info("okrfile.applied", extra={"file": path, "changes": len(plan.changes)})
    findings = lint_document(document)
    if findings:
        # Said once per change of the file, not at every interval.
        log.warning(
            "okrfile.lint", extra={"file": path, "problems": [describe(path, p) for p in findings]}
        )
    request_publish(wiring)
    return True


def incremental_sync(wiring: Wiring) -> None:
    with wiring.sync_lock:  # never beside the full sync: both write every KR's scope
        summary = wiring.syncer().incremental()
    if summary.krs_changed:
        request_publish(wiring)
    mark_ran(wiring, "incremental_sync")


def webhook_filter(wiring: Wiring) -> str | None:
    """Keep okr-jira's webhook in Jira filtered to the projects the OKRs map now (an apply or
    the OKR file may have changed them) and a dynamic one from expiring; never registers one.
    What it did, or None (nothing to do, or Jira would not say: logged)."""
    from okr_jira.adapters.webhook_registration import Registrar, RegistrationError, jql_filter
    from okr_jira.domain.selectors import mapped_projects

    with session_scope(wiring.engine) as session:
        jql = jql_filter(mapped_projects(load_okrs(session=session)))
    secret = wiring.settings.webhook_secret
    try:
        outcome = Registrar(wiring.jira()).keep_current(
            jql=jql, secret=secret.get_secret_value() if secret else None
        )
    except RegistrationError as exc:
        log.info("webhook.upkeep.skipped %s", exc, extra={"reason": str(exc)})
        return None
    mark_ran(wiring, "webhook_filter")
    if outcome is None:
        return None
    level = logging.INFO if outcome.registered else logging.WARNING
    log.log(level, "webhook.upkeep %s", outcome.message, extra={"outcome": outcome.message})
    return outcome.message


def full_sync(wiring: Wiring) -> None:
    with wiring.sync_lock:
        wiring.syncer().full()
    request_publish(wiring)
    mark_ran(wiring, "full_sync")


def process_inbox(wiring: Wiring) -> None:
    # The worker options ask for a publish (and remote links) when a batch moves some KR, as in
    # every layout; an event okr-jira's own link write caused moves none (only `updated`).
    drain(engine=wiring.engine, options=wiring.worker_options())


def prune_inbox(wiring: Wiring) -> int:
    """Delete applied and ignored webhook events past the retention; pending and failed stay."""
    days = wiring.settings.inbox_retention_days
    removed = inbox.prune(engine=wiring.engine, cutoff=wiring.clock() - dt.timedelta(days=days))
    if removed:
        log.info("inbox.pruned", extra={"deleted": removed})
    mark_ran(wiring, "prune_inbox")
    return removed


def publish(wiring: Wiring, *, publisher: Callable[[Wiring], object] | None = None) -> bool:
    """Publish if the oldest unpublished change has waited the window; returns whether it did."""
    if not publish_due(wiring):
        return False
    started_at = wiring.clock()
    last = debounce.last_change(wiring.engine)
    if publisher is None:
        publish_running_cycles(wiring.publisher())
    else:
        publisher(wiring)
    debounce.published(wiring.engine, started_at=started_at, last_change_then=last)
    if wiring.settings.jira_remote_links:  # pages may have new ids for the links to point at
        request_remote_links(wiring.engine, now=wiring.clock())
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


def weekly_digest(wiring: Wiring) -> int:
    """This week's digests, once the configured weekday and hour have come (a run after downtime
    still sends this week's; dedupe makes every further run a no-op). Returns messages queued."""
    s, now = wiring.settings, wiring.clock()
    if not due_this_week(now, s.digest_weekday, s.notify_hour):
        return 0
    queued = enqueue_digests(
        wiring.engine, now=now, thresholds=wiring.thresholds, page_url=wiring.page_url()
    )
    mark_ran(wiring, "weekly_digest")
    deliver_notifications(wiring)
    return sum(p.new for p in queued.planned)


def checkin_reminder(wiring: Wiring) -> int:
    """Remind teams with no check-in this week, from the configured weekday and hour on."""
    s, now = wiring.settings, wiring.clock()
    if not due_this_week(now, s.reminder_weekday, s.notify_hour):
        return 0
    queued = enqueue_checkin_reminders(
        wiring.engine, now=now, thresholds=wiring.thresholds, page_url=wiring.page_url()
    )
    mark_ran(wiring, "checkin_reminder")
    deliver_notifications(wiring)
    return sum(p.new for p in queued.planned)


def deliver_notifications(wiring: Wiring) -> DeliveryResult:
    """Send what the outbox holds that is due (first tries and retries). Its own job: a slow or
    dead channel never holds up sync or publishing."""
    return deliver(wiring.engine, wiring.resolver, clock=wiring.clock)


# --- jobs queued over the API (POST /api/v1/sync, /api/v1/publish) ------------------------------

QUEUED_KINDS = ("sync", "publish")


def queue_job(wiring: Wiring, kind: str, params: dict[str, Any], *, actor: str) -> int:
    """Queue `kind` for the scheduler's leader; the job's id to poll."""
    if kind not in QUEUED_KINDS:
        raise ValueError(f"unknown job kind {kind!r}")
    with session_scope(wiring.engine) as session:
        row = queue.enqueue(
            session=session, kind=kind, params=params, requested_by=actor, at=wiring.clock()
        )
        assert row.id is not None
        return row.id


def run_queued(wiring: Wiring) -> int:
    """Run every queued job, oldest first; each ends done or failed with what it printed."""
    ran = 0
    while True:
        with session_scope(wiring.engine) as session:
            job = queue.claim_next(session=session, at=wiring.clock())
        if job is None:
            return ran
        assert job.id is not None
        log.info("queued_job.start", extra={"job": job.id, "kind": job.kind})
        try:
            message = _run_one(wiring, job.kind, json.loads(job.params or "{}"))
            status = queue.DONE
        except Exception as exc:  # the job fails, the scheduler goes on
            log.warning("queued_job.failed", extra={"job": job.id, "error": type(exc).__name__})
            status, message = queue.FAILED, str(exc)[:2000] or type(exc).__name__
        with session_scope(wiring.engine) as session:
            queue.finish(
                session=session, job_id=job.id, status=status, message=message,
                at=wiring.clock(),
            )  # fmt: skip
        ran += 1


def _run_one(wiring: Wiring, kind: str, params: dict[str, Any]) -> str:
    if kind == "sync":
        syncer = wiring.syncer()
        summary = syncer.full() if params.get("full") else syncer.incremental()
        if summary.krs_changed or params.get("full"):
            request_publish(wiring)
        return "\n".join(summary.lines())
    summaries = publish_running_cycles(wiring.publisher())
    return "\n".join(line for s in summaries for line in s.lines())


def fail_interrupted_jobs(wiring: Wiring) -> int:
    """On taking the leadership: jobs a dead leader left running are marked failed."""
    with session_scope(wiring.engine) as session:
        return queue.fail_interrupted(session=session, at=wiring.clock())
