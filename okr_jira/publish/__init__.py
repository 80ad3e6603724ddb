"""Storage -> render -> Confluence, split by phase: context (what the pages show), plan (which
pages need what), publisher (the writes), preview (the same pages as HTML files)."""

from __future__ import annotations

import datetime as dt

from okr_jira.publish.context import ContextOptions, build_context
from okr_jira.publish.plan import PageWork, PublishPlan, PublishSummary
from okr_jira.publish.preview import write_preview
from okr_jira.publish.publisher import Publisher, PublishError
from okr_jira.storage.db import session_scope
from okr_jira.storage.okrs import get_cycle, load_okrs

# A cycle that ended this recently is still published: its review page, and retrospective
# notes checked in after the close, reach Confluence while the next cycle runs.
RECENTLY_ENDED = dt.timedelta(days=60)


def publish_running_cycles(publisher: Publisher) -> list[PublishSummary]:
    """Publish every running or recently ended cycle (the latest one when none is): the
    scheduler's job. An unchanged cycle costs no request."""
    today = publisher.clock().date()
    with session_scope(publisher.engine) as session:
        cycles = [
            c.key
            for c in load_okrs(session=session).cycles
            if c.start <= today <= c.end + RECENTLY_ENDED
        ]
        if not cycles:
            cycles = [get_cycle(session=session, key=None, on=today).key]
    return [publisher.publish(cycle) for cycle in cycles]


__all__ = [
    "ContextOptions",
    "PageWork",
    "PublishError",
    "PublishPlan",
    "PublishSummary",
    "Publisher",
    "build_context",
    "publish_running_cycles",
    "write_preview",
]
