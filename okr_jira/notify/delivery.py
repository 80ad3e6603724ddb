"""Sending what the outbox holds: claim a row, send it, record the outcome.

A failure is retried later with exponential backoff (or after the channel's Retry-After), up to
MAX_ATTEMPTS; a permanent one (a deleted Slack channel, a refused card) fails at once and marks
the channel dead, so nothing more goes to it until its target changes. Each channel's last error
is kept for check-config and /metrics. A failing channel costs only its own time (bounded by the
HTTP timeout and retries): sync and publishing run in other jobs and never wait for it.
Messages to one Slack or Teams webhook go at most one per second (their documented rate).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from okr_jira.adapters.channels import Transport, TransportError
from okr_jira.storage import outbox
from okr_jira.storage.db import session_scope
from okr_jira.storage.tables import utcnow

log = logging.getLogger(__name__)

# channel name, payload -> (the transport, a fingerprint of its target); TransportError when the
# target is missing (an unset environment variable, SMTP not configured).
Resolver = Callable[[str, dict[str, Any]], tuple[Transport, str]]
MAX_ATTEMPTS = 8
BACKOFF_BASE = 60.0  # seconds, doubled per attempt
BACKOFF_CAP = 6 * 3600.0
SPACING = {"slack": 1.0, "teams": 1.0}  # seconds between messages to one webhook


@dataclass
class DeliveryResult:
    sent: list[str] = field(default_factory=list)  # dedupe keys
    retrying: list[tuple[str, str]] = field(default_factory=list)  # (key, error)
    failed: list[tuple[str, str]] = field(default_factory=list)


def backoff(attempts: int) -> float:
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(attempts - 1, 0))
    return random.uniform(ceiling / 2, ceiling)


def deliver(
    engine: Engine,
    resolve: Resolver,
    *,
    clock: Callable[[], dt.datetime] = utcnow,
    sleep: Callable[[float], None] = time.sleep,
    limit: int = 100,
) -> DeliveryResult:
    """Send the due rows; returns what became of each."""
    result = DeliveryResult()
    with session_scope(engine) as session:
        ids = outbox.due(session=session, now=clock(), limit=limit)
    last_sent: dict[str, float] = {}
    for row_id in ids:
        with session_scope(engine) as session:
            row = outbox.claim(session=session, row_id=row_id, now=clock())
        if row is None:
            continue  # another sender has it
        _send_one(engine, resolve, row, clock, sleep, last_sent, result)
    return result


def _send_one(
    engine: Engine,
    resolve: Resolver,
    row: Any,
    clock: Callable[[], dt.datetime],
    sleep: Callable[[float], None],
    last_sent: dict[str, float],
    result: DeliveryResult,
) -> None:
    payload = json.loads(row.payload)
    name, kind = row.channel, row.channel.split(":", 1)[0]
    fp: str | None = None
    try:
        transport, fp = resolve(name, payload)
        with session_scope(engine) as session:
            health = outbox.channel(session=session, name=name)
            if health is not None and health.state == "dead" and health.fingerprint == fp:
                raise TransportError(
                    f"not sent: the channel failed for good ({health.last_error}); fix it and "
                    "change its target",
                    permanent=True,
                )
        wait = SPACING.get(kind, 0.0) - (time.monotonic() - last_sent.get(name, -1e9))
        if wait > 0:
            sleep(wait)
        try:
            transport.notify(payload)
        finally:
            last_sent[name] = time.monotonic()
    except TransportError as exc:
        _failed(engine, row, fp, exc, clock(), result)
        return
    with session_scope(engine) as session:
        outbox.mark_sent(session=session, row_id=row.id, now=clock())
        outbox.channel_ok(session=session, name=name, fingerprint=fp or "", now=clock())
    log.info("notify.sent", extra={"channel": name, "outbox_key": row.dedupe_key})
    result.sent.append(row.dedupe_key)


def _failed(
    engine: Engine,
    row: Any,
    fp: str | None,
    exc: TransportError,
    now: dt.datetime,
    result: DeliveryResult,
) -> None:
    name = row.channel
    give_up = exc.permanent or row.attempts >= MAX_ATTEMPTS
    with session_scope(engine) as session:
        if exc.delivered:
            outbox.mark_sent(session=session, row_id=row.id, now=now)
            state = "degraded"
        elif give_up:
            outbox.mark_failed(session=session, row_id=row.id, error=exc.message)
            state = "dead" if exc.permanent else "retrying"
        else:
            delay = exc.retry_after if exc.retry_after is not None else backoff(row.attempts)
            at = now + dt.timedelta(seconds=delay)
            outbox.mark_retry(session=session, row_id=row.id, at=at, error=exc.message)
            state = "retrying"
        outbox.channel_failed(
            session=session, name=name, fingerprint=fp, error=exc.message, state=state, now=now
        )
    log.warning(
        "notify.failed",
        extra={"channel": name, "outbox_key": row.dedupe_key, "error": exc.message,
               "permanent": exc.permanent, "attempts": row.attempts},
    )  # fmt: skip
    if exc.delivered:
        result.sent.append(row.dedupe_key)
    elif give_up:
        result.failed.append((row.dedupe_key, exc.message))
    else:
        result.retrying.append((row.dedupe_key, exc.message))
