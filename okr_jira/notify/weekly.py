"""Building this week's digests and reminders and putting them in the outbox.

Enqueueing is idempotent per (message, ISO week, channel): running it again in the same week (a
second scheduler, a restart, `okr-jira digest` twice) adds nothing. The digest's "since" moves
only when a digest is first enqueued in a week.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import Engine

from okr_jira.domain.digest import TREE, Message
from okr_jira.domain.models import PaceThresholds
from okr_jira.errors import NotFoundError
from okr_jira.notify.plan import Planned, digest_subjects, rendered
from okr_jira.report.digest import PageUrl, build_digest, build_reminder
from okr_jira.storage import outbox, state
from okr_jira.storage.db import session_scope
from okr_jira.storage.okrs import load_okrs

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def due_this_week(now: dt.datetime, weekday: str, hour: int) -> bool:
    """Whether this week's moment (weekday at hour UTC) has come: a job that runs late (after
    downtime) still sends this week's message; one that runs early sends nothing."""
    monday = now.date() - dt.timedelta(days=now.weekday())
    day = monday + dt.timedelta(days=WEEKDAYS.index(weekday))
    return now >= dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC)


@dataclass
class Enqueued:
    messages: list[tuple[Message, list[str]]] = field(default_factory=list)  # (message, channels)
    planned: list[Planned] = field(default_factory=list)


def enqueue_digests(
    engine: Engine,
    *,
    now: dt.datetime,
    thresholds: PaceThresholds,
    page_url: PageUrl | None = None,
    team: str | None = None,
    dry_run: bool = False,
) -> Enqueued:
    """This week's digests for every team with channels (or `team`); `dry_run` builds only."""
    out = Enqueued()
    with session_scope(engine) as session:
        teams = load_okrs(session=session).teams
        if team is not None and team not in {t.key for t in teams}:
            raise NotFoundError(f"team '{team}' does not exist")
        built: dict[str, Message] = {}
        for subject, recipient in digest_subjects(teams, only=team):
            if subject not in built:
                built[subject] = build_digest(
                    session=session, subject=subject, now=now, thresholds=thresholds,
                    page_url=page_url,
                )  # fmt: skip
            message = built[subject]
            rows = rendered(message, recipient)
            out.messages.append((message, [r.channel for r in rows]))
            if dry_run or not rows:
                continue
            created = set(outbox.enqueue(session=session, messages=rows, now=now))
            out.planned += [Planned(r.dedupe_key, r.channel, r.dedupe_key in created) for r in rows]
            if created:
                state.digest_last_built(subject).set(now, session=session)
        if dry_run and team is None and not built:
            # No team has channels yet: show what the whole tree's digest would say.
            message = build_digest(
                session=session, subject=TREE, now=now, thresholds=thresholds, page_url=page_url
            )
            out.messages.append((message, []))
        if dry_run:
            session.rollback()
    return out


def enqueue_reminders(
    engine: Engine,
    *,
    now: dt.datetime,
    thresholds: PaceThresholds,
    page_url: PageUrl | None = None,
) -> Enqueued:
    """This week's reminders: each team with channels and an objective in a running cycle that
    has no check-in this week."""
    out = Enqueued()
    with session_scope(engine) as session:
        for team in load_okrs(session=session).teams:
            if not team.notify.configured():
                continue
            message = build_reminder(
                session=session, team=team.key, now=now, thresholds=thresholds, page_url=page_url
            )
            if message.empty:
                continue  # every objective checked in (or none running): nothing to remind
            rows = rendered(message, team)
            created = set(outbox.enqueue(session=session, messages=rows, now=now))
            out.messages.append((message, [r.channel for r in rows]))
            out.planned += [Planned(r.dedupe_key, r.channel, r.dedupe_key in created) for r in rows]
    return out
