"""The Confluence REST API v1 endpoints of the simulator, under one prefix per flavor.

Cloud serves them under ``/wiki/rest/api``, Data Center under ``/rest/api``. Reading the request
(paging, ``expand``, JSON bodies, multipart uploads and their XSRF header) is done here; state
changes are ConfluenceSim's and the answer shapes confluence_render's.
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import flask

from okr_jira.simulator.confluence import ConfluenceSim
from okr_jira.simulator.confluence_errors import SimError, no_content
from okr_jira.simulator.confluence_render import ConfluenceShaper

DEFAULT_LIMIT = 25
MAX_LIMIT = 200
# What a POST or PUT of a page answers with, whatever `expand` asks for.
WRITE_EXPAND = frozenset({"space", "history", "version", "ancestors", "body.storage"})
GET_EXPAND = frozenset({"space", "history", "version"})  # a GET by id without `expand`

OCTET_STREAM = "application/octet-stream"
_WRITE_HEADER_RE = re.compile(r"^no-?check$", re.IGNORECASE)
_T = TypeVar("_T")


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
    # Unlike http.body_json (Jira's), a body that is not a JSON object is refused, not read as {}.
    payload = flask.request.get_json(silent=True)
    if not isinstance(payload, dict):
        raise SimError(400, "Unrecognized or malformed JSON body")
    return payload


def _upload(*, update: bool) -> tuple[str, str, bytes, str]:
    """(filename, media type Confluence stores, bytes, comment) of a multipart upload.

    The media type is the file part's Content-Type. Without one, a new attachment's type is
    guessed from its name, but a new version of an existing one is stored as
    application/octet-stream (FACTS.md: an SVG updated that way turns into a broken image).
    """
    if not _WRITE_HEADER_RE.match(flask.request.headers.get("X-Atlassian-Token", "")):
        raise SimError(403, "XSRF check failed")
    upload = flask.request.files.get("file")
    if upload is None or not upload.filename:
        raise SimError(400, "No file part named 'file' in the multipart request")
    sent = upload.headers.get("Content-Type")
    if sent:
        media_type = upload.mimetype
    elif update:
        media_type = OCTET_STREAM
    else:
        media_type = mimetypes.guess_type(upload.filename)[0] or OCTET_STREAM
    comment = flask.request.form.get("comment", "")
    return upload.filename, media_type, upload.read(), comment


def _listing(
    shape: ConfluenceShaper,
    found: Sequence[_T],
    render: Callable[[_T], dict[str, Any]],
    path: str,
    start: int,
    limit: int,
) -> flask.Response:
    """One page of ``found`` as a collection; the request's other parameters go into its links."""
    results = [render(item) for item in found[start : start + limit]]
    params = {k: v for k, v in flask.request.args.items() if k not in {"start", "limit"}}
    return flask.jsonify(
        shape.collection(results, start, limit, path, params, more=len(found) > start + limit)
    )


def register_confluence_routes(app: flask.Flask, sim: ConfluenceSim, *, prefix: str) -> None:
    """Serve ``sim`` under ``prefix``: "/wiki/rest/api" (Cloud) or "/rest/api" (Data Center)."""
    context = prefix.removesuffix("/rest/api")
    sim.cloud = context == "/wiki"  # error texts differ slightly between the flavors
    bp = flask.Blueprint(f"confluence{context.replace('/', '_')}", __name__)

    def shaper() -> ConfluenceShaper:
        return ConfluenceShaper(sim, context)

    @bp.errorhandler(SimError)
    def sim_error(error: SimError) -> tuple[flask.Response, int]:
        return flask.jsonify(error.body()), error.status

    @bp.get(f"{prefix}/content")
    def content_list() -> flask.Response:
        args = flask.request.args
        start, limit = _paging()
        with sim.lock:
            pages = (
                sim.find_pages(
                    status=args.get("status", "current"),
                    space_key=args.get("spaceKey"),
                    title=args.get("title"),
                )
                if args.get("type", "page") == "page"
                else []
            )
            shape, expand = shaper(), _expand()
            return _listing(
                shape, pages, lambda p: shape.page(p, expand), "/rest/api/content", start, limit
            )

    @bp.get(f"{prefix}/content/<page_id>")
    def content_get(page_id: str) -> flask.Response:
        expand = _expand() if "expand" in flask.request.args else GET_EXPAND
        with sim.lock:
            page = sim.pages.get(page_id)
            wanted = flask.request.args.get("status", "current")
            if page is None or (page.status != wanted and wanted != "any"):
                raise no_content(page_id)
            return flask.jsonify(shaper().page(page, expand))

    @bp.get(f"{prefix}/content/<page_id>/history")
    def content_history(page_id: str) -> flask.Response:
        """What atlassian-python-api's `update_page` reads the current version from."""
        with sim.lock:
            page = sim.current_page(page_id)
            shape = shaper()
            history = shape.history(page)
            history["lastUpdated"] = shape.version(page, page.versions[-1])
            history["_links"] = {"self": f"{shape.api}/content/{page.id}/history"}
            return flask.jsonify(history)

    @bp.post(f"{prefix}/content")
    def content_create() -> flask.Response:
        page = sim.create_page(_json_body())
        with sim.lock:
            return flask.jsonify(shaper().page(page, WRITE_EXPAND))

    @bp.put(f"{prefix}/content/<page_id>")
    def content_update(page_id: str) -> flask.Response:
        page = sim.update_page(page_id, _json_body())
        with sim.lock:
            return flask.jsonify(shaper().page(page, WRITE_EXPAND))

    @bp.delete(f"{prefix}/content/<page_id>")
    def content_delete(page_id: str) -> tuple[str, int]:
        sim.delete_page(page_id, purge=flask.request.args.get("status") == "trashed")
        return "", 204

    @bp.get(f"{prefix}/content/<page_id>/child/page")
    def child_pages(page_id: str) -> flask.Response:
        start, limit = _paging()
        with sim.lock:
            sim.current_page(page_id)
            shape, expand = shaper(), _expand()
            return _listing(
                shape,
                sim.children_of(page_id),
                lambda p: shape.page(p, expand),
                f"/rest/api/content/{page_id}/child/page",
                start,
                limit,
            )

    @bp.get(f"{prefix}/content/<page_id>/child/attachment")
    def attachment_list(page_id: str) -> flask.Response:
        start, limit = _paging()
        args = flask.request.args
        with sim.lock:
            sim.current_page(page_id)
            found = [
                a
                for a in sim.attachments_of(page_id)
                if args.get("filename", a.filename) == a.filename
                and args.get("mediaType", a.media_type) == a.media_type
            ]
            shape = shaper()
            return _listing(
                shape,
                found,
                shape.attachment,
                f"/rest/api/content/{page_id}/child/attachment",
                start,
                limit,
            )

    @bp.post(f"{prefix}/content/<page_id>/child/attachment")
    def attachment_create(page_id: str) -> flask.Response:
        filename, media_type, data, comment = _upload(update=False)
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
        _filename, media_type, data, comment = _upload(update=True)
        attachment = sim.update_attachment_data(page_id, attachment_id, media_type, data, comment)
        return flask.jsonify(shaper().attachment(attachment))

    @bp.put(f"{prefix}/content/<page_id>/child/attachment")
    def attachment_put(page_id: str) -> tuple[flask.Response, int]:
        # Real Confluence answers a multipart PUT here with 415 (atlassian-python-api #1677).
        return flask.jsonify({"statusCode": 415, "message": "Unsupported Media Type"}), 415

    @bp.get(f"{context}/download/attachments/<page_id>/<path:filename>")
    def attachment_download(page_id: str, filename: str) -> flask.Response:
        with sim.lock:
            for attachment in sim.attachments_of(page_id):
                if attachment.filename == filename:
                    return flask.Response(attachment.data, mimetype=attachment.media_type)
        raise SimError(404, f"No attachment {filename} on content {page_id}")

    @bp.get(f"{prefix}/space/<key>")
    def space_get(key: str) -> flask.Response:
        with sim.lock:
            return flask.jsonify(shaper().space(sim.space(key), _expand()))

    app.register_blueprint(bp)
