"""Register okr-jira's webhook in Jira, or say exactly how to do it by hand.

Cloud: a dynamic webhook (`/rest/api/3/webhook`, which Jira allows only some credentials), then the
admin webhook API; Data Center: the admin webhook API (`/rest/webhooks/1.0/webhook`). Both filter
issue events by JQL to the projects the OKRs map.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import requests

from okr_jira.adapters.http import short_error
from okr_jira.adapters.jira import JiraAdapter

EVENTS = ("jira:issue_created", "jira:issue_updated", "jira:issue_deleted")
WEBHOOK_PATH = "/webhooks/jira"


@dataclass(frozen=True)
class Outcome:
    registered: bool
    message: str  # what was done, or why not (never a credential)


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


def register(jira: JiraAdapter, *, target_url: str, jql: str, secret: str | None) -> Outcome:
    """Register through `jira` (its session, credentials and retry policy)."""
    refusals: list[str] = []
    if jira.flavor == "cloud":
        body: dict[str, Any] = {
            "url": target_url,
            "webhooks": [{"events": list(EVENTS), "jqlFilter": jql}],
        }
        if secret:
            body["secret"] = secret
        resp = _post(jira, "rest/api/3/webhook", body)
        if resp is not None and resp.status_code < 300:
            results = (resp.json() or {}).get("webhookRegistrationResult") or [{}]
            created = results[0].get("createdWebhookId")
            if created is not None:
                return Outcome(True, f"registered dynamic webhook {created} (Cloud)")
            refusals.append("; ".join(results[0].get("errors") or ["refused"]))
        elif resp is not None:
            refusals.append(f"dynamic webhook: {short_error(resp)}")
    admin: dict[str, Any] = {
        "name": "okr-jira",
        "url": target_url,
        "events": list(EVENTS),
        "filters": {"issue-related-events-section": jql},
        "excludeBody": False,
    }
    if secret:
        admin["secret"] = secret
    resp = _post(jira, "rest/webhooks/1.0/webhook", admin)
    if resp is None:
        return Outcome(False, "Jira is unreachable")
    if resp.status_code < 300:
        link = (resp.json() or {}).get("self", "")
        return Outcome(True, f"registered admin webhook {link}".strip())
    refusals.append(f"admin webhook: {short_error(resp)}")
    return Outcome(False, "; ".join(refusals))


def _post(jira: JiraAdapter, path: str, body: dict[str, Any]) -> requests.Response | None:
    try:
        return jira.raw_request("POST", path, json=body)
    except requests.RequestException:
        return None
