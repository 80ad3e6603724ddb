"""The APScheduler 3.x scheduler: builds the jobs, runs them only while this process leads.

Every job is coalesced, never overlaps itself (max_instances=1), and has a misfire grace time. A job
whose last run is older than its interval (the process was down) runs once at start-up, not once
per missed interval.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from okr_jira.runtime import jobs
from okr_jira.runtime.leader import Leadership
from okr_jira.runtime.wiring import Wiring

log = logging.getLogger(__name__)

JobFn = Callable[[Wiring], Any]


def job_table(wiring: Wiring) -> list[tuple[str, JobFn, Any, dt.timedelta]]:
    """(id, function, trigger, nominal interval) of every scheduled job."""
    s = wiring.settings
    jira = s.jira_url is not None
    confluence = s.confluence_url is not None
    inbox = s.inbox_interval_seconds
    table: list[tuple[str, JobFn, Any, dt.timedelta]] = [
        ("process_inbox", jobs.process_inbox,
         IntervalTrigger(seconds=inbox), dt.timedelta(seconds=inbox)),
        ("daily_snapshot", jobs.daily_snapshot,
         CronTrigger(hour=0, minute=30, timezone="UTC"), dt.timedelta(days=1)),
        ("weekly_checkin", jobs.weekly_checkin,
         CronTrigger(day_of_week="mon", hour=6, timezone="UTC"), dt.timedelta(days=7)),
        ("prune_inbox", jobs.prune_inbox,
         CronTrigger(hour=3, minute=30, timezone="UTC"), dt.timedelta(days=1)),
        ("end_of_cycle_review", jobs.end_of_cycle_review,
         CronTrigger(hour=1, minute=0, timezone="UTC"), dt.timedelta(days=1)),
        # Weekly messages: the job itself checks that this week's moment has come, so a catch-up
        # after downtime sends this week's once, and never last week's.
        ("weekly_digest", jobs.weekly_digest,
         CronTrigger(day_of_week=s.digest_weekday, hour=s.notify_hour, timezone="UTC"),
         dt.timedelta(days=7)),
        ("checkin_reminder", jobs.checkin_reminder,
         CronTrigger(day_of_week=s.reminder_weekday, hour=s.notify_hour, timezone="UTC"),
         dt.timedelta(days=7)),
        ("deliver_notifications", jobs.deliver_notifications,
         IntervalTrigger(seconds=60), dt.timedelta(seconds=60)),
        # Sync and publish asked for over the API: polled as often as the inbox.
        ("queued_jobs", jobs.run_queued,
         IntervalTrigger(seconds=inbox), dt.timedelta(seconds=inbox)),
    ]  # fmt: skip
    if s.okr_file:
        minutes = s.sync_interval_minutes
        table.append(
            ("apply_okr_file", jobs.apply_okr_file,
             IntervalTrigger(minutes=minutes), dt.timedelta(minutes=minutes))
        )  # fmt: skip
    if jira:
        minutes = s.sync_interval_minutes
        table += [
            ("incremental_sync", jobs.incremental_sync,
             IntervalTrigger(minutes=minutes), dt.timedelta(minutes=minutes)),
            ("full_sync", jobs.full_sync,
             CronTrigger(hour=s.full_sync_hour, timezone="UTC"), dt.timedelta(days=1)),
            # The webhook's JQL filter follows the mapped projects (one or two GETs an hour).
            ("webhook_filter", jobs.webhook_filter,
             IntervalTrigger(hours=1), dt.timedelta(hours=1)),
        ]  # fmt: skip
    if confluence:
        # A cheap check of the publish request: often, so a change waits little past its window.
        every = max(1.0, min(5.0, s.publish_debounce_seconds / 4))
        table.append(
            ("publish", jobs.publish, IntervalTrigger(seconds=every), dt.timedelta(seconds=every))
        )
    if jira and s.jira_remote_links:
        # Links follow the pages, so they need not be sooner than about half a window.
        every = max(5.0, min(60.0, s.publish_debounce_seconds / 2 or 5.0))
        table.append(
            ("remote_links", jobs.remote_links,
             IntervalTrigger(seconds=every), dt.timedelta(seconds=every))
        )  # fmt: skip
    return table


class LeaderGate:
    """Runs a job only while this process is the leader."""

    def __init__(self, leadership: Leadership) -> None:
        self.leadership = leadership

    def wrap(self, job_id: str, fn: JobFn, wiring: Wiring) -> Callable[[], None]:
        def run() -> None:
            if not self.leadership.is_leader:
                return
            log.info("job.start", extra={"job": job_id})
            fn(wiring)

        run.__name__ = f"okr_jira_{job_id}"
        return run


def build_scheduler(
    scheduler: BaseScheduler,
    wiring: Wiring,
    leadership: Leadership,
    *,
    election_seconds: float = 5.0,
    include_inbox: bool = True,
) -> BaseScheduler:
    """Add the jobs and the leader election to `scheduler` (Blocking- or BackgroundScheduler)."""
    gate = LeaderGate(leadership)
    now = wiring.clock()
    defaults = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 300}

    # Whether this process has caught up since it last became leader. Not `is_leader` before the
    # check: `run` and `scheduler` take the leadership before the first election runs.
    caught_up = False

    def elect() -> None:
        nonlocal caught_up
        try:
            leadership.try_acquire()
        except Exception as exc:  # a database hiccup must not kill the scheduler
            log.warning("leader.check_failed", extra={"error": type(exc).__name__})
            leadership.is_leader = False
        if not leadership.is_leader:
            caught_up = False
        elif not caught_up:
            caught_up = True
            jobs.fail_interrupted_jobs(wiring)
            catch_up(scheduler, wiring)

    scheduler.add_job(elect, IntervalTrigger(seconds=election_seconds), id="leader_election",
                      next_run_time=now, **defaults)  # fmt: skip
    for job_id, fn, trigger, _interval in job_table(wiring):
        if job_id == "process_inbox" and not include_inbox:
            continue  # `run` drains the inbox on its own worker thread
        scheduler.add_job(gate.wrap(job_id, fn, wiring), trigger, id=job_id, **defaults)

    failures: dict[str, int] = {}

    def on_done(event: JobExecutionEvent) -> None:
        if event.exception is None:
            failures.pop(event.job_id, None)
            return
        log.error("job.failed", extra={"job": event.job_id, "error": repr(event.exception)[:300]})
        if event.job_id in _RETRIED:
            failures[event.job_id] = attempt = failures.get(event.job_id, 0) + 1
            retry_soon(scheduler, event.job_id, attempt, wiring.clock())

    scheduler.add_listener(on_done, EVENT_JOB_ERROR | EVENT_JOB_EXECUTED)
    return scheduler


# A sync that failed (Jira down at start-up, a network blip) is tried again with backoff instead
# of waiting a whole interval: 30 s, 1, 2, 4 ... minutes, never later than its next regular run.
_RETRIED = ("incremental_sync", "full_sync")
_RETRY_FIRST = dt.timedelta(seconds=30)
_RETRY_MAX = dt.timedelta(minutes=10)


def retry_soon(scheduler: BaseScheduler, job_id: str, attempt: int, now: dt.datetime) -> None:
    job = scheduler.get_job(job_id)
    if job is None or job.next_run_time is None:
        return
    wait = min(_RETRY_FIRST * 2 ** min(attempt - 1, 10), _RETRY_MAX)
    if now + wait < job.next_run_time:
        job.modify(next_run_time=now + wait)
        log.warning(
            "job.retry",
            extra={"job": job_id, "attempt": attempt, "wait_seconds": wait.total_seconds()},
        )


# Run at once by a new leader whatever their last run: webhooks Jira gave up on while no scheduler
# led (okr-jira down, a deploy) are repaired within seconds, not at the next interval.
_ON_LEADING = ("incremental_sync",)
_SOON = dt.timedelta(seconds=1)


def catch_up(scheduler: BaseScheduler, wiring: Wiring) -> list[str]:
    """On becoming leader: the incremental sync runs now, and every job whose last run is older
    than its interval runs once, now (not once per missed interval)."""
    due = []
    now = wiring.clock()
    for job_id, _fn, _trigger, interval in job_table(wiring):
        if job_id in _ON_LEADING:
            last = None
        elif interval < dt.timedelta(hours=1):
            continue  # frequent jobs catch up by themselves
        else:
            last = jobs.last_run(wiring, job_id)
        if last is None or now - last >= interval:
            job = scheduler.get_job(job_id)
            if job is not None:
                job.modify(next_run_time=now)
                due.append(job_id)
    if "full_sync" in due and "incremental_sync" in due:
        # The full sync reads everything the incremental one would.
        due.remove("incremental_sync")
        job = scheduler.get_job("incremental_sync")
        if job is not None:
            job.modify(next_run_time=job.trigger.get_next_fire_time(None, now + _SOON))
    if due:
        log.info("scheduler.catch_up", extra={"jobs": due})
    return due
