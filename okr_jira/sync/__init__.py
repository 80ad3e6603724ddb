"""Jira -> storage, split by phase: plan (sync/plan.py), read (full.py, incremental.py,
remote.py), and the site facts a full sync learns (facts.py)."""

from okr_jira.sync.remote import remote_matcher
from okr_jira.sync.summary import Progress, SyncSummary
from okr_jira.sync.syncer import Syncer

__all__ = ["Progress", "SyncSummary", "Syncer", "remote_matcher"]
