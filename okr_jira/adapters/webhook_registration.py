"""okr-jira's webhook in Jira: register (idempotently), list, unregister; or the manual steps.

okr-jira owns one webhook. Admin webhooks (`/rest/webhooks/1.0/webhook`, Cloud and Data Center,
Jira administrators only) are okr-jira's when named `okr-jira`: register updates that one (PUT)
and removes duplicates, never adds a second. On Cloud, when the admin API is refused, a dynamic
webhook (`/rest/api/3/webhook`) is tried: Jira Cloud allows those only to OAuth 2.0 and Connect
apps (an API token gets 403), they cannot be updated (replaced instead) and expire after 30 days
unless refreshed (register refreshes them). Both filter issue events by JQL to the mapped projects.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

import requests

from okr_jira.adapters.http import short_error
from okr_jira.adapters.jira import JiraAdapter

EVENTS = ("jira:issue_created", "jira:issue_updated", "jira:issue_deleted")
WEBHOOK_PATH = "/webhooks/jira"
NAME = "okr-jira"
ADMIN = "rest/webhooks/1.0/webhook"
DYNAMIC = "rest/api/3/webhook"
DYNAMIC_NEEDS_APP = (
    "Jira Cloud lets only OAuth 2.0 and Connect apps register dynamic webhooks; "
    "an API token gets 403"
)


class RegistrationError(Exception):
    """Jira refused or could not be asked; the message says why (never a credential)."""


@dataclass(frozen=True)
class Webhook:
    """One of okr-jira's webhooks as Jira holds it."""

    kind: Literal["admin", "dynamic"]
    id: str
    url: str
    jql: str
    events: tuple[str, ...] = EVENTS
    enabled: bool = True

    def line(self) -> str:
        state = "" if self.enabled else "  (disabled)"
        return f"{self.kind} {self.id}  {redact_url(self.url)}  {self.jql or '(all issues)'}{state}"


@dataclass(frozen=True)
class Outcome:
    registered: bool
    message: str  # what was done, or why not (never a credential)


def receiver_url(url: str) -> str:
    """The receiver's URL from what an admin gives: the full URL (`.../webhooks/jira`, or with
    the secret after it) is kept; a bare base URL gets `/webhooks/jira` appended."""
    text = url.strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{text!r} is not an http(s) URL (like https://okr.example.com)")
    path = parts.path.rstrip("/")
    if WEBHOOK_PATH not in path + "/":
        path += WEBHOOK_PATH
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def redact_url(url: str) -> str:
    """The URL safe to print: no credentials, query or fragment, and nothing after
    `/webhooks/jira` (where a secret may sit)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    path = parts.path
    head, found, tail = path.partition(WEBHOOK_PATH)
    if found and tail.strip("/"):
        path = head + WEBHOOK_PATH + "/***"
    query = "?***" if parts.query else ""
    return f"{parts.scheme}://{host}{path}{query}"


def same_target(registered: str, wanted: str, *, receiver_only: bool = False) -> bool:
    """Whether a registered URL is `wanted` (ignoring a trailing slash); `receiver_only`: the
    same receiver, whatever secret follows `/webhooks/jira`."""

    def cut(url: str) -> str:
        head, found, _ = url.partition(WEBHOOK_PATH)
        return head + found if receiver_only and found else url.rstrip("/")

    return cut(registered) == cut(wanted)


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
            f"  2. Name: {NAME}",
            f"  3. URL: {target_url}",
            f"  4. {secret}",
            f"  5. JQL filter (Issue related events): {jql or '(all issues)'}",
            "  6. Events: Issue created, Issue updated, Issue deleted",
            "  7. Exclude body: leave unchecked (okr-jira reads the issue from the body)",
        ]
    )


class Registrar:
    """okr-jira's webhook in one Jira, through `jira` (its session, credentials, retry policy)."""

    def __init__(self, jira: JiraAdapter) -> None:
        self.jira = jira
        self.notes: list[str] = []  # what could not be looked at, and why
        self.admin_listed = False  # whether the admin webhook API answered (else: not an admin)

    # --- reading ------------------------------------------------------------------------------

    def webhooks(self) -> list[Webhook]:
        """okr-jira's webhooks: admin ones named okr-jira, and (Cloud) the dynamic ones this
        app registered for the receiver path. RegistrationError when none could be listed."""
        self.notes = []
        found: list[Webhook] = []
        admin = self._send("GET", ADMIN)
        self.admin_listed = admin.ok
        if admin.ok:
            found += [_admin(h) for h in admin.json() or [] if h.get("name") == NAME]
        else:
            self.notes.append(f"admin webhooks: {_refusal(admin)}")
        dynamic_ok = False
        if self.jira.flavor == "cloud":
            dynamic = self._send("GET", DYNAMIC)
            if dynamic.ok:
                dynamic_ok = True
                values = (dynamic.json() or {}).get("values") or []
                found += [_dynamic(h) for h in values if WEBHOOK_PATH in str(h.get("url") or "")]
            elif not admin.ok or dynamic.status_code != 403:
                # With admin rights, an API token's 403 here is expected: not worth a word.
                self.notes.append(f"dynamic webhooks: {_refusal(dynamic, dynamic=True)}")
        if not admin.ok and not dynamic_ok:
            raise RegistrationError("; ".join(self.notes))
        return found

    # --- writing ------------------------------------------------------------------------------

    def register(self, *, target_url: str, jql: str, secret: str | None) -> Outcome:
        """Create or update okr-jira's webhook for `target_url` and `jql`; never a second one."""
        try:
            existing = self.webhooks()
        except RegistrationError as exc:
            existing, listed = [], str(exc)
        else:
            listed = ""
        admin = [h for h in existing if h.kind == "admin"]
        body: dict[str, Any] = {
            "name": NAME,
            "url": target_url,
            "events": list(EVENTS),
            "filters": {"issue-related-events-section": jql},
            "excludeBody": False,
        }
        if secret:
            body["secret"] = secret
        if admin:
            keep, *duplicates = admin
            resp = self._send("PUT", f"{ADMIN}/{keep.id}", body)
            if not resp.ok:
                return Outcome(False, f"admin webhook {keep.id}: {_refusal(resp)}")
            for extra in duplicates:
                self._send("DELETE", f"{ADMIN}/{extra.id}")
            changed = not same_target(keep.url, target_url) or keep.jql != jql
            what = "updated" if changed else "already registered, unchanged"
            gone = f"; removed {len(duplicates)} duplicate(s)" if duplicates else ""
            return Outcome(True, f"admin webhook {keep.id} {what}{gone}")
        refusals = [listed] if listed else [n for n in self.notes if n.startswith("admin")]
        if self.admin_listed:
            resp = self._send("POST", ADMIN, body)
            if resp.ok:
                hook_id = str((resp.json() or {}).get("self", "")).rstrip("/").rsplit("/", 1)[-1]
                return Outcome(True, f"admin webhook {hook_id} registered")
            refusals = [f"admin webhooks: {_refusal(resp)}"]
        if self.jira.flavor != "cloud":
            return Outcome(False, "; ".join(refusals))
        return self._register_dynamic(existing, target_url, jql, secret, refusals)

    def _register_dynamic(
        self,
        existing: list[Webhook],
        target_url: str,
        jql: str,
        secret: str | None,
        refusals: list[str],
    ) -> Outcome:
        mine = [h for h in existing if h.kind == "dynamic"]
        same = [h for h in mine if same_target(h.url, target_url) and h.jql == jql]
        if same:
            self._send("PUT", f"{DYNAMIC}/refresh", {"webhookIds": [int(same[0].id)]})
            stale = [h for h in mine if h is not same[0]]
            self._delete_dynamic(stale)
            return Outcome(True, f"dynamic webhook {same[0].id} already registered, refreshed")
        if not jql:
            return Outcome(False, "; ".join([*refusals, "dynamic webhooks need a JQL filter"]))
        payload: dict[str, Any] = {
            "url": target_url,
            "webhooks": [{"events": list(EVENTS), "jqlFilter": jql}],
        }
        if secret:
            payload["secret"] = secret
        resp = self._send("POST", DYNAMIC, payload)
        if not resp.ok:
            return Outcome(False, "; ".join([*refusals, f"dynamic: {_refusal(resp, True)}"]))
        results = (resp.json() or {}).get("webhookRegistrationResult") or [{}]
        created = results[0].get("createdWebhookId")
        if created is None:
            errors = "; ".join(results[0].get("errors") or ["refused"])
            return Outcome(False, "; ".join([*refusals, f"dynamic webhook: {errors}"]))
        # Dynamic webhooks cannot be edited: the new one replaces the old.
        self._delete_dynamic(mine)
        return Outcome(True, f"dynamic webhook {created} registered (expires in 30 days)")

    def keep_current(self, *, jql: str, secret: str | None) -> Outcome | None:
        """The scheduler's upkeep: okr-jira's webhook filtered to `jql` (the projects the OKRs
        map now), and a dynamic one kept from expiring. Never creates a webhook; None when there
        was nothing to do (one or two GETs)."""
        hooks = self.webhooks()
        if not hooks:
            return None
        if all(h.kind == "admin" and h.jql == jql for h in hooks) and len(hooks) == 1:
            return None
        return self.register(target_url=hooks[0].url, jql=jql, secret=secret)

    def unregister(self) -> list[Webhook]:
        """Remove okr-jira's webhooks; the ones removed."""
        existing = self.webhooks()
        for hook in existing:
            if hook.kind == "admin":
                resp = self._send("DELETE", f"{ADMIN}/{hook.id}")
                if not resp.ok and resp.status_code != 404:
                    raise RegistrationError(f"admin webhook {hook.id}: {_refusal(resp)}")
        self._delete_dynamic([h for h in existing if h.kind == "dynamic"])
        return existing

    def _delete_dynamic(self, hooks: list[Webhook]) -> None:
        if hooks:
            ids = [int(h.id) for h in hooks]
            resp = self._send("DELETE", DYNAMIC, {"webhookIds": ids})
            if not resp.ok:
                raise RegistrationError(f"dynamic webhooks: {_refusal(resp, dynamic=True)}")

    def _send(
        self, method: str, path: str, body: dict[str, Any] | None = None
    ) -> requests.Response:
        try:
            return self.jira.raw_request(method, path, json=body)
        except requests.RequestException as exc:
            raise RegistrationError(
                f"Jira is unreachable at {self.jira.url} ({type(exc).__name__})"
            ) from None


def _admin(data: dict[str, Any]) -> Webhook:
    hook_id = str(data.get("self", "")).rstrip("/").rsplit("/", 1)[-1]
    filters = data.get("filters") or {}
    return Webhook(
        "admin",
        hook_id,
        str(data.get("url") or ""),
        str(filters.get("issue-related-events-section") or ""),
        tuple(data.get("events") or ()),
        bool(data.get("enabled", True)),
    )


def _dynamic(data: dict[str, Any]) -> Webhook:
    return Webhook(
        "dynamic",
        str(data.get("id")),
        str(data.get("url") or ""),
        str(data.get("jqlFilter") or ""),
        tuple(data.get("events") or ()),
    )


def _refusal(resp: requests.Response, dynamic: bool = False) -> str:
    reason = short_error(resp)
    if resp.status_code == 401:
        return f"HTTP 401: the credentials were refused ({reason})"
    if resp.status_code == 403 and dynamic:
        return f"HTTP 403: {DYNAMIC_NEEDS_APP} ({reason})"
    if resp.status_code == 403:
        return f"HTTP 403: managing webhooks needs a Jira administrator ({reason})"
    return f"HTTP {resp.status_code}: {reason}"
