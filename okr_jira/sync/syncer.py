"""Jira -> storage: make every KR's scope and progress true to Jira.

Full sync (sync/full.py) asks Jira once for the union of all KR queries, so each issue is read once
in as few pages as Jira allows, and rebuilds the links and progress in one transaction.
Incremental sync (sync/incremental.py) reads what changed since a watermark. A sync killed
half-way leaves the links and the watermark as they were, and the next sync finishes the job.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine

from okr_jira.adapters.jira import JiraAdapter
from okr_jira.domain.health import GuardrailThresholds
from okr_jira.domain.models import PaceThresholds
from okr_jira.report.evaluate import KR_CHUNK
from okr_jira.report.health import refresh_open_cycles
from okr_jira.storage import state
from okr_jira.storage.db import session_scope
from okr_jira.storage.tables import utcnow
from okr_jira.sync.summary import Progress, SyncSummary

log = logging.getLogger(__name__)


@dataclass
class Syncer:
    """Runs syncs against one Jira; `progress` is told how far each phase got. Every sync ends
    by refreshing the guardrail signals of the cycles it can change (report/health.py)."""

    engine: Engine
    jira: JiraAdapter
    thresholds: PaceThresholds
    guardrails: GuardrailThresholds
    progress: Progress | None = None
    clock: Callable[[], dt.datetime] = utcnow
    # The site's time zone when configured (OKR_JIRA_TIME_ZONE); else the Jira account's.
    time_zone: str | None = None
    # Key results whose links, progress and health are worked on at once after a full sync's
    # read (and in every sync's health): a large site never has all of them in memory.
    chunk: int = KR_CHUNK
    _started: float = field(default=0.0, init=False)
    _before: dict[str, int] = field(default_factory=dict, init=False)

    def full(self) -> SyncSummary:
        from okr_jira.sync.full import full_sync

        return full_sync(self)

    def incremental(self) -> SyncSummary:
        from okr_jira.sync.incremental import incremental_sync

        return incremental_sync(self)

    def begin(self) -> None:
        """Start counting this sync's time and requests."""
        self._started = time.monotonic()
        self._before = self.jira.stats.snapshot()

    def finish(self, summary: SyncSummary) -> SyncSummary:
        """Refresh the health signals, fill in the requests and time, and keep the duration for
        /metrics."""
        try:
            with session_scope(self.engine) as session:
                reports = refresh_open_cycles(
                    session=session, now=self.clock(), thresholds=self.guardrails,
                    chunk=self.chunk,
                )  # fmt: skip
            summary.signals = sum(len(r.signals) for r in reports)
        except Exception:
            # The sync's own work is committed; signals come back with the next sync.
            log.exception("health.failed")
        after = self.jira.stats.snapshot()
        summary.requests = after["sent"] - self._before["sent"]
        summary.retries = after["retries"] - self._before["retries"]
        summary.throttled = after["throttled"] - self._before["throttled"]
        summary.seconds = time.monotonic() - self._started
        job = "sync_full" if summary.mode.startswith("full") else "sync_incremental"
        with session_scope(self.engine) as session:
            state.job_duration(job).set(f"{summary.seconds:.3f}", session=session)
        log.info("sync.done", extra={"mode": summary.mode, "requests": summary.requests})
        return summary
