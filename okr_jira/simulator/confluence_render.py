"""Confluence JSON for the simulator's records: pages, versions, attachments, spaces, collections.

Built per request, with absolute ``_links`` as the requesting client sees the site and the
``_expandable`` entries for what the ``expand`` parameter did not ask for.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import flask

from okr_jira.simulator.confluence_records import SimAttachment, SimPage, SimSpace, SimVersion

if TYPE_CHECKING:
    from okr_jira.simulator.confluence import ConfluenceSim


def confluence_time(moment: datetime) -> str:
    """Confluence's timestamp format: 2026-10-05T14:03:12.000Z."""
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


class ConfluenceShaper:
    """Builds response JSON with `_links` as the requesting client sees the site."""

    def __init__(self, sim: ConfluenceSim, context: str) -> None:
        self.sim = sim
        self.context = context
        self.base = flask.request.host_url.rstrip("/") + context
        self.api = self.base + "/rest/api"

    def operations(self, target: str) -> list[dict[str, str]]:
        """`expand=operations`: what the requesting user may do (a space: to its pages)."""
        return [{"operation": op, "targetType": target} for op in self.sim.operations()]

    def space(self, space: SimSpace, expand: Collection[str] = ()) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": space.id,
            "key": space.key,
            "name": space.name,
            "type": "global",
            "status": "current",
            "_expandable": {"homepage": "", "description": ""},
            "_links": {"webui": f"/spaces/{space.key}", "self": f"{self.api}/space/{space.key}"},
        }
        if "operations" in expand:
            out["operations"] = self.operations("page")
        return out

    def version(self, page: SimPage, version: SimVersion) -> dict[str, Any]:
        return {
            "by": {"type": "known", "displayName": "Person" if version.by_hand else "okr-jira"},
            "when": confluence_time(version.when),
            "message": version.message,
            "number": version.number,
            "minorEdit": version.minor_edit,
            "_links": {"self": f"{self.api}/content/{page.id}/version/{version.number}"},
        }

    def history(self, page: SimPage) -> dict[str, Any]:
        """A page's ``history`` as expanded on the page; the history endpoint adds to it."""
        return {
            "latest": True,
            "createdDate": confluence_time(page.created),
            "createdBy": {"type": "known", "displayName": "okr-jira"},
        }

    def page(self, page: SimPage, expand: Collection[str]) -> dict[str, Any]:
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
            out["history"] = self.history(page)
        if "operations" in expand:
            out["operations"] = self.operations("page")
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
            "version": {
                "when": confluence_time(att.updated),
                "number": att.version,
                "minorEdit": True,
            },
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
