"""Telling teams where they already talk: weekly digests and check-in reminders, through the
outbox (plan: which message goes to which channel; weekly: build and enqueue; delivery: send with
retries, each message once per period and channel)."""

from okr_jira.notify.delivery import DeliveryResult, Resolver, deliver
from okr_jira.notify.plan import Planned, channels_of, digest_subjects
from okr_jira.notify.weekly import due_this_week, enqueue_digests, enqueue_reminders

__all__ = [
    "DeliveryResult",
    "Planned",
    "Resolver",
    "channels_of",
    "deliver",
    "digest_subjects",
    "due_this_week",
    "enqueue_digests",
    "enqueue_reminders",
]
