"""The Confluence half of the simulator: REST API v1 content, attachments and spaces in memory.

Shapes follow real Confluence responses (Cloud under ``/wiki/rest/api``, Data Center under
``/rest/api``): collections with ``start``/``limit``/``size``/``_links``, child paging whose
``_links.next`` is relative to ``_links.base`` (the trap that drops ``/wiki`` on Cloud), optimistic
locking on PUT, the 400 bodies for a duplicate title and for storage XHTML that does not parse.
Auth, latency and injected faults are the simulator server's job, not this module's.

This module holds the state (ConfluenceSim) and keeps the public names; the rest lives beside it:
confluence_records (the dataclasses), confluence_errors (error bodies, storage-format check),
confluence_render (JSON shapes) and confluence_routes (the Flask routes).
"""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from okr_jira.simulator.confluence_errors import (
    AC_NS,
    NO_VERSION_MESSAGE,
    OPTIMISTIC_LOCK_MESSAGE,
    RI_NS,
    SimError,
    no_content,
    no_version_data,
    storage_format_error,
)
from okr_jira.simulator.confluence_records import SimAttachment, SimPage, SimSpace, SimVersion


def _now() -> datetime:
    return datetime.now(UTC)


class ConfluenceSim:
    """Thread-safe in-memory Confluence: spaces, pages with version history, attachments."""

    def __init__(self, spaces: tuple[str, ...] = ("OKR",), *, cloud: bool = True) -> None:
        self.cloud = cloud
        self.lock = threading.RLock()
        self._ids = itertools.count(65537)
        self.spaces: dict[str, SimSpace] = {}
        self.pages: dict[str, SimPage] = {}
        self.attachments: dict[str, SimAttachment] = {}
        self.writes: Counter[str] = Counter()
        # Operations the API user may not do ("create", "update"): a space permission an admin
        # took away. Refused with 403 and left out of `expand=operations`.
        self.denied: set[str] = set()
        for key in spaces:
            self.add_space(key)

    # ----- helpers for tests and the demo ------------------------------------------------------

    def add_space(self, key: str, name: str | None = None) -> SimSpace:
        with self.lock:
            space = SimSpace(id=next(self._ids), key=key, name=name or f"{key} space")
            self.spaces[key] = space
            return space

    def add_page(self, space_key: str, title: str, body: str = "<p></p>") -> SimPage:
        """A page someone made by hand at the space's top level (e.g. the space's "OKRs" page)."""
        storage = {"storage": {"value": body}}
        payload = {"title": title, "space": {"key": space_key}, "body": storage}
        with self.lock:
            page = self.create_page(payload)
            self.writes["page_create"] -= 1  # not okr-jira's write
            return page

    def operations(self) -> list[str]:
        """What the API user may do to pages (`expand=operations` on a space or a page)."""
        return [op for op in ("read", "create", "update", "delete") if op not in self.denied]

    def _allowed(self, operation: str, what: str) -> None:
        if operation in self.denied:
            raise SimError(403, f"User not permitted to {operation} {what}")

    def page_by_title(self, space_key: str, title: str) -> SimPage | None:
        with self.lock:
            for page in self.pages.values():
                if page.status == "current" and page.space_key == space_key and page.title == title:
                    return page
            return None

    def children_of(self, page_id: str) -> list[SimPage]:
        with self.lock:
            found = [
                p for p in self.pages.values() if p.parent_id == page_id and p.status == "current"
            ]
            return sorted(found, key=lambda p: p.position)

    def attachments_of(self, page_id: str) -> list[SimAttachment]:
        with self.lock:
            return [a for a in self.attachments.values() if a.page_id == page_id]

    def delete_by_hand(self, page_id: str) -> None:
        """A person trashes the page in the Confluence UI."""
        with self.lock:
            self._trash(self.current_page(page_id))

    def edit_by_hand(self, page_id: str, body: str, title: str | None = None) -> SimPage:
        """A person edits the page in the Confluence UI: a new version, not counted as a write."""
        with self.lock:
            page = self.current_page(page_id)
            page.title = title or page.title
            page.body = body
            page.versions.append(
                SimVersion(page.version + 1, _now(), page.title, body, by_hand=True)
            )
            return page

    def ancestors_of(self, page: SimPage) -> list[SimPage]:
        with self.lock:
            chain: list[SimPage] = []
            parent_id = page.parent_id
            while parent_id is not None and parent_id in self.pages:
                parent = self.pages[parent_id]
                chain.append(parent)
                parent_id = parent.parent_id
            return list(reversed(chain))

    # ----- operations behind the routes ----------------------------------------------------------

    def current_page(self, page_id: str) -> SimPage:
        """The page, unless it is missing or trashed (404)."""
        page = self.pages.get(page_id)
        if page is None or page.status != "current":
            raise no_content(page_id)
        return page

    def space(self, key: str) -> SimSpace:
        space = self.spaces.get(key)
        if space is None:
            raise SimError(404, f"No space with key : {key}")
        return space

    def find_pages(
        self, *, status: str, space_key: str | None = None, title: str | None = None
    ) -> list[SimPage]:
        """The pages in ``status``, optionally only those of one space and/or with one title."""
        with self.lock:
            return [
                p
                for p in self.pages.values()
                if p.status == status
                and (space_key is None or p.space_key == space_key)
                and (title is None or p.title == title)
            ]

    def _check_title_free(self, space_key: str, title: str, page_id: str | None) -> None:
        other = self.page_by_title(space_key, title)
        if other is not None and other.id != page_id:
            raise SimError(
                400,
                "A page with this title already exists: A page already exists with the title "
                f"{title} in the space with key {space_key}",
            )

    def _check_body(self, body: str) -> None:
        problem = storage_format_error(body)
        if problem is not None:
            prefix = "com.atlassian.confluence.api.service.exceptions.BadRequestException: "
            raise SimError(400, (prefix if self.cloud else "") + problem)

    def _parent_from(self, ancestors: Any, space_key: str) -> str | None:
        if not ancestors:
            return None
        parent_id = str(ancestors[-1].get("id"))
        parent = self.pages.get(parent_id)
        if parent is None or parent.status != "current" or parent.space_key != space_key:
            raise SimError(400, f"Can't add a page with parent {parent_id}: no such page")
        return parent_id

    def create_page(self, payload: dict[str, Any]) -> SimPage:
        with self.lock:
            title = str(payload.get("title") or "")
            space_key = str((payload.get("space") or {}).get("key") or "")
            if not title:
                raise SimError(400, "Title cannot be empty")
            self.space(space_key)
            self._allowed("create", f"pages in space {space_key}")
            body = _storage_value(payload)
            self._check_body(body)
            self._check_title_free(space_key, title, None)
            parent_id = self._parent_from(payload.get("ancestors"), space_key)
            now = _now()
            page_id = str(next(self._ids))
            page = SimPage(
                page_id, space_key, title, body, parent_id, now, position=len(self.pages)
            )
            page.versions.append(SimVersion(1, now, title, body))
            self.pages[page_id] = page
            self.writes["page_create"] += 1
            return page

    def update_page(self, page_id: str, payload: dict[str, Any]) -> SimPage:
        with self.lock:
            page = self.current_page(page_id)
            self._allowed("update", f"content {page_id}")
            version = payload.get("version") or {}
            if "number" not in version:
                raise SimError(400, NO_VERSION_MESSAGE, extra={"data": no_version_data()})
            if int(version["number"]) != page.version + 1:
                raise SimError(409, OPTIMISTIC_LOCK_MESSAGE)
            title = str(payload.get("title") or page.title)
            body = _storage_value(payload) if "body" in payload else page.body
            self._check_body(body)
            self._check_title_free(page.space_key, title, page.id)
            parent_id = self._parent_from(payload.get("ancestors"), page.space_key)
            if parent_id is not None:
                if parent_id == page.id or page in self.ancestors_of(self.pages[parent_id]):
                    raise SimError(400, "Can't move a page below itself")
                page.parent_id = parent_id
            page.title, page.body = title, body
            page.versions.append(
                SimVersion(
                    page.version + 1,
                    _now(),
                    title,
                    body,
                    minor_edit=bool(version.get("minorEdit", False)),
                    message=str(version.get("message") or ""),
                )
            )
            self.writes["page_update"] += 1
            return page

    def _trash(self, page: SimPage) -> None:
        # Confluence moves the children of a trashed page up to its parent.
        for child in self.children_of(page.id):
            child.parent_id = page.parent_id
        page.status = "trashed"

    def delete_page(self, page_id: str, *, purge: bool) -> None:
        with self.lock:
            page = self.pages.get(page_id)
            if page is None:
                raise no_content(page_id)
            if purge:
                if page.status != "trashed":
                    raise SimError(400, "Content must be trashed before it can be purged")
                del self.pages[page_id]
            else:
                self._trash(self.current_page(page_id))
            self.writes["page_delete"] += 1

    def add_attachment(
        self, page_id: str, filename: str, media_type: str, data: bytes, comment: str
    ) -> SimAttachment:
        with self.lock:
            self.current_page(page_id)
            if any(a.filename == filename for a in self.attachments_of(page_id)):
                raise SimError(
                    400,
                    "Cannot add a new attachment with same file name as an existing attachment: "
                    + filename,
                )
            now = _now()
            attachment = SimAttachment(
                f"att{next(self._ids)}", page_id, filename, media_type, data, 1, now, now, comment
            )
            self.attachments[attachment.id] = attachment
            self.writes["attachment_create"] += 1
            return attachment

    def update_attachment_data(
        self, page_id: str, attachment_id: str, media_type: str, data: bytes, comment: str
    ) -> SimAttachment:
        with self.lock:
            self.current_page(page_id)
            attachment = self.attachments.get(attachment_id)
            if attachment is None or attachment.page_id != page_id:
                raise SimError(404, f"No attachment found with id : {attachment_id}")
            attachment.data, attachment.media_type, attachment.comment = data, media_type, comment
            attachment.version += 1
            attachment.updated = _now()
            self.writes["attachment_update"] += 1
            return attachment


def _storage_value(payload: dict[str, Any]) -> str:
    storage = (payload.get("body") or {}).get("storage") or {}
    if storage.get("representation", "storage") != "storage":
        raise SimError(400, "Only the storage representation is supported by this simulator")
    return str(storage.get("value") or "")


def __getattr__(name: str) -> Any:
    # `register_confluence_routes` stays importable from here, but lazily: the routes module
    # imports this one, so importing it above would be circular.
    if name == "register_confluence_routes":
        from okr_jira.simulator.confluence_routes import register_confluence_routes

        return register_confluence_routes
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AC_NS",
    "NO_VERSION_MESSAGE",
    "OPTIMISTIC_LOCK_MESSAGE",
    "RI_NS",
    "ConfluenceSim",
    "SimAttachment",
    "SimError",
    "SimPage",
    "SimSpace",
    "SimVersion",
    "storage_format_error",
]
