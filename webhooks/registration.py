"""Register okr-jira's webhook in Jira, or say exactly how to do it by hand.

Cloud: a dynamic webhook (`/rest/api/3/webhook`, which Jira allows only some credentials), then the
admin webhook API; Data Center: the admin webhook API (`/rest/webhooks/1.0/webhook`). Both filter
issue events by JQL to the projects the OKRs map.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import requests

from okr_jira.adapters.http import RetryPolicy, make_session, short_error
from okr_jira.domain.models import OkrSet

EVENTS = ("jira:issue_created", "jira:issue_updated", "jira:issue_deleted")
WEBHOOK_PATH = "/webhooks/jira"


@dataclass(frozen=True)
class Outcome:
    registered: bool
    message: str  # what was done, or why not (never a credential)


def mapped_projects(okrs: OkrSet) -> list[str]:
    """Every project a KR can select from: team projects, and those KR sources name."""
    projects: set[str] = {p for t in okrs.teams for p in t.jira_projects}
    for objective in okrs.objectives:
        for kr in objective.key_results:
            source = kr.source
            if source is None:
                continue
            projects.update(source.projects)
            for key in (*source.epics, *source.issues, *source.include):
                projects.add(key.rsplit("-", 1)[0])
    return sorted(p.upper() for p in projects if p)


def jql_filter(projects: Iterable[str]) -> str:
    names = ", ".join(f'"{p}"' for p in projects)
    return f"project in ({names})" if names else ""


def manual_steps(*, target_url: str, jql: str, secret_set: bool) -> str:
    secret = (
        "Secret: paste the value of OKR_JIRA_WEBHOOK_SECRET (Jira then signs each delivery "
        "with X-Hub-Signature). If your Jira has no Secret field, append the secret to the URL "
        f"instead: {target_url}/<OKR_JIRA_WEBHOOK_SECRET>"
        if secret_set
        else "Secret: none configured. Set OKR_JIRA_WEBHOOK_SECRET first: without it the "
        "receiver accepts unauthenticated events."
    )
    return "\n".join(
        [
            "Register the webhook by hand (a Jira administrator):",
            "  1. Jira settings > System > WebHooks > Create a WebHook",
            "  2. Name: okr-jira",
            f"  3. URL: {target_url}",
            f"  4. {secret}",
            f"  5. JQL filter (Issue related events): {jql or '(all issues)'}",
            "  6. Events: Issue created, Issue updated, Issue deleted",
            "  7. Exclude body: leave unchecked (okr-jira reads the issue from the body)",
        ]
    )


def register(
    *,
    jira_url: str,
    user: str | None,
    token: str | None,
    flavor: str,
    target_url: str,
    jql: str,
    secret: str | None,
    timeout: float,
) -> Outcome:
    session = make_session(RetryPolicy(timeout=timeout, max_retries=2))
    auth = (user, token or "") if user else None
    headers = {"Accept": "application/json"}
    if not user and token:
        headers["Authorization"] = f"Bearer {token}"
    base = jira_url.rstrip("/")
    refusals: list[str] = []
    if flavor == "cloud":
        body: dict[str, object] = {
            "url": target_url,
            "webhooks": [{"events": list(EVENTS), "jqlFilter": jql}],
        }
        if secret:
            body["secret"] = secret
        resp = _post(session, f"{base}/rest/api/3/webhook", body, auth, headers)
        if resp is not None and resp.status_code < 300:
            results = (resp.json() or {}).get("webhookRegistrationResult") or [{}]
            created = results[0].get("createdWebhookId")
            if created is not None:
                return Outcome(True, f"registered dynamic webhook {created} (Cloud)")
            refusals.append("; ".join(results[0].get("errors") or ["refused"]))
        elif resp is not None:
            refusals.append(f"dynamic webhook: {short_error(resp)}")
    admin = {
        "name": "okr-jira",
        "url": target_url,
        "events": list(EVENTS),
        "filters": {"issue-related-events-section": jql},
        "excludeBody": False,
    }
    if secret:
        admin["secret"] = secret
    resp = _post(session, f"{base}/rest/webhooks/1.0/webhook", admin, auth, headers)
    if resp is None:
        return Outcome(False, "Jira is unreachable")
    if resp.status_code < 300:
        link = (resp.json() or {}).get("self", "")
        return Outcome(True, f"registered admin webhook {link}".strip())
    refusals.append(f"admin webhook: {short_error(resp)}")
    return Outcome(False, "; ".join(refusals))


def _post(
    session: requests.Session,
    url: str,
    body: dict[str, object],
    auth: tuple[str, str] | None,
    headers: dict[str, str],
) -> requests.Response | None:
    try:
        return session.post(url, json=body, auth=auth, headers=headers)
    except requests.RequestException:
        return None
