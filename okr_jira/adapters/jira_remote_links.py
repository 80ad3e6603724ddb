"""Jira remote issue links okr-jira writes: the golden thread from an issue to its key result.

`POST /rest/api/2/issue/{key}/remotelink` with a `globalId` creates the link or replaces the one
with that globalId (Cloud and Data Center alike; fields left out become null, so the whole link
is always sent); `DELETE ...?globalId=` removes it. Every call goes through the Jira adapter's
session and its policy (timeout, bounded retries, Retry-After). Errors name the issue and the
status, never a credential.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from okr_jira.adapters.jira import JiraAdapter, JiraError

GLOBAL_ID_PREFIX = "okr-jira:"
APPLICATION = {"type": "com.okr-jira", "name": "okr-jira"}
RELATIONSHIP = "contributes to"
TITLE_MAX = 255


def global_id(kr: str) -> str:
    """The link's globalId: names the key result, so a new title or page replaces the link."""
    return f"{GLOBAL_ID_PREFIX}kr={kr}"[:255]


@dataclass(frozen=True, slots=True)
class RemoteLink:
    """One issue's link to one key result, as Jira stores it."""

    issue: str
    kr: str
    url: str
    title: str
    summary: str

    @property
    def global_id(self) -> str:
        return global_id(self.kr)

    def body(self) -> dict[str, Any]:
        return {
            "globalId": self.global_id,
            "application": APPLICATION,
            "relationship": RELATIONSHIP,
            "object": {"url": self.url, "title": self.title[:TITLE_MAX], "summary": self.summary},
        }

    def content_hash(self) -> str:
        """What the link says: a link whose hash is stored as written is not written again."""
        text = json.dumps(self.body(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


class RemoteLinks:
    """Writes and removes okr-jira's remote links through a JiraAdapter."""

    def __init__(self, jira: JiraAdapter) -> None:
        self.jira = jira

    def upsert(self, link: RemoteLink) -> str | None:
        """Create or replace the link; Jira's id of it, or None when the issue is gone."""
        path = f"rest/api/2/issue/{quote(link.issue, safe='')}/remotelink"
        try:
            data = self.jira.call("POST", path, json=link.body())
        except JiraError as exc:
            if exc.status == 404:
                return None
            raise
        ident = (data or {}).get("id") if isinstance(data, dict) else None
        return None if ident is None else str(ident)

    def delete(self, issue: str, global_id: str) -> bool:
        """Remove the issue's link with `global_id`; False when it (or the issue) was gone."""
        path = f"rest/api/2/issue/{quote(issue, safe='')}/remotelink"
        try:
            self.jira.call("DELETE", path, params={"globalId": global_id})
        except JiraError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def list(self, issue: str) -> list[dict[str, Any]]:
        """Every remote link of the issue (okr-jira's and others'), as Jira answers."""
        path = f"rest/api/2/issue/{quote(issue, safe='')}/remotelink"
        data = self.jira.call("GET", path)
        return [d for d in data or [] if isinstance(d, dict)]
