"""The Confluence half of the simulator: REST API v1 content, attachments and spaces in memory.

Shapes follow real Confluence responses (Cloud under ``/wiki/rest/api``, Data Center under
``/rest/api``): collections with ``start``/``limit``/``size``/``_links``, child paging whose
``_links.next`` is relative to ``_links.base`` (the trap that drops ``/wiki`` on Cloud), optimistic
locking on PUT, the 400 bodies for a duplicate title and for storage XHTML that does not parse.
Auth, latency and injected faults are the simulator server's job, not this module's.
"""

from __future__ import annotations

import html.entities
import itertools
import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote
from xml.parsers import expat

import flask

AC_NS = "http://atlassian.com/content"
RI_NS = "http://atlassian.com/resource/identifier"
DEFAULT_LIMIT = 25
MAX_LIMIT = 200

_ERROR_DATA = {"authorized": False, "valid": True, "errors": [], "successful": False}
# Confluence accepts the XHTML named entities (&nbsp;, &mdash;, ...) in storage format; XML knows
# only five. Declaring them in an internal DTD subset makes expat accept exactly those.
_ENTITY_DTD = "".join(
    f'<!ENTITY {name} "&#{code};">'
    for name, code in html.entities.name2codepoint.items()
    if name not in {"amp", "lt", "gt", "quot", "apos"}
)
_PROLOGUE = f"<!DOCTYPE storage [{_ENTITY_DTD}]>\n"
_ROOT_OPEN = f'<storage xmlns:ac="{AC_NS}" xmlns:ri="{RI_NS}">\n'


def storage_format_error(body: str) -> str | None:
    """Why Confluence would refuse ``body`` as storage format, or None when it is well-formed."""
    parser = expat.ParserCreate(namespace_separator=" ")
    try:
        parser.Parse(_PROLOGUE + _ROOT_OPEN + body + "\n</storage>", True)
    except expat.ExpatError as error:
        row = max(error.lineno - 2, 1)
        reason = expat.errors.messages[error.code]
        where = f"[row,col {{unknown-source}}]: [{row},{error.offset + 1}]"
        return f"Error parsing xhtml: {reason}\n at {where}"
    return None


class SimError(Exception):
    """An API error answered with Confluence's JSON error body."""

    def __init__(self, status: int, message: str, *, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra or {}

    def body(self) -> dict[str, Any]:
        reasons = {400: "Bad Request", 403: "Forbidden", 404: "Not Found", 409: "Conflict"}
        body: dict[str, Any] = {"statusCode": self.status, "data": dict(_ERROR_DATA)}
        body["message"] = self.message
        if self.status in reasons and self.status != 409:
            body["reason"] = reasons[self.status]
        body.update(self.extra)
        return body


NO_VERSION_MESSAGE = (
    "Must supply an incremented version when updating Content. No version supplied."
)
OPTIMISTIC_LOCK_MESSAGE = (
    "com.atlassian.confluence.api.service.exceptions.ConflictException: "
    "javax.persistence.OptimisticLockException: Batch update returned unexpected row count "
    "from update [0]; actual row count: 0; expected: 1"
)


@dataclass
class SimVersion:
    number: int
    when: datetime
    title: str
    body: str
    minor_edit: bool = False
    message: str = ""
    by_hand: bool = False


@dataclass
class SimPage:
    id: str
    space_key: str
    title: str
    body: str
    parent_id: str | None
    created: datetime
    versions: list[SimVersion] = field(default_factory=list)
    status: str = "current"  # "current" | "trashed"
    position: int = 0

    @property
    def version(self) -> int:
        return self.versions[-1].number

    @property
    def updated(self) -> datetime:
        return self.versions[-1].when


@dataclass
class SimAttachment:
    id: str
    page_id: str
    filename: str
    media_type: str
    data: bytes
    version: int
    created: datetime
    updated: datetime
    comment: str = ""


@dataclass
class SimSpace:
    id: int
    key: str
    name: str


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


class ConfluenceSim:
    """Thread-safe in-memory Confluence: spaces, pages with version history, attachments."""

    def __init__(self, spaces: tuple[str, ...] = ("OKR",), *, cloud: bool = True) -> None:
        self.cloud = cloud
        self._lock = threading.RLock()
        self._ids = itertools.count(65537)
        self.spaces: dict[str, SimSpace] = {}
        self.pages: dict[str, SimPage] = {}
        self.attachments: dict[str, SimAttachment] = {}
        self.writes: Counter[str] = Counter()
        for key in spaces:
            self.add_space(key)

    # ----- helpers for tests and the demo ------------------------------------------------------

    def add_space(self, key: str, name: str | None = None) -> SimSpace:
        with self._lock:
            space = SimSpace(id=next(self._ids), key=key, name=name or f"{key} space")
            self.spaces[key] = space
            return space

    def page_by_title(self, space_key: str, title: str) -> SimPage | None:
        with self._lock:
            for page in self.pages.values():
                if page.status == "current" and page.space_key == space_key and page.title == title:
                    return page
            return None

    def children_of(self, page_id: str) -> list[SimPage]:
        with self._lock:
            found = [
                p for p in self.pages.values() if p.parent_id == page_id and p.status == "current"
            ]
            return sorted(found, key=lambda p: p.position)

    def attachments_of(self, page_id: str) -> list[SimAttachment]:
        with self._lock:
            return [a for a in self.attachments.values() if a.page_id == page_id]

    def delete_by_hand(self, page_id: str) -> None:
        """A person trashes the page in the Confluence UI."""
        with self._lock:
            self._trash(self._current(page_id))

    def edit_by_hand(self, page_id: str, body: str, title: str | None = None) -> SimPage:
        """A person edits the page in the Confluence UI: a new version, not counted as a write."""
        with self._lock:
            page = self._current(page_id)
            page.title = title or page.title
            page.body = body
            page.versions.append(
                SimVersion(page.version + 1, _now(), page.title, body, by_hand=True)
            )
            return page

    def ancestors_of(self, page: SimPage) -> list[SimPage]:
        with self._lock:
            chain: list[SimPage] = []
            parent_id = page.parent_id
            while parent_id is not None and parent_id in self.pages:
                parent = self.pages[parent_id]
                chain.append(parent)
                parent_id = parent.parent_id
            return list(reversed(chain))

    # ----- operations behind the routes ----------------------------------------------------------

    def _current(self, page_id: str) -> SimPage:
        page = self.pages.get(page_id)
        if page is None or page.status != "current":
            raise SimError(404, f"No content found with id : ContentId{{id={page_id}}}")
        return page

    def _space(self, key: str) -> SimSpace:
        space = self.spaces.get(key)
        if space is None:
            raise SimError(404, f"No space with key : {key}")
        return space

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
        with self._lock:
            title = str(payload.get("title") or "")
            space_key = str((payload.get("space") or {}).get("key") or "")
            if not title:
                raise SimError(400, "Title cannot be empty")
            self._space(space_key)
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
        with self._lock:
            page = self._current(page_id)
            version = payload.get("version") or {}
            if "number" not in version:
                raise SimError(400, NO_VERSION_MESSAGE, extra={"data": _no_version_data()})
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
        with self._lock:
            page = self.pages.get(page_id)
            if page is None:
                raise SimError(404, f"No content found with id : ContentId{{id={page_id}}}")
            if purge:
                if page.status != "trashed":
                    raise SimError(400, "Content must be trashed before it can be purged")
                del self.pages[page_id]
            else:
                self._trash(self._current(page_id))
            self.writes["page_delete"] += 1

    def add_attachment(
        self, page_id: str, filename: str, media_type: str, data: bytes, comment: str
    ) -> SimAttachment:
        with self._lock:
            self._current(page_id)
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
        with self._lock:
            self._current(page_id)
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


def _no_version_data() -> dict[str, Any]:
    return {**_ERROR_DATA, "allowedInReadOnlyMode": True}


# ----- JSON shapes --------------------------------------------------------------------------------


class _Shaper:
    """Builds response JSON with `_links` as the requesting client sees the site."""

    def __init__(self, sim: ConfluenceSim, context: str) -> None:
        self.sim = sim
        self.context = context
        self.base = flask.request.host_url.rstrip("/") + context
        self.api = self.base + "/rest/api"

    def space(self, space: SimSpace) -> dict[str, Any]:
        return {
            "id": space.id,
            "key": space.key,
            "name": space.name,
            "type": "global",
            "status": "current",
            "_expandable": {"homepage": "", "description": ""},
            "_links": {"webui": f"/spaces/{space.key}", "self": f"{self.api}/space/{space.key}"},
        }

    def version(self, page: SimPage, version: SimVersion) -> dict[str, Any]:
        return {
            "by": {"type": "known", "displayName": "Person" if version.by_hand else "okr-jira"},
            "when": _iso(version.when),
            "message": version.message,
            "number": version.number,
            "minorEdit": version.minor_edit,
            "_links": {"self": f"{self.api}/content/{page.id}/version/{version.number}"},
        }

    def page(self, page: SimPage, expand: set[str]) -> dict[str, Any]:
        out: dict[str, Any] = {"id": page.id, "type": "page", "status": page.status}
        out["title"] = page.title
        expandable: dict[str, Any] = {
            "children": f"/rest/api/content/{page.id}/child",
            "history": f"/rest/api/content/{page.id}/history",
            "container": f"/rest/api/space/{page.space_key}",
        }
        if "space" in expand or "container" in expand:
            shaped = self.space(self.sim.spaces[page.space_key])
            out["space" if "space" in expand else "container"] = shaped
        if "space" not in expand:
            expandable["space"] = f"/rest/api/space/{page.space_key}"
        if "version" in expand:
            out["version"] = self.version(page, page.versions[-1])
        else:
            expandable["version"] = ""
        if "history" in expand:
            out["history"] = {
                "latest": True,
                "createdDate": _iso(page.created),
                "createdBy": {"type": "known", "displayName": "okr-jira"},
            }
        if "ancestors" in expand:
            out["ancestors"] = [self.page(p, set()) for p in self.sim.ancestors_of(page)]
        else:
            expandable["ancestors"] = ""
        if "body.storage" in expand:
            out["body"] = {
                "storage": {"value": page.body, "representation": "storage"},
                "_expandable": {"view": "", "export_view": "", "editor": ""},
            }
        else:
            expandable["body"] = ""
        if "children.attachment" in expand:
            attachments = self.sim.attachments_of(page.id)
            out["children"] = {
                "attachment": self.collection(
                    [self.attachment(a) for a in attachments],
                    0,
                    len(attachments) or 1,
                    f"/rest/api/content/{page.id}/child/attachment",
                    {},
                    more=False,
                )
            }
        out["extensions"] = {"position": page.position}
        out["_expandable"] = expandable
        out["_links"] = {
            "webui": f"/spaces/{page.space_key}/pages/{page.id}/{quote(page.title)}",
            "edit": f"/pages/resumedraft.action?draftId={page.id}",
            "tinyui": f"/x/{page.id}",
            "self": f"{self.api}/content/{page.id}",
        }
        return out

    def attachment(self, att: SimAttachment) -> dict[str, Any]:
        stamp = int(att.updated.timestamp() * 1000)
        download = (
            f"/download/attachments/{att.page_id}/{quote(att.filename)}"
            f"?version={att.version}&modificationDate={stamp}&api=v2"
        )
        return {
            "id": att.id,
            "type": "attachment",
            "status": "current",
            "title": att.filename,
            "version": {"when": _iso(att.updated), "number": att.version, "minorEdit": True},
            "metadata": {"mediaType": att.media_type, "comment": att.comment},
            "extensions": {
                "mediaType": att.media_type,
                "fileSize": len(att.data),
                "comment": att.comment,
            },
            "_links": {
                "webui": f"/pages/viewpageattachments.action?pageId={att.page_id}",
                "download": download,
                "self": f"{self.api}/content/{att.id}",
            },
        }

    def collection(
        self,
        results: list[dict[str, Any]],
        start: int,
        limit: int,
        path: str,
        params: dict[str, str],
        *,
        more: bool,
    ) -> dict[str, Any]:
        links: dict[str, Any] = {"base": self.base, "context": self.context}
        query = "&".join(f"{k}={quote(v)}" for k, v in params.items())
        links["self"] = self.base + path + (f"?{query}" if query else "")
        if more:
            # Relative to `base`, exactly as Confluence builds it: a client that joins it to the
            # site root instead of `base` loses the `/wiki` context on Cloud.
            next_query = "&".join(
                [f"{k}={quote(v)}" for k, v in params.items() if k not in {"start", "limit"}]
                + [f"limit={limit}", f"start={start + limit}"]
            )
            links["next"] = f"{path}?{next_query}"
        if start > 0:
            prev_query = f"limit={limit}&start={max(start - limit, 0)}"
            links["prev"] = f"{path}?{prev_query}"
        return {
            "results": results,
            "start": start,
            "limit": limit,
            "size": len(results),
            "_links": links,
        }


def _expand() -> set[str]:
    raw = flask.request.args.get("expand", "")
    return {part.strip() for part in raw.split(",") if part.strip()}


def _paging() -> tuple[int, int]:
    try:
        start = max(int(flask.request.args.get("start", 0)), 0)
        limit = int(flask.request.args.get("limit", DEFAULT_LIMIT))
    except ValueError as error:
        raise SimError(400, "start and limit must be integers") from error
    return start, min(max(limit, 1), MAX_LIMIT)


def _json_body() -> dict[str, Any]:
    payload = flask.request.get_json(silent=True)
    if not isinstance(payload, dict):
        raise SimError(400, "Unrecognized or malformed JSON body")
    return payload


_WRITE_HEADER_RE = re.compile(r"^no-?check$", re.IGNORECASE)


def _upload() -> tuple[str, str, bytes, str]:
    if not _WRITE_HEADER_RE.match(flask.request.headers.get("X-Atlassian-Token", "")):
        raise SimError(403, "XSRF check failed")
    upload = flask.request.files.get("file")
    if upload is None or not upload.filename:
        raise SimError(400, "No file part named 'file' in the multipart request")
    media_type = upload.mimetype or "application/octet-stream"
    comment = flask.request.form.get("comment", "")
    return upload.filename, media_type, upload.read(), comment


def register_confluence_routes(app: flask.Flask, sim: ConfluenceSim, *, prefix: str) -> None:
    """Serve ``sim`` under ``prefix``: "/wiki/rest/api" (Cloud) or "/rest/api" (Data Center)."""
    context = prefix.removesuffix("/rest/api")
    sim.cloud = context == "/wiki"  # error texts differ slightly between the flavors
    bp = flask.Blueprint(f"confluence{context.replace('/', '_')}", __name__)

    def shaper() -> _Shaper:
        return _Shaper(sim, context)

    @bp.errorhandler(SimError)
    def sim_error(error: SimError) -> tuple[flask.Response, int]:
        return flask.jsonify(error.body()), error.status

    @bp.get(f"{prefix}/content")
    def content_list() -> flask.Response:
        args = flask.request.args
        start, limit = _paging()
        with sim._lock:
            pages = [
                p
                for p in sim.pages.values()
                if p.status == args.get("status", "current")
                and args.get("type", "page") == "page"
                and ("spaceKey" not in args or p.space_key == args["spaceKey"])
                and ("title" not in args or p.title == args["title"])
            ]
            shape = shaper()
            window = pages[start : start + limit]
            results = [shape.page(p, _expand()) for p in window]
        params = {k: v for k, v in args.items() if k not in {"start", "limit"}}
        return flask.jsonify(
            shape.collection(
                results, start, limit, "/rest/api/content", params, more=len(pages) > start + limit
            )
        )

    @bp.get(f"{prefix}/content/<page_id>")
    def content_get(page_id: str) -> flask.Response:
        expand = _expand() if "expand" in flask.request.args else {"space", "history", "version"}
        with sim._lock:
            page = sim.pages.get(page_id)
            wanted = flask.request.args.get("status", "current")
            if page is None or (page.status != wanted and wanted != "any"):
                raise SimError(404, f"No content found with id : ContentId{{id={page_id}}}")
            return flask.jsonify(shaper().page(page, expand))

    @bp.get(f"{prefix}/content/<page_id>/history")
    def content_history(page_id: str) -> flask.Response:
        """What atlassian-python-api's `update_page` reads the current version from."""
        with sim._lock:
            page = sim._current(page_id)
            shape = shaper()
            return flask.jsonify(
                {
                    "latest": True,
                    "createdDate": _iso(page.created),
                    "createdBy": {"type": "known", "displayName": "okr-jira"},
                    "lastUpdated": shape.version(page, page.versions[-1]),
                    "_links": {"self": f"{shape.api}/content/{page.id}/history"},
                }
            )

    @bp.post(f"{prefix}/content")
    def content_create() -> flask.Response:
        page = sim.create_page(_json_body())
        with sim._lock:
            shaped = shaper().page(
                page, {"space", "history", "version", "ancestors", "body.storage"}
            )
        return flask.jsonify(shaped)

    @bp.put(f"{prefix}/content/<page_id>")
    def content_update(page_id: str) -> flask.Response:
        page = sim.update_page(page_id, _json_body())
        with sim._lock:
            shaped = shaper().page(
                page, {"space", "history", "version", "ancestors", "body.storage"}
            )
        return flask.jsonify(shaped)

    @bp.delete(f"{prefix}/content/<page_id>")
    def content_delete(page_id: str) -> tuple[str, int]:
        sim.delete_page(page_id, purge=flask.request.args.get("status") == "trashed")
        return "", 204

    @bp.get(f"{prefix}/content/<page_id>/child/page")
    def child_pages(page_id: str) -> flask.Response:
        start, limit = _paging()
        with sim._lock:
            sim._current(page_id)
            children = sim.children_of(page_id)
            shape = shaper()
            results = [shape.page(p, _expand()) for p in children[start : start + limit]]
        params = {k: v for k, v in flask.request.args.items() if k not in {"start", "limit"}}
        return flask.jsonify(
            shape.collection(
                results,
                start,
                limit,
                f"/rest/api/content/{page_id}/child/page",
                params,
                more=len(children) > start + limit,
            )
        )

    @bp.get(f"{prefix}/content/<page_id>/child/attachment")
    def attachment_list(page_id: str) -> flask.Response:
        start, limit = _paging()
        args = flask.request.args
        with sim._lock:
            sim._current(page_id)
            found = [
                a
                for a in sim.attachments_of(page_id)
                if args.get("filename", a.filename) == a.filename
                and args.get("mediaType", a.media_type) == a.media_type
            ]
            shape = shaper()
            results = [shape.attachment(a) for a in found[start : start + limit]]
        params = {k: v for k, v in args.items() if k not in {"start", "limit"}}
        return flask.jsonify(
            shape.collection(
                results,
                start,
                limit,
                f"/rest/api/content/{page_id}/child/attachment",
                params,
                more=len(found) > start + limit,
            )
        )

    @bp.post(f"{prefix}/content/<page_id>/child/attachment")
    def attachment_create(page_id: str) -> flask.Response:
        filename, media_type, data, comment = _upload()
        attachment = sim.add_attachment(page_id, filename, media_type, data, comment)
        shape = shaper()
        return flask.jsonify(
            shape.collection(
                [shape.attachment(attachment)],
                0,
                DEFAULT_LIMIT,
                f"/rest/api/content/{page_id}/child/attachment",
                {},
                more=False,
            )
        )

    @bp.post(f"{prefix}/content/<page_id>/child/attachment/<attachment_id>/data")
    def attachment_update(page_id: str, attachment_id: str) -> flask.Response:
        _filename, media_type, data, comment = _upload()
        attachment = sim.update_attachment_data(page_id, attachment_id, media_type, data, comment)
        return flask.jsonify(shaper().attachment(attachment))

    @bp.put(f"{prefix}/content/<page_id>/child/attachment")
    def attachment_put(page_id: str) -> tuple[flask.Response, int]:
        # Real Confluence answers a multipart PUT here with 415 (atlassian-python-api #1677).
        return flask.jsonify({"statusCode": 415, "message": "Unsupported Media Type"}), 415

    @bp.get(f"{context}/download/attachments/<page_id>/<path:filename>")
    def attachment_download(page_id: str, filename: str) -> flask.Response:
        with sim._lock:
            for attachment in sim.attachments_of(page_id):
                if attachment.filename == filename:
                    return flask.Response(attachment.data, mimetype=attachment.media_type)
        raise SimError(404, f"No attachment {filename} on content {page_id}")

    @bp.get(f"{prefix}/space/<key>")
    def space_get(key: str) -> flask.Response:
        with sim._lock:
            return flask.jsonify(shaper().space(sim._space(key)))

    app.register_blueprint(bp)
