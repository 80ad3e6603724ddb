"""A team's `notify:` block of the OKR file: channels named by the environment variables that
hold their webhook URLs (a URL is a secret and never goes in the file), and e-mail addresses."""

from __future__ import annotations

import re

from ruamel.yaml.comments import CommentedMap

from okr_jira.domain.models import Notify
from okr_jira.okrs.checker import Checker

_NOTIFY = ("slack", "teams", "email")
_WEBHOOK = ("webhook_env",)
# An environment variable's name, as POSIX shells accept it.
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_EMAIL = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+$")


def team_notify(chk: Checker, team: CommentedMap, team_path: str) -> Notify:
    """A team's channels. Webhook URLs are secrets: the file names their environment variables."""
    if team.get("notify") is None:
        return Notify()
    path = f"{team_path}.notify"
    m = chk.mapping(team["notify"], path, _NOTIFY, (), team, "notify")
    if m is None:
        return Notify()
    envs: dict[str, str | None] = {}
    for service in ("slack", "teams"):
        if m.get(service) is None:
            envs[service] = None
            continue
        where = f"{path}.{service}"
        node = m[service]
        if isinstance(node, str):
            chk.add(m, service, where, _URL_HINT if "://" in node else
                    "must be a mapping: {webhook_env: NAME}")  # fmt: skip
            envs[service] = None
            continue
        sub = chk.mapping(node, where, _WEBHOOK, _WEBHOOK, m, service)
        name = chk.string(sub, "webhook_env", where) if sub is not None else None
        if name is not None and not _ENV_NAME.match(name):
            chk.add(sub, "webhook_env", f"{where}.webhook_env",
                    _URL_HINT if "://" in name else
                    "must be the name of an environment variable (letters, digits, _)")  # fmt: skip
            name = None
        envs[service] = name
    emails = chk.strings(m, "email", path)
    for i, address in enumerate(emails):
        if not _EMAIL.match(address):
            chk.add(m["email"], i, f"{path}.email[{i}]", "must be an e-mail address")
    return Notify(
        slack_env=envs["slack"],
        teams_env=envs["teams"],
        email=tuple(a for a in emails if _EMAIL.match(a)),
    )


_URL_HINT = (
    "a webhook URL is a secret and never goes in the OKR file: put it in an environment "
    "variable and name the variable here ({webhook_env: NAME})"
)
