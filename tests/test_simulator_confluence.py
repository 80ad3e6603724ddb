"""The Confluence simulator over real HTTP: response shapes and the errors Confluence gives."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from okr_jira.simulator.confluence import ConfluenceSim, storage_format_error
from okr_jira.simulator.jira import JiraSim
from okr_jira.simulator.server import SimulatorServer
from tests.support.threads import join_all

NO_VERSION = {
    "statusCode": 400,
    "data": {
        "authorized": False,
        "valid": True,
        "allowedInReadOnlyMode": True,
        "errors": [],
        "successful": False,
    },
    "message": "Must supply an incremented version when updating Content. No version supplied.",
    "reason": "Bad Request",
}
OPTIMISTIC_LOCK = {
    "statusCode": 409,
    "data": {"authorized": False, "valid": True, "errors": [], "successful": False},
    "message": "com.atlassian.confluence.api.service.exceptions.ConflictException: "
    "javax.persistence.OptimisticLockException: Batch update returned unexpected row count from "
    "update [0]; actual row count: 0; expected: 1",
}
NO_CHECK = {"X-Atlassian-Token": "no-check"}


@dataclass
class Wiki:
    sim: ConfluenceSim
    http: requests.Session  # authenticated
    api: str  # where the REST API answers
    base: str  # `_links.base`

    def create(self, title: str, body: str = "<p>x</p>", parent: str | None = None) -> Any:
        payload: dict[str, Any] = {
            "type": "page",
            "title": title,
            "space": {"key": "OKR"},
            "body": {"storage": {"value": body, "representation": "storage"}},
        }
        if parent:
            payload["ancestors"] = [{"id": parent}]
        return self.http.post(f"{self.api}/content", json=payload, timeout=5)


@pytest.fixture(params=["cloud", "datacenter"])
def wiki(request: pytest.FixtureRequest) -> Iterator[Wiki]:
    flavor = request.param
    sim = ConfluenceSim(("OKR",))
    with (
        SimulatorServer(flavor, jira=JiraSim(flavor=flavor), confluence=sim) as server,
        requests.Session() as http,
    ):
        creds = server.credentials
        if flavor == "cloud":
            http.auth = (creds.email, creds.api_token)
        else:
            http.headers["Authorization"] = f"Bearer {creds.pat}"
        base = server.confluence_url
        yield Wiki(sim, http, f"{base}/rest/api", base)


def test_a_page_is_found_by_space_and_title_in_a_collection(wiki: Wiki) -> None:
    created = wiki.create("OKRs - Q4 2026").json()

    found = wiki.http.get(
        f"{wiki.api}/content",
        params={"spaceKey": "OKR", "title": "OKRs - Q4 2026", "type": "page", "expand": "version"},
        timeout=5,
    ).json()

    assert (found["start"], found["limit"], found["size"]) == (0, 25, 1)
    assert found["_links"]["base"] == wiki.base
    assert found["results"][0]["id"] == created["id"]
    assert found["results"][0]["version"]["number"] == 1
    assert "body" not in found["results"][0]


def test_a_page_by_id_expands_body_version_ancestors_and_space(wiki: Wiki) -> None:
    root = wiki.create("Root").json()
    middle = wiki.create("Middle", parent=root["id"]).json()
    leaf = wiki.create("Leaf", "<p>a&nbsp;b</p>", parent=middle["id"]).json()

    page = wiki.http.get(
        f"{wiki.api}/content/{leaf['id']}",
        params={"expand": "body.storage,version,ancestors,space"},
        timeout=5,
    ).json()

    assert page["body"]["storage"] == {"value": "<p>a&nbsp;b</p>", "representation": "storage"}
    assert [a["title"] for a in page["ancestors"]] == ["Root", "Middle"]
    assert page["space"]["key"] == "OKR"
    assert page["_links"]["self"] == f"{wiki.api}/content/{leaf['id']}"


def test_an_update_must_carry_the_next_version(wiki: Wiki) -> None:
    page = wiki.create("Page").json()
    url = f"{wiki.api}/content/{page['id']}"
    body = {"storage": {"value": "<p>new</p>", "representation": "storage"}}

    missing = wiki.http.put(url, json={"type": "page", "title": "Page", "body": body}, timeout=5)
    stale = wiki.http.put(
        url, json={"title": "Page", "body": body, "version": {"number": 1}}, timeout=5
    )
    fresh = wiki.http.put(
        url, json={"title": "Page", "body": body, "version": {"number": 2}}, timeout=5
    )

    assert (missing.status_code, missing.json()) == (400, NO_VERSION)
    assert (stale.status_code, stale.json()) == (409, OPTIMISTIC_LOCK)
    assert fresh.status_code == 200 and fresh.json()["version"]["number"] == 2
    assert wiki.sim.writes["page_update"] == 1


def test_an_update_with_new_ancestors_moves_the_page(wiki: Wiki) -> None:
    first = wiki.create("First").json()
    second = wiki.create("Second").json()
    page = wiki.create("Page", parent=first["id"]).json()

    moved = wiki.http.put(
        f"{wiki.api}/content/{page['id']}",
        json={"title": "Page", "version": {"number": 2}, "ancestors": [{"id": second["id"]}]},
        timeout=5,
    ).json()

    assert [a["id"] for a in moved["ancestors"]] == [second["id"]]
    assert [p.title for p in wiki.sim.children_of(second["id"])] == ["Page"]


def test_a_duplicate_title_in_the_space_is_refused(wiki: Wiki) -> None:
    wiki.create("Same")
    again = wiki.create("Same")

    assert again.status_code == 400
    assert again.json()["message"].endswith(
        "A page with this title already exists: A page already exists with the title Same "
        "in the space with key OKR"
    )


def test_storage_that_is_not_well_formed_xhtml_is_refused(wiki: Wiki) -> None:
    broken = wiki.create("Broken", "<p>open <b>bold</p>")

    assert broken.status_code == 400
    assert "Error parsing xhtml" in broken.json()["message"]
    assert wiki.sim.page_by_title("OKR", "Broken") is None


@pytest.mark.parametrize(
    "body",
    [
        "<p>a&nbsp;b&mdash;c &amp; &#169;</p>",
        '<ac:structured-macro ac:name="status"><ac:parameter ac:name="colour">Green'
        "</ac:parameter></ac:structured-macro>",
        '<ac:link><ri:page ri:content-title="X" ri:space-key="OKR"/></ac:link>',
        "<p><![CDATA[ <raw> ]]></p>",
        "",
    ],
)
def test_storage_format_accepts_what_confluence_accepts(body: str) -> None:
    assert storage_format_error(body) is None


@pytest.mark.parametrize(
    "body", ["<p>unclosed", "<p>&bogus;</p>", "<br>", "a < b", "<p>]]></p>", "<p>\x01</p>"]
)
def test_storage_format_refuses_what_confluence_refuses(body: str) -> None:
    assert storage_format_error(body) is not None


def test_child_pages_page_with_a_next_link_relative_to_base(wiki: Wiki) -> None:
    parent = wiki.create("Parent").json()
    for number in range(30):
        wiki.create(f"Child {number}", parent=parent["id"])

    first = wiki.http.get(f"{wiki.api}/content/{parent['id']}/child/page", timeout=5).json()
    next_link = first["_links"]["next"]
    second = wiki.http.get(first["_links"]["base"] + next_link, timeout=5).json()

    assert next_link == f"/rest/api/content/{parent['id']}/child/page?limit=25&start=25"
    assert first["size"] == 25 and second["size"] == 5 and "next" not in second["_links"]
    titles = [page["title"] for page in first["results"] + second["results"]]
    assert titles == [f"Child {number}" for number in range(30)]


def test_attachments_are_created_updated_and_downloaded(wiki: Wiki) -> None:
    page = wiki.create("Chart").json()
    url = f"{wiki.api}/content/{page['id']}/child/attachment"

    def upload(target: str, data: bytes, headers: dict[str, str]) -> requests.Response:
        files = {"file": ("chart.svg", data, "image/svg+xml")}
        return wiki.http.post(target, files=files, headers=headers, timeout=5)

    assert upload(url, b"<svg/>", {}).status_code == 403  # XSRF check without no-check
    created = upload(url, b"<svg>1</svg>", NO_CHECK).json()["results"][0]
    duplicate = upload(url, b"<svg>2</svg>", NO_CHECK)
    updated = upload(f"{url}/{created['id']}/data", b"<svg>2</svg>", NO_CHECK).json()
    put = wiki.http.put(url, files={"file": ("chart.svg", b"x")}, headers=NO_CHECK, timeout=5)
    listed = wiki.http.get(url, params={"filename": "chart.svg"}, timeout=5).json()
    download = wiki.http.get(wiki.base + updated["_links"]["download"], timeout=5)

    assert created["version"]["number"] == 1
    assert duplicate.status_code == 400 and "same file name" in duplicate.json()["message"]
    assert (updated["id"], updated["version"]["number"]) == (created["id"], 2)
    assert put.status_code == 415
    assert (
        listed["size"] == 1 and listed["results"][0]["extensions"]["mediaType"] == "image/svg+xml"
    )
    assert download.content == b"<svg>2</svg>"
    assert download.headers["Content-Type"].startswith("image/svg+xml")


def test_a_deleted_page_goes_to_the_trash_and_its_children_move_up(wiki: Wiki) -> None:
    root = wiki.create("Root").json()
    doomed = wiki.create("Doomed", parent=root["id"]).json()
    wiki.create("Orphan", parent=doomed["id"])

    deleted = wiki.http.delete(f"{wiki.api}/content/{doomed['id']}", timeout=5)
    gone = wiki.http.get(f"{wiki.api}/content/{doomed['id']}", timeout=5)
    trashed = wiki.http.get(
        f"{wiki.api}/content/{doomed['id']}", params={"status": "trashed"}, timeout=5
    )

    assert deleted.status_code == 204
    assert gone.status_code == 404 and "No content found" in gone.json()["message"]
    assert trashed.json()["status"] == "trashed"
    assert wiki.sim.page_by_title("OKR", "Doomed") is None
    assert [p.title for p in wiki.sim.children_of(root["id"])] == ["Orphan"]
    assert wiki.sim.writes["page_delete"] == 1


def test_a_space_is_read_by_key(wiki: Wiki) -> None:
    space = wiki.http.get(f"{wiki.api}/space/OKR", timeout=5)
    missing = wiki.http.get(f"{wiki.api}/space/NOPE", timeout=5)

    assert space.json()["key"] == "OKR"
    assert missing.status_code == 404


def test_edits_by_hand_bump_the_version_without_counting_as_writes(wiki: Wiki) -> None:
    page = wiki.create("Page").json()

    wiki.sim.edit_by_hand(page["id"], "<p>typed in the UI</p>")
    wiki.sim.delete_by_hand(wiki.create("Other").json()["id"])

    fetched = wiki.http.get(f"{wiki.api}/content/{page['id']}?expand=version", timeout=5).json()
    assert fetched["version"]["number"] == 2
    assert wiki.sim.writes == {"page_create": 2}
    assert wiki.sim.page_by_title("OKR", "Other") is None


def test_concurrent_creates_of_one_title_leave_exactly_one_page(wiki: Wiki) -> None:
    statuses: list[int] = []

    def create() -> None:
        statuses.append(wiki.create("Race").status_code)

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    join_all(threads, 30)

    assert sorted(statuses) == [200] + [400] * 7
    assert wiki.sim.writes["page_create"] == 1


def test_the_stored_media_type_is_the_one_sent_and_an_update_without_one_is_octet_stream(
    wiki: Wiki,
) -> None:
    """FACTS.md: an update sent without its media type turns an SVG into a broken image."""
    page = wiki.create("Chart").json()
    url = f"{wiki.api}/content/{page['id']}/child/attachment"
    svg = b'<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>'

    def upload(target: str, part: tuple[str, bytes] | tuple[str, bytes, str]) -> dict[str, object]:
        response = wiki.http.post(target, files={"file": part}, headers=NO_CHECK, timeout=5)
        assert response.ok, response.text
        body: dict[str, object] = response.json()
        return body

    created = upload(url, ("chart.svg", svg))["results"][0]  # type: ignore[index]
    (stored,) = wiki.sim.attachments_of(page["id"])
    assert stored.media_type == "image/svg+xml" and stored.shows_as_image  # guessed on create
    upload(f"{url}/{created['id']}/data", ("chart.svg", svg))
    assert stored.media_type == "application/octet-stream" and not stored.shows_as_image
    upload(f"{url}/{created['id']}/data", ("chart.svg", svg, "image/svg+xml"))
    assert stored.media_type == "image/svg+xml" and stored.shows_as_image
    upload(f"{url}/{created['id']}/data", ("chart.svg", b"<svg/>", "image/svg+xml"))
    assert not stored.shows_as_image  # no XML declaration: a corrupted image in Confluence
