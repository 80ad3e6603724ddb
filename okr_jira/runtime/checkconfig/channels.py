"""check-config, notifications: each team's channels have their target set (never printed), and
how their last delivery went."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from okr_jira.domain.models import OkrSet
from okr_jira.notify import channels_of
from okr_jira.runtime.checkconfig.result import Check, Outcome
from okr_jira.runtime.wiring import smtp_config
from okr_jira.settings import Settings


class ChannelState(Protocol):
    """A channel's stored health (storage's notify_channel row)."""

    channel: str
    state: str
    last_error: str | None
    last_ok_at: object


def check_channels(
    settings: Settings,
    okrs: OkrSet | None,
    states: Sequence[ChannelState],
    env: Mapping[str, str],
    out: list[Check],
) -> None:
    """Each team's channels: their target is set (never printed), and how their last delivery
    went (a dead channel fails: fix it, then its next message is sent again)."""
    health = {s.channel: s for s in states}
    for team in okrs.teams if okrs else ():
        for channel in channels_of(team):
            kind, _, name = channel.partition(":")
            label = f"notify {team.key} {channel}"
            caveat = ""
            if kind in ("slack", "teams"):
                url = (env.get(name) or "").strip()
                if not url:
                    out.append(Check(label, "fail", f"environment variable {name} is not set"))
                    continue
                if not url.startswith("https://"):
                    caveat = f" ({name} is not an https:// URL)"
            elif smtp_config(settings) is None:
                out.append(
                    Check(label, "fail", "e-mail needs OKR_JIRA_SMTP_HOST and OKR_JIRA_SMTP_FROM")
                )
                continue
            state = health.get(channel)
            outcome: Outcome = "warn" if caveat else "ok"
            if state is None:
                detail = "configured; nothing sent yet"
            elif state.state == "ok":
                detail = f"last delivery worked ({state.last_ok_at})"
            elif state.state == "dead":
                outcome, detail = "fail", f"stopped after a permanent failure: {state.last_error}"
            else:
                outcome, detail = "warn", f"{state.state}: last error: {state.last_error}"
            out.append(Check(label, outcome, detail + caveat))
