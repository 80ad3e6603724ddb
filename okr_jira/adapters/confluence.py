"""Thin adapter over atlassian-python-api's Confluence v1 client, returning plain values.

The client class comes from the configured flavor, never from the host name: in 5.0.x
``Confluence(url)`` hands ``*.atlassian.net`` a legacy class without ``create_page``. The library
builds URLs and authenticates; this module owns status handling (it runs the client in
``advanced_mode`` so every call returns the raw response), retries, version conflicts, child
paging (the library's ``_links.next`` handling drops ``/wiki`` on Cloud) and attachment updates
(the library re-uploads with a PUT that Confluence answers 415).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

import requests
from atlassian import ConfluenceServer

from okr_jira.adapters.http import RequestStats, RetryPolicy, make_session, short_error
from okr_jira.errors import OkrJiraError

log = logging.getLogger(__name__)

Flavor = Literal["cloud", "datacenter"]
PAGE_EXPAND = "version,ancestors,space"
_NO_CHECK = {"X-Atlassian-Token": "no-check", "Accept": "application/json"}


class ConfluenceError(OkrJiraError):
    """A Confluence call that failed for good: ``status`` is None when no response came back."""

    def __init__(self, method: str, path: str, status: int | None, message: str) -> None:
        self.method = method
        self.path = path
        self.status = status
        self.message = message
        what = f"HTTP {status}" if status is not None else "no response"
        super().__init__(f"Confluence {method} {path} failed ({what}): {message}")


class ConflictError(ConfluenceError):
    """The page changed under us twice in a row (409 / version not incremented)."""


@dataclass(frozen=True, slots=True)
class PageRef:
    id: str
    title: str
    space_key: str | None
    version: int
    parent_id: str | None
    body: str | None = None  # storage XHTML, when asked for


@dataclass(frozen=True, slots=True)
class AttachmentRef:
    id: str
    filename: str
    version: int
    media_type: str | None
    size: int | None
    comment: str | None = None  # the version's comment: okr-jira keeps its content hash there


def normalize_url(flavor: Flavor, url: str) -> str:
    """Cloud: the site with or without ``/wiki`` -> ``https://site/wiki``; DC: the base URL."""
    parts = urlsplit(url.strip())
    path = parts.path.rstrip("/")
    if flavor == "cloud" and not path.endswith("/wiki"):
        path += "/wiki"
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def make_client(
    flavor: Flavor,
    url: str,
    *,
    token: str,
    user: str | None = None,
    policy: RetryPolicy | None = None,
    stats: RequestStats | None = None,
) -> ConfluenceServer:
    """A v1 REST client. Cloud: account e-mail + API token (basic); DC: personal access token.

    Timeouts, retries and Retry-After come from the shared session policy (`adapters/http.py`);
    the library's own would sleep up to 1800 s on a 429 or retry a POST 1000 times.
    """
    common: dict[str, Any] = {
        "session": make_session(policy or RetryPolicy(), stats),
        "advanced_mode": True,
        "backoff_and_retry": False,
        "retry_with_header": False,
    }
    if flavor == "cloud":
        if not user:
            raise ValueError("Confluence Cloud needs the account e-mail with the API token")
        return ConfluenceServer(
            normalize_url(flavor, url), username=user, password=token, cloud=True, **common
        )
    if flavor == "datacenter":
        return ConfluenceServer(normalize_url(flavor, url), token=token, cloud=False, **common)
    raise ValueError(f"unknown Confluence flavor {flavor!r}: use 'cloud' or 'datacenter'")


def _page_ref(data: dict[str, Any]) -> PageRef:
    ancestors = data.get("ancestors") or []
    body = ((data.get("body") or {}).get("storage") or {}).get("value")
    return PageRef(
        id=str(data["id"]),
        title=str(data.get("title", "")),
        space_key=(data.get("space") or {}).get("key"),
        version=int((data.get("version") or {}).get("number", 0)),
        parent_id=str(ancestors[-1]["id"]) if ancestors else None,
        body=body,
    )


def _attachment_ref(data: dict[str, Any]) -> AttachmentRef:
    extensions = data.get("extensions") or {}
    metadata = data.get("metadata") or {}
    media_type = extensions.get("mediaType") or metadata.get("mediaType")
    return AttachmentRef(
        id=str(data["id"]),
        filename=str(data.get("title", "")),
        version=int((data.get("version") or {}).get("number", 1)),
        media_type=media_type,
        size=extensions.get("fileSize"),
        comment=metadata.get("comment") or extensions.get("comment"),
    )


def _is_version_conflict(response: requests.Response) -> bool:
    if response.status_code == 409:
        return True
    message = short_error(response).lower() if response.status_code == 400 else ""
    return "incremented version" in message or "version must be incremented" in message


class ConfluenceAdapter:
    """The few Confluence operations publishing needs, with retries and plain return values."""

    def __init__(self, client: ConfluenceServer, *, page_size: int = 100) -> None:
        self.client = client
        self.page_size = page_size
        self._api_path = urlsplit(client.url).path.rstrip("/") + "/rest/api"

    # ----- plumbing ----------------------------------------------------------------------------

    def _send(self, method: str, path: str, call: Callable[[], Any]) -> requests.Response:
        try:
            response = call()
        except requests.RequestException as error:  # retries already spent by the session
            raise ConfluenceError(
                method, f"{self._api_path}/{path}", None, type(error).__name__
            ) from None
        if not isinstance(response, requests.Response):  # advanced_mode guarantees it
            raise TypeError(f"expected a Response from the client, got {type(response)}")
        return response

    def _fail(self, method: str, path: str, response: requests.Response) -> ConfluenceError:
        kind = ConflictError if _is_version_conflict(response) else ConfluenceError
        return kind(method, f"{self._api_path}/{path}", response.status_code, short_error(response))

    def _json(self, method: str, path: str, call: Callable[[], Any]) -> dict[str, Any]:
        response = self._send(method, path, call)
        if not response.ok:
            raise self._fail(method, path, response)
        payload = response.json()
        if not isinstance(payload, dict):
            raise ConfluenceError(
                method, f"{self._api_path}/{path}", response.status_code, "unexpected JSON"
            )
        return payload

    # ----- pages -------------------------------------------------------------------------------

    def find_page_by_title(self, space_key: str, title: str) -> PageRef | None:
        payload = self._json(
            "GET",
            "content",
            lambda: self.client.get_page_by_title(space_key, title, expand=PAGE_EXPAND),
        )
        results = payload.get("results") or []
        return _page_ref(results[0]) if results else None

    def get_page(self, page_id: str, *, with_body: bool = True) -> PageRef | None:
        """The page with its version (and body), None when it does not exist or is trashed."""
        expand = PAGE_EXPAND + (",body.storage" if with_body else "")
        path = f"content/{page_id}"
        response = self._send(
            "GET", path, lambda: self.client.get_page_by_id(page_id, expand=expand)
        )
        if response.status_code == 404:
            return None
        if not response.ok:
            raise self._fail("GET", path, response)
        return _page_ref(response.json())

    def create_page(self, space_key: str, title: str, body: str, parent_id: str | None) -> PageRef:
        payload = self._json(
            "POST",
            "content",
            lambda: self.client.create_page(
                space_key, title, body, parent_id=parent_id, representation="storage"
            ),
        )
        return _page_ref(payload)

    def update_page(
        self,
        page_id: str,
        title: str,
        body: str,
        parent_id: str | None,
        version: int,
        *,
        minor_edit: bool = True,
        message: str = "Published by okr-jira",
    ) -> PageRef:
        """PUT a new version over ``version`` (the one last read); moves the page when
        ``parent_id`` differs. On a version conflict re-reads the page and tries once more."""
        path = f"content/{page_id}"

        def put(current: int) -> requests.Response:
            data: dict[str, Any] = {
                "id": page_id,
                "type": "page",
                "title": title,
                "body": {"storage": {"value": body, "representation": "storage"}},
                "version": {"number": current + 1, "minorEdit": minor_edit, "message": message},
            }
            if parent_id is not None:
                data["ancestors"] = [{"id": parent_id}]
            return self._send("PUT", path, lambda: self.client.put(path, data=data))

        response = put(version)
        if _is_version_conflict(response):
            latest = self.get_page(page_id, with_body=False)
            if latest is None:
                raise self._fail("PUT", path, response)
            log.info(
                "confluence.update.conflict page %s: version %s, now %s; retrying once",
                page_id,
                version,
                latest.version,
                extra={"page_id": page_id, "version": version, "current": latest.version},
            )
            response = put(latest.version)
        if not response.ok:
            raise self._fail("PUT", path, response)
        return _page_ref(response.json())

    def move_page(self, page_id: str, parent_id: str) -> PageRef:
        """Put the page under ``parent_id``, keeping its title and body."""
        page = self.get_page(page_id)
        if page is None:
            raise ConfluenceError("GET", f"{self._api_path}/content/{page_id}", 404, "no such page")
        return self.update_page(page_id, page.title, page.body or "", parent_id, page.version)

    def delete_page(self, page_id: str) -> bool:
        """Move the page to the trash; False when it was already gone."""
        path = f"content/{page_id}"
        response = self._send("DELETE", path, lambda: self.client.remove_page(page_id))
        if response.status_code == 404:
            return False
        if not response.ok:
            raise self._fail("DELETE", path, response)
        return True

    def children(self, page_id: str) -> Iterator[PageRef]:
        """Every child page, following ``_links.next`` against ``_links.base`` (keeps ``/wiki``)."""
        path = f"content/{page_id}/child/page"
        payload = self._json(
            "GET",
            path,
            lambda: self.client.get(path, params={"limit": self.page_size, "expand": PAGE_EXPAND}),
        )
        while True:
            for result in payload.get("results") or []:
                yield _page_ref(result)
            links = payload.get("_links") or {}
            next_link = links.get("next")
            if not next_link:
                return
            url = str(next_link)
            if not urlsplit(url).scheme:
                base = str(links.get("base") or self.client.url).rstrip("/")
                url = base + "/" + url.lstrip("/")
            payload = self._json("GET", path, partial(self.client.get, url, absolute=True))

    def resolve_parent(self, space_key: str, id_or_title: str) -> str:
        """The id of the configured parent page: an existing page id or a title in the space."""
        if id_or_title.isdigit():
            page = self.get_page(id_or_title, with_body=False)
            if page is not None:
                return page.id
        page = self.find_page_by_title(space_key, id_or_title)
        if page is None:
            raise ConfluenceError(
                "GET",
                f"{self._api_path}/content",
                404,
                f"no page {id_or_title!r} in space {space_key}",
            )
        return page.id

    def space_exists(self, space_key: str) -> bool:
        path = f"space/{space_key}"
        response = self._send("GET", path, lambda: self.client.get_space(space_key))
        if response.status_code == 404:
            return False
        if not response.ok:
            raise self._fail("GET", path, response)
        return True

    def operations(self, what: Literal["space", "content"], key: str) -> set[str] | None:
        """What the account may do to pages, from `expand=operations` on a space (its pages) or
        a page; None when this Confluence does not say."""
        path = f"{what}/{key}"
        payload = self._json(
            "GET", path, lambda: self.client.get(path, params={"expand": "operations"})
        )
        ops = payload.get("operations")
        if not isinstance(ops, list):
            return None
        return {
            str(op.get("operation"))
            for op in ops
            if isinstance(op, dict) and op.get("targetType") in ("page", None)
        }

    # ----- attachments -------------------------------------------------------------------------

    def find_attachment(self, page_id: str, filename: str) -> AttachmentRef | None:
        path = f"content/{page_id}/child/attachment"
        payload = self._json(
            "GET", path, lambda: self.client.get(path, params={"filename": filename})
        )
        for result in payload.get("results") or []:
            if result.get("title") == filename:
                return _attachment_ref(result)
        return None

    def attachments(self, page_id: str) -> dict[str, AttachmentRef]:
        """Every attachment of the page by file name (one request for a page's few charts)."""
        path = f"content/{page_id}/child/attachment"
        payload = self._json(
            "GET",
            path,
            lambda: self.client.get(path, params={"limit": 200, "expand": "version,metadata"}),
        )
        refs = (_attachment_ref(r) for r in payload.get("results") or [])
        return {ref.filename: ref for ref in refs}

    def upload_attachment(
        self,
        page_id: str,
        filename: str,
        data: bytes,
        media_type: str,
        *,
        check_existing: bool = True,
        existing: AttachmentRef | None = None,
        comment: str = "Published by okr-jira",
    ) -> AttachmentRef:
        """Create the attachment, or add a new version of an existing one of that name.

        The media type goes with the file on every upload, creation and new version alike:
        a version sent without it is stored as application/octet-stream (FACTS.md).
        ``existing``: the attachment as already listed; else ``check_existing=False`` skips the
        lookup for a page just created (it has none)."""
        if existing is None and check_existing:
            existing = self.find_attachment(page_id, filename)
        path = f"content/{page_id}/child/attachment"
        if existing is not None:
            path += f"/{existing.id}/data"
        form = {"minorEdit": "true", "comment": comment}

        def post() -> Any:
            files = {"file": (filename, data, media_type)}
            return self.client.post(path, data=form, files=files, headers=_NO_CHECK)

        payload = self._json("POST", path, post)
        if "results" in payload:  # creation answers a collection of one
            return _attachment_ref(payload["results"][0])
        return _attachment_ref(payload)
