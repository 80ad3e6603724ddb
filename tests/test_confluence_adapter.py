"""The Confluence adapter through the real atlassian-python-api against the simulator over HTTP."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import flask
import pytest
import requests
from atlassian import Confluence, ConfluenceServer

from okr_jira.adapters.confluence import (
    ConflictError,
    ConfluenceAdapter,
    ConfluenceError,
    Flavor,
    make_client,
    normalize_url,
)
from okr_jira.adapters.http import RetryPolicy
from okr_jira.simulator.confluence import ConfluenceSim
from okr_jira.simulator.jira import JiraSim
from okr_jira.simulator.server import SimulatorServer
from tests.support.atlassian_host import CLOUD_HOST

TOKEN = "s3cr3t-wrong-token-value"


@dataclass
class Site:
    server: SimulatorServer
    sim: ConfluenceSim
    url: str = ""
    # (method, path suffix, status, body) answered instead of the simulator, in order.
    faults: list[tuple[str, str, int, str]] = field(default_factory=list)

    @property
    def cloud(self) -> bool:
        return self.server.flavor == "cloud"


def _serve(flavor: Flavor) -> Iterator[Site]:
    sim = ConfluenceSim(("OKR",))
    server = SimulatorServer(flavor, jira=JiraSim(flavor=flavor), confluence=sim)
    site = Site(server=server, sim=sim)

    @server.app.before_request
    def fault() -> flask.Response | None:
        request = flask.request
        for index, (method, suffix, status, body) in enumerate(site.faults):
            if method == request.method and request.path.endswith(suffix):
                del site.faults[index]
                return flask.Response(body, status=status, mimetype="application/json")
        return None

    with server:
        port = server.url.rsplit(":", 1)[1]
        host = CLOUD_HOST if flavor == "cloud" else "127.0.0.1"
        site.url = f"http://{host}:{port}" + ("/wiki" if flavor == "cloud" else "")
        yield site


@pytest.fixture(params=["cloud", "datacenter"])
def site(request: pytest.FixtureRequest, cloud_dns: None) -> Iterator[Site]:
    yield from _serve(request.param)


@pytest.fixture
def cloud_site(cloud_dns: None) -> Iterator[Site]:
    yield from _serve("cloud")


def _client(site: Site, policy: RetryPolicy, token: str | None = None) -> ConfluenceServer:
    creds = site.server.credentials
    if site.cloud:
        return make_client(
            "cloud", site.url, user=creds.email, token=token or creds.api_token, policy=policy
        )
    return make_client("datacenter", site.url, token=token or creds.pat, policy=policy)


def _policy(sleeps: list[float]) -> RetryPolicy:
    return RetryPolicy(timeout=5, max_retries=2, backoff_base=0.01, sleep=sleeps.append)


def _adapter(site: Site, sleeps: list[float] | None = None, **kwargs: Any) -> ConfluenceAdapter:
    client = _client(site, _policy(sleeps if sleeps is not None else []))
    return ConfluenceAdapter(client, **kwargs)


def test_pages_are_created_found_and_updated_in_both_flavors(site: Site) -> None:
    confluence = _adapter(site)
    root = confluence.create_page("OKR", "OKRs - Q4 2026", "<p>root</p>", None)
    child = confluence.create_page("OKR", "SUP-1 Answer (Q4 2026)", "<p>v1 &amp; more</p>", root.id)

    found = confluence.find_page_by_title("OKR", "SUP-1 Answer (Q4 2026)")
    assert found is not None
    assert (found.id, found.version, found.parent_id) == (child.id, 1, root.id)

    updated = confluence.update_page(child.id, child.title, "<p>V1 &amp; MORE</p>", root.id, 1)
    assert updated.version == 2
    assert site.sim.pages[child.id].body == "<p>V1 &amp; MORE</p>"  # a case-only change is written
    assert confluence.find_page_by_title("OKR", "No such page") is None
    assert confluence.get_page("999999") is None


def test_a_wrong_token_is_refused_without_the_token_in_the_error(site: Site) -> None:
    confluence = ConfluenceAdapter(_client(site, _policy([]), token=TOKEN))

    with pytest.raises(ConfluenceError) as raised:
        confluence.find_page_by_title("OKR", "anything")

    assert raised.value.status == 401
    assert TOKEN not in str(raised.value)


def test_cloud_works_under_an_atlassian_net_host_where_the_hostname_class_cannot_write(
    cloud_site: Site,
) -> None:
    assert not hasattr(Confluence(cloud_site.url), "create_page")

    site_address = cloud_site.url.removesuffix("/wiki")
    assert normalize_url("cloud", site_address) == cloud_site.url
    creds = cloud_site.server.credentials
    client = make_client("cloud", site_address + "/", user=creds.email, token=creds.api_token)
    page = ConfluenceAdapter(client).create_page("OKR", "Made on Cloud", "<p>x</p>", None)
    assert cloud_site.sim.pages[page.id].title == "Made on Cloud"


def test_a_page_edited_by_hand_meanwhile_is_overwritten_after_one_reread(site: Site) -> None:
    confluence = _adapter(site)
    page = confluence.create_page("OKR", "Page", "<p>ours</p>", None)
    site.sim.edit_by_hand(page.id, "<p>someone's edit</p>")

    updated = confluence.update_page(page.id, "Page", "<p>ours again</p>", None, page.version)

    assert updated.version == 3
    assert site.sim.pages[page.id].body == "<p>ours again</p>"


def test_a_second_conflict_in_a_row_raises_conflict_error(site: Site) -> None:
    confluence = _adapter(site)
    page = confluence.create_page("OKR", "Page", "<p>ours</p>", None)
    conflict = '{"statusCode":409,"message":"OptimisticLockException"}'
    site.faults += [("PUT", f"/content/{page.id}", 409, conflict)] * 2

    with pytest.raises(ConflictError) as raised:
        confluence.update_page(page.id, "Page", "<p>new</p>", None, page.version)

    assert raised.value.status == 409
    assert site.sim.pages[page.id].version == 1


def test_a_429_is_retried_after_its_retry_after(site: Site) -> None:
    sleeps: list[float] = []
    confluence = _adapter(site, sleeps)
    site.server.faults.rate_limit(1, retry_after=3)

    assert confluence.find_page_by_title("OKR", "Nothing") is None
    assert sleeps == [3.0]


def test_server_errors_give_up_after_the_retries_naming_the_call(
    site: Site,
) -> None:
    sleeps: list[float] = []
    confluence = _adapter(site, sleeps)
    site.server.faults.fail(3, status=502)

    with pytest.raises(ConfluenceError) as raised:
        confluence.find_page_by_title("OKR", "Nothing")

    message = str(raised.value)
    assert "GET" in message and "/rest/api/content" in message and "502" in message
    assert "bad gateway" in message.lower()
    assert len(sleeps) == 2


def test_a_malformed_body_fails_at_once_with_confluences_reason(site: Site) -> None:
    confluence = _adapter(site)
    with pytest.raises(ConfluenceError) as raised:
        confluence.create_page("OKR", "Broken", "<p>never closed", None)

    assert raised.value.status == 400
    assert "Error parsing xhtml" in str(raised.value)
    assert site.sim.writes["page_create"] == 0


def test_an_unreachable_site_fails_after_the_retries() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again when the block ends: nothing listens
    sleeps: list[float] = []
    url = f"http://127.0.0.1:{port}"
    client = make_client("datacenter", url, token=TOKEN, policy=_policy(sleeps))
    confluence = ConfluenceAdapter(client)

    with pytest.raises(ConfluenceError) as raised:
        confluence.find_page_by_title("OKR", "x")

    assert raised.value.status is None
    assert len(sleeps) == 2


def test_an_attachment_is_created_then_updated_in_place(site: Site) -> None:
    confluence = _adapter(site)
    page = confluence.create_page("OKR", "Chart page", "<p>x</p>", None)

    first = confluence.upload_attachment(page.id, "chart.svg", b"<svg>1</svg>", "image/svg+xml")
    second = confluence.upload_attachment(page.id, "chart.svg", b"<svg>2</svg>", "image/svg+xml")

    assert first.version == 1
    assert second.id == first.id and second.version == 2
    assert site.sim.writes["attachment_update"] == 1
    (stored,) = site.sim.attachments_of(page.id)
    assert stored.data == b"<svg>2</svg>"
    download = confluence.client.request("GET", f"download/attachments/{page.id}/chart.svg")
    assert download.content == b"<svg>2</svg>"  # advanced_mode: the raw response


def test_children_are_all_listed_across_pages_on_cloud(cloud_site: Site) -> None:
    confluence = _adapter(cloud_site, page_size=10)
    parent = confluence.create_page("OKR", "Parent", "<p>p</p>", None)
    for number in range(27):
        confluence.create_page("OKR", f"Child {number}", "<p>c</p>", parent.id)

    titles = [child.title for child in confluence.children(parent.id)]

    assert titles == [f"Child {number}" for number in range(27)]


def test_the_librarys_own_child_paging_loses_wiki_on_cloud(cloud_site: Site) -> None:
    """Why the adapter pages children itself (FACTS.md): the next link is followed wrongly."""
    confluence = _adapter(cloud_site)
    parent = confluence.create_page("OKR", "Parent", "<p>p</p>", None)
    for number in range(26):
        confluence.create_page("OKR", f"Child {number}", "<p>c</p>", parent.id)
    library = _client(cloud_site, _policy([]))
    library.advanced_mode = False

    with pytest.raises(requests.HTTPError) as raised:
        list(library.get_page_child_by_type(parent.id))

    assert raised.value.response.url.startswith(f"{cloud_site.url.removesuffix('/wiki')}/rest/")


def test_a_page_moves_under_a_new_parent_keeping_its_body(site: Site) -> None:
    confluence = _adapter(site)
    old = confluence.create_page("OKR", "Old parent", "<p>o</p>", None)
    new = confluence.create_page("OKR", "New parent", "<p>n</p>", None)
    page = confluence.create_page("OKR", "Moving", "<p>keep me</p>", old.id)

    moved = confluence.move_page(page.id, new.id)

    assert moved.parent_id == new.id
    assert site.sim.pages[page.id].body == "<p>keep me</p>"
    assert [c.title for c in confluence.children(old.id)] == []


def test_parent_is_resolved_from_an_id_or_a_title(site: Site) -> None:
    confluence = _adapter(site)
    page = confluence.create_page("OKR", "Team OKRs", "<p>x</p>", None)

    assert confluence.resolve_parent("OKR", page.id) == page.id
    assert confluence.resolve_parent("OKR", "Team OKRs") == page.id
    with pytest.raises(ConfluenceError, match="Missing"):
        confluence.resolve_parent("OKR", "Missing")
    assert confluence.space_exists("OKR") and not confluence.space_exists("NOPE")


def test_deleting_trashes_the_page_once(site: Site) -> None:
    confluence = _adapter(site)
    page = confluence.create_page("OKR", "Doomed", "<p>x</p>", None)

    assert confluence.delete_page(page.id) is True
    assert confluence.delete_page(page.id) is False
    assert confluence.find_page_by_title("OKR", "Doomed") is None
