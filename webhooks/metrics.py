"""Prometheus text exposition, derived from the database so every gunicorn worker agrees.

Event counts are the inbox rows by type and status (received = all of them). Job durations are
read from sync_state rows named `<job>.last_duration_seconds` (sync and publish write them).
"""

from __future__ import annotations

import datetime as dt
import math

from sqlalchemy import Engine
from sqlmodel import Session

from okr_jira.storage import outbox
from okr_jira.storage.inbox import APPLIED, FAILED, IGNORED, inbox_stats
from okr_jira.storage.state import durations
from okr_jira.storage.tables import utcnow


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def render_metrics(engine: Engine, *, now: dt.datetime | None = None) -> str:
    at = now or utcnow()
    with Session(engine) as session:
        stats = inbox_stats(session=session)
        seconds_by_job = durations(session=session)
        messages = outbox.counts(session=session)
        channels = outbox.channels(session=session)
    lines: list[str] = []

    def family(name: str, kind: str, help_text: str) -> None:
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} {kind}")

    types = sorted({t for t, _ in stats.by_type_status})
    family("okr_jira_webhook_events_received_total", "counter", "Events stored in the inbox.")
    for t in types:
        n = sum(v for (et, _), v in stats.by_type_status.items() if et == t)
        lines.append(f'okr_jira_webhook_events_received_total{{type="{_label(t)}"}} {n}')
    for status, help_text in (
        (APPLIED, "Events applied to issue snapshots and KR progress."),
        (IGNORED, "Events not needed: superseded, older than the stored issue, or no effect."),
        (FAILED, "Events that could not be applied (dead letters)."),
    ):
        name = f"okr_jira_webhook_events_{status}_total"
        family(name, "counter", help_text)
        for t in types:
            n = stats.by_type_status.get((t, status), 0)
            lines.append(f'{name}{{type="{_label(t)}"}} {n}')
    family("okr_jira_webhook_inbox_depth", "gauge", "Events waiting to be applied.")
    lines.append(f"okr_jira_webhook_inbox_depth {stats.pending}")
    age = (at - stats.oldest_pending).total_seconds() if stats.oldest_pending else 0.0
    family(
        "okr_jira_webhook_oldest_pending_age_seconds", "gauge", "Age of the oldest pending event."
    )
    lines.append(f"okr_jira_webhook_oldest_pending_age_seconds {max(age, 0.0):.3f}")
    family(
        "okr_jira_webhook_apply_delay_seconds",
        "summary",
        "Receipt to applied progress, over the latest applied events.",
    )
    if stats.recent_delays:
        for q in (0.5, 0.95, 0.99):
            value = _quantile(stats.recent_delays, q)
            lines.append(f'okr_jira_webhook_apply_delay_seconds{{quantile="{q}"}} {value:.3f}')
    lines.append(f"okr_jira_webhook_apply_delay_seconds_sum {sum(stats.recent_delays):.3f}")
    lines.append(f"okr_jira_webhook_apply_delay_seconds_count {len(stats.recent_delays)}")
    family("okr_jira_job_last_duration_seconds", "gauge", "Duration of the last sync or publish.")
    for job, seconds in sorted(seconds_by_job.items()):
        lines.append(f'okr_jira_job_last_duration_seconds{{job="{_label(job)}"}} {seconds:.3f}')
    family("okr_jira_notify_messages", "gauge", "Notification outbox messages by status.")
    for status in (outbox.PENDING, outbox.SENDING, outbox.SENT, outbox.FAILED):
        lines.append(f'okr_jira_notify_messages{{status="{status}"}} {messages.get(status, 0)}')
    family(
        "okr_jira_notify_channel_up",
        "gauge",
        "1 when the channel's last delivery worked; 0 with its state and last error.",
    )
    for ch in channels:
        up = 1 if ch.state == "ok" else 0
        error = _label((ch.last_error or "")[:200]) if not up else ""
        lines.append(
            f'okr_jira_notify_channel_up{{channel="{_label(ch.channel)}",'
            f'state="{_label(ch.state)}",last_error="{error}"}} {up}'
        )
    family(
        "okr_jira_notify_channel_last_error_timestamp_seconds",
        "gauge",
        "When the channel last failed (Unix time).",
    )
    for ch in channels:
        if ch.last_error_at is not None:
            at_error = ch.last_error_at
            if at_error.tzinfo is None:
                at_error = at_error.replace(tzinfo=dt.UTC)
            lines.append(
                "okr_jira_notify_channel_last_error_timestamp_seconds"
                f'{{channel="{_label(ch.channel)}"}} {at_error.timestamp():.0f}'
            )
    return "\n".join(lines) + "\n"
