"""Which message goes to which channel, rendered once for each channel's format."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from okr_jira.domain.digest import TREE, Message
from okr_jira.domain.models import Team
from okr_jira.render.digest import email_payload, slack_payload, teams_payload
from okr_jira.storage.outbox import NewMessage


@dataclass(frozen=True)
class Planned:
    """A message for one channel, and whether it was new (False: already sent or queued)."""

    key: str
    channel: str
    new: bool


def channels_of(team: Team) -> list[str]:
    """A team's channels by name: slack:ENV, teams:ENV (never the URL), email:TEAM."""
    out = []
    if team.notify.slack_env:
        out.append(f"slack:{team.notify.slack_env}")
    if team.notify.teams_env:
        out.append(f"teams:{team.notify.teams_env}")
    if team.notify.email:
        out.append(f"email:{team.key}")
    return out


def digest_subjects(teams: Iterable[Team], only: str | None = None) -> list[tuple[str, Team]]:
    """(subject, team) for every team with channels: a top-level team receives the digest of
    the whole tree, every other team the digest of its part of it."""
    all_teams = list(teams)
    keys = {t.key for t in all_teams}
    out = []
    for team in all_teams:
        if only is not None and team.key != only:
            continue
        if only is None and not team.notify.configured():
            continue
        top = team.parent is None or team.parent not in keys
        out.append((TREE if top else team.key, team))
    return out


def rendered(message: Message, team: Team) -> list[NewMessage]:
    """The outbox rows of `message` for each of the team's channels."""
    rows = []
    for channel in channels_of(team):
        kind = channel.split(":", 1)[0]
        if kind == "slack":
            payload = slack_payload(message)
        elif kind == "teams":
            payload = teams_payload(message)
        else:
            payload = email_payload(message, team.notify.email)
        rows.append(
            NewMessage(
                kind=message.kind,
                subject=message.subject,
                period=message.period,
                channel=channel,
                payload=json.dumps(payload, ensure_ascii=False),
            )
        )
    return rows
