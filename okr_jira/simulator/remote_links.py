"""Remote issue links in the simulated Jira, as Jira's REST API documents them.

`POST /rest/api/{2|3}/issue/{key}/remotelink` creates a link (201) or, when its `globalId` matches
one of the issue's links, replaces it (200; fields left out become null); `GET` lists them (one
object for `?globalId=`); `GET|PUT|DELETE .../remotelink/{id}` and `DELETE ...?globalId=` work on
one. Only `object.url` and `object.title` are required; `globalId` is at most 255 characters.
Every write is an issue history item (`"field": "RemoteIssueLink"`) and, since FACTS.md leaves
it open whether it moves `updated` and fires `jira:issue_updated`, the simulator does both (the
harder case for a client that must never loop on its own writes); `touch_issue=False` does not.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

Payload = dict[str, Any]
GLOBAL_ID_MAX = 255


class RemoteLinkError(Exception):
    """A request Jira refuses: its status and Jira's error body."""

    def __init__(self, status: int, messages: list[str], errors: dict[str, str] | None = None):
        super().__init__("; ".join(messages) or str(errors))
        self.status, self.messages, self.errors = status, messages, errors or {}


@dataclass
class RemoteLink:
    id: int
    global_id: str | None
    application: Payload | None
    relationship: str | None
    object: Payload

    def json(self, base: str, key: str) -> Payload:
        out: Payload = {
            "id": self.id,
            "self": f"{base}/rest/api/2/issue/{key}/remotelink/{self.id}",
            "object": self.object,
        }
        if self.global_id is not None:
            out["globalId"] = self.global_id
        if self.application is not None:
            out["application"] = self.application
        if self.relationship is not None:
            out["relationship"] = self.relationship
        return out


@dataclass
class RemoteLinkStore:
    """Links by issue id (a moved issue keeps them), and the writes made, for tests."""

    links: dict[int, list[RemoteLink]] = field(default_factory=dict)
    writes: Counter[str] = field(default_factory=Counter)
    next_id: int = 10000
    touch_issue: bool = True
    can_link: bool = True  # False: the user lacks the "Link issues" permission (403)

    def of(self, issue_id: int) -> list[RemoteLink]:
        return list(self.links.get(issue_id, ()))

    def upsert(self, issue_id: int, body: Any) -> tuple[RemoteLink, bool]:
        """Create or (same globalId) replace a link; (link, created)."""
        self._check_permission()
        global_id, application, relationship, obj = _parse(body)
        mine = self.links.setdefault(issue_id, [])
        if global_id is not None:
            for link in mine:
                if link.global_id == global_id:
                    link.application, link.relationship, link.object = (
                        application, relationship, obj,
                    )  # fmt: skip
                    self.writes["update"] += 1
                    return link, False
        link = RemoteLink(self.next_id, global_id, application, relationship, obj)
        self.next_id += 1
        mine.append(link)
        self.writes["create"] += 1
        return link, True

    def replace(self, issue_id: int, link_id: int, body: Any) -> RemoteLink:
        self._check_permission()
        link = self.get(issue_id, link_id)
        link.global_id, link.application, link.relationship, link.object = _parse(body)
        self.writes["update"] += 1
        return link

    def get(self, issue_id: int, link_id: int) -> RemoteLink:
        for link in self.links.get(issue_id, ()):
            if link.id == link_id:
                return link
        raise RemoteLinkError(404, [f"No remote link with id {link_id} exists on this issue."])

    def by_global_id(self, issue_id: int, global_id: str) -> RemoteLink:
        for link in self.links.get(issue_id, ()):
            if link.global_id == global_id:
                return link
        raise RemoteLinkError(404, [f"No remote link with global id '{global_id}' exists."])

    def delete(self, issue_id: int, link: RemoteLink) -> None:
        self._check_permission()
        self.links[issue_id] = [other for other in self.links[issue_id] if other is not link]
        self.writes["delete"] += 1

    def _check_permission(self) -> None:
        if not self.can_link:
            raise RemoteLinkError(
                403, ["You do not have the permission to link issues in this project."]
            )


def _parse(body: Any) -> tuple[str | None, Payload | None, str | None, Payload]:
    if not isinstance(body, dict):
        raise RemoteLinkError(400, ["Unrecognized or malformed JSON body."])
    obj = body.get("object")
    errors: dict[str, str] = {}
    if not isinstance(obj, dict):
        obj = {}
    if not obj.get("url"):
        errors["url"] = "'url' is required."
    if not obj.get("title"):
        errors["title"] = "'title' is required."
    global_id = body.get("globalId")
    if global_id is not None and len(str(global_id)) > GLOBAL_ID_MAX:
        errors["globalId"] = f"The global ID must be {GLOBAL_ID_MAX} characters or fewer."
    if errors:
        raise RemoteLinkError(400, [], errors)
    application = body.get("application")
    relationship = body.get("relationship")
    return (
        None if global_id is None else str(global_id),
        application if isinstance(application, dict) else None,
        None if relationship is None else str(relationship),
        obj,
    )
