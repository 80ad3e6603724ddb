"""`okr-jira check-config`: the settings against the live services, each problem said exactly.

Checks, in order (a failed step skips the ones that depend on it): Jira is set up, reachable,
accepts the credentials, is the configured flavor, has the fields the OKRs need (story points,
Epic Link on Data Center, fields named by field_sum KRs), and lets the user browse every project
the OKRs map; then the same for Confluence when it is configured. Messages name settings and
HTTP statuses, never a credential.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from okr_jira.adapters.confluence import ConfluenceError
from okr_jira.adapters.jira import JiraAdapter, JiraError
from okr_jira.domain.models import OkrSet
from okr_jira.domain.selectors import mapped_projects
from okr_jira.errors import ConfigError
from okr_jira.notify import channels_of
from okr_jira.runtime.wiring import make_confluence, make_jira, smtp_config
from okr_jira.settings import Settings

Outcome = Literal["ok", "warn", "fail"]


@dataclass(frozen=True)
class Check:
    name: str
    outcome: Outcome
    detail: str

    def line(self) -> str:
        return f"{self.outcome.upper():<4} {self.name}: {self.detail}"


class ChannelState(Protocol):
    """A channel's stored health (storage's notify_channel row)."""

    channel: str
    state: str
    last_error: str | None
    last_ok_at: object


def check_config(
    settings: Settings,
    *,
    okrs: OkrSet | None = None,
    jira: JiraAdapter | None = None,
    channels: Sequence[ChannelState] = (),
    environ: Mapping[str, str] | None = None,
) -> list[Check]:
    """Every check's outcome; `okrs` (stored or from the file) adds the mapping-specific ones
    and the teams' notification channels, `channels` their last delivery outcome."""
    checks: list[Check] = []
    env = os.environ if environ is None else environ
    secrets = [s.get_secret_value() for s in (settings.jira_token, settings.confluence_token) if s]
    secrets += [s.get_secret_value() for s in (settings.smtp_password,) if s]
    if okrs is not None:
        secrets += [env.get(n, "") for t in okrs.teams for n in (t.notify.slack_env,
                    t.notify.teams_env) if n]  # fmt: skip
    try:
        _check_jira(settings, okrs, jira, checks)
        _check_confluence(settings, checks)
        _check_channels(settings, okrs, channels, env, checks)
    finally:
        # Belt and braces: no message may carry a credential, whatever a server echoed.
        checks[:] = [Check(c.name, c.outcome, _scrub(c.detail, secrets)) for c in checks]
    return checks


def _link_permission(jira: JiraAdapter) -> Check:
    """Remote links need the Link issues permission (with Browse projects, checked below)."""
    name = "jira remote links"
    try:
        data = jira.call("GET", "rest/api/2/mypermissions", params={"permissions": "LINK_ISSUES"})
    except JiraError as exc:
        return Check(name, "warn", f"could not ask Jira for the Link issues permission: {exc}")
    granted = (((data or {}).get("permissions") or {}).get("LINK_ISSUES") or {}).get(
        "havePermission"
    )
    if granted:
        return Check(name, "ok", "the account may link issues (OKR_JIRA_JIRA_REMOTE_LINKS=true)")
    return Check(name, "fail", "OKR_JIRA_JIRA_REMOTE_LINKS=true but the account lacks Link issues")


def _check_jira(
    settings: Settings, okrs: OkrSet | None, jira: JiraAdapter | None, out: list[Check]
) -> None:
    if jira is None:
        try:
            jira = make_jira(settings)
        except ConfigError as exc:
            out.append(Check("jira settings", "fail", str(exc)))
            return
    url = jira.url
    try:
        info = jira.server_info()
    except JiraError as exc:
        if exc.status is None:
            out.append(Check("jira reachable", "fail", f"no answer from {url} ({exc.message})"))
            return
        if exc.status not in (401, 403):
            out.append(Check("jira reachable", "fail", f"{url} answered HTTP {exc.status}"))
            return
        info = {}
    out.append(Check("jira reachable", "ok", url))
    try:
        me = jira.myself()
    except JiraError as exc:
        if exc.status in (401, 403):
            who = (
                "OKR_JIRA_JIRA_USER and OKR_JIRA_JIRA_TOKEN"
                if settings.jira_user
                else ("OKR_JIRA_JIRA_TOKEN")
            )
            out.append(
                Check("jira credentials", "fail", f"Jira refused them (HTTP {exc.status}): {who}")
            )
        else:
            out.append(Check("jira credentials", "fail", str(exc)))
        return
    name = me.get("displayName") or me.get("name") or me.get("accountId") or "?"
    out.append(Check("jira credentials", "ok", f"logged in as {name}"))
    if settings.time_zone:
        out.append(Check("time zone", "ok", f"{settings.time_zone} (OKR_JIRA_TIME_ZONE)"))
    else:
        zone = me.get("timeZone") or "UTC"
        detail = f"{zone}, the Jira account's (set OKR_JIRA_TIME_ZONE to choose another)"
        out.append(Check("time zone", "ok", detail))
    if settings.jira_remote_links:
        out.append(_link_permission(jira))
    detected = (
        "cloud" if (info or jira.server_info()).get("deploymentType") == "Cloud" else ("datacenter")
    )
    if settings.jira_flavor not in ("auto", detected):
        out.append(
            Check(
                "jira flavor",
                "fail",
                f"OKR_JIRA_JIRA_FLAVOR is {settings.jira_flavor} but {url} is {detected}",
            )
        )
        return
    out.append(Check("jira flavor", "ok", detected))
    try:
        fmap = jira.fields()
    except JiraError as exc:
        out.append(Check("jira fields", "fail", str(exc)))
        return
    okrs = okrs or OkrSet()
    krs = [kr for o in okrs.objectives for kr in o.key_results]
    needs_points = any(kr.weight_by == "story_points" for kr in krs if kr.kind == "issues")
    if fmap.story_points:
        out.append(Check("story points field", "ok", ", ".join(fmap.story_points)))
    else:
        outcome: Outcome = "fail" if needs_points else "warn"
        out.append(Check("story points field", outcome, "Jira has no story points field"))
    uses_epics = any(kr.source is not None and kr.source.epics for kr in krs)
    if detected == "datacenter":
        if fmap.epic_link:
            out.append(Check("epic link field", "ok", fmap.epic_link))
        else:
            outcome = "fail" if uses_epics else "warn"
            out.append(Check("epic link field", outcome, "Jira has no Epic Link field"))
    for kr in krs:
        if kr.kind == "field_sum" and kr.field:
            fid = fmap.resolve(kr.field)
            if fid is None:
                detail = f"KR {kr.key}: Jira has no field named '{kr.field}'"
                out.append(Check("field_sum field", "fail", detail))
            else:
                out.append(Check("field_sum field", "ok", f"KR {kr.key}: '{kr.field}' is {fid}"))
    for project in mapped_projects(okrs):
        try:
            ok = jira.can_browse_project(project)
        except JiraError as exc:
            out.append(Check(f"project {project}", "fail", str(exc)))
            continue
        if ok:
            out.append(Check(f"project {project}", "ok", "browsable"))
        else:
            detail = "does not exist, or these credentials may not browse it"
            out.append(Check(f"project {project}", "fail", detail))


def _check_confluence(settings: Settings, out: list[Check]) -> None:
    if not settings.confluence_url:
        return
    if not settings.confluence_space:
        out.append(Check("confluence settings", "fail", "OKR_JIRA_CONFLUENCE_SPACE is not set"))
        return
    try:
        # The same client choice as publishing (flavor "auto" probes the site once).
        exists = make_confluence(settings).space_exists(settings.confluence_space)
    except (ConfigError, ValueError) as exc:
        out.append(Check("confluence settings", "fail", str(exc)))
        return
    except ConfluenceError as exc:
        if exc.status in (401, 403):
            detail = f"Confluence refused the credentials (HTTP {exc.status})"
            out.append(Check("confluence credentials", "fail", detail))
        elif exc.status is None:
            detail = f"no answer from {settings.confluence_url}"
            out.append(Check("confluence reachable", "fail", detail))
        else:
            out.append(Check("confluence", "fail", str(exc)))
        return
    space = settings.confluence_space
    if exists:
        out.append(Check("confluence space", "ok", f"{space} is visible"))
    else:
        detail = f"{space} does not exist, or these credentials may not see it"
        out.append(Check("confluence space", "fail", detail))


def _check_channels(
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


def _scrub(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "********")
    return text


def failed(checks: Iterable[Check]) -> bool:
    return any(c.outcome == "fail" for c in checks)
