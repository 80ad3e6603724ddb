"""The webhook inbox's worker, split by phase: plan (parse and decide, no lock), apply (write
one part with its events' outcomes), worker (the loop). Receiving is one INSERT: see
okr_jira.storage.inbox.store_event."""

from okr_jira.inbox.apply import ApplyChanges, BatchResult
from okr_jira.inbox.worker import (
    WorkerOptions,
    drain,
    process_batch,
    run_worker,
    wait_until_empty,
)

__all__ = [
    "ApplyChanges",
    "BatchResult",
    "WorkerOptions",
    "drain",
    "process_batch",
    "run_worker",
    "wait_until_empty",
]
