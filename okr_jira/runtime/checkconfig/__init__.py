"""`okr-jira check-config`: the settings against the live services, each problem said exactly,
with what to change.

In order (a failed step skips the ones that depend on it): Jira (`jira.py`: set up, reachable,
credentials, flavor, fields, projects), what syncing needs (`sync.py`: every mapping's JQL, story
points per project, the webhook), Confluence for publishing (`confluence.py`: flavor, space,
parent page, permissions) and the teams' notification channels (`channels.py`). Requests use a
short retry policy: a closed port is reported in seconds. Messages never carry a credential.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from okr_jira.adapters.jira import JiraAdapter
from okr_jira.domain.models import OkrSet
from okr_jira.runtime.checkconfig.channels import ChannelState, check_channels
from okr_jira.runtime.checkconfig.confluence import check_confluence
from okr_jira.runtime.checkconfig.jira import check_jira
from okr_jira.runtime.checkconfig.result import Check, Outcome, failed
from okr_jira.runtime.checkconfig.sync import check_mappings, check_story_points, check_webhook
from okr_jira.settings import Settings

__all__ = ["ChannelState", "Check", "Outcome", "check_config", "failed"]


def check_config(
    settings: Settings,
    *,
    okrs: OkrSet | None = None,
    jira: JiraAdapter | None = None,
    channels: Sequence[ChannelState] = (),
    environ: Mapping[str, str] | None = None,
    fix: bool = False,
) -> list[Check]:
    """Every check's outcome; `okrs` (stored or from the file) adds the mapping-specific ones
    and the teams' notification channels, `channels` their last delivery outcome. `fix`: create
    a missing parent page."""
    checks: list[Check] = []
    env = os.environ if environ is None else environ
    secrets = [s.get_secret_value() for s in (settings.jira_token, settings.confluence_token) if s]
    secrets += [
        s.get_secret_value() for s in (settings.smtp_password, settings.webhook_secret) if s
    ]
    if okrs is not None:
        secrets += [env.get(n, "") for t in okrs.teams for n in (t.notify.slack_env,
                    t.notify.teams_env) if n]  # fmt: skip
    try:
        live = check_jira(settings, okrs, jira, checks)
        if live is not None:
            if okrs is not None:
                check_mappings(live, okrs, checks)
                check_story_points(live, okrs, checks)
            else:
                detail = (
                    "none stored and no OKR_JIRA_OKR_FILE: the key results' JQL was not checked "
                    "(pass --okrs FILE)"
                )
                checks.append(Check("mappings", "warn", detail))
            check_webhook(live, settings, okrs, checks)
        check_confluence(settings, checks, fix=fix)
        check_channels(settings, okrs, channels, env, checks)
    finally:
        # Belt and braces: no message may carry a credential, whatever a server echoed.
        checks[:] = [Check(c.name, c.outcome, _scrub(c.detail, secrets)) for c in checks]
    return checks


def _scrub(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "********")
    return text
