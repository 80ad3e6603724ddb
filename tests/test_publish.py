"""Publishing the OKR tree via atlassian-python-api to the Confluence simulator, both flavors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import flask
import pytest
from sqlalchemy import Engine

from okr_jira.adapters.confluence import Flavor
from okr_jira.publish import PublishError
from okr_jira.runtime.wiring import Wiring, make_confluence
from okr_jira.settings import Settings
from okr_jira.simulator.confluence import storage_format_error
from tests.support.publish_world import CYCLE, PARENT_TITLE, SPACE, World, build_world

OBJECTIVES = {"CO-1", "CO-2", "CX-1", "ENG-1", "SUP-1", "SELF-1", "PLAT-1", "MOB-1"}
# The monthly review pages of the cycle so far (the world's clock is 2026-11-15).
MONTHS = {"review:2026-10", "review:2026-11"}
HOSTILE = '<ac:structured-macro ac:name="html"> ]]> <script>alert(1)</script> & "q"'


@pytest.fixture(params=["cloud", "datacenter"])
def world(
    request: pytest.FixtureRequest, engine: Engine, tmp_path: Path, cloud_dns: None
) -> Iterator[World]:
    yield from build_world(engine, request.param, tmp_path)


@pytest.fixture
def cloud_world(engine: Engine, tmp_path: Path, cloud_dns: None) -> Iterator[World]:
    yield from build_world(engine, "cloud", tmp_path)


def _parent_title(world: World, subject: str) -> str:
    page = world.page(subject)
    assert page.parent_id is not None
    return world.sim.pages[page.parent_id].title


def test_the_first_publish_creates_the_whole_tree_under_the_parent_page(world: World) -> None:
    summary = world.publish()

    root = world.page("root")
    assert root.title == "OKRs - Q4 2026"
    assert root.parent_id == world.parent_id
    assert set(summary.created) == OBJECTIVES | MONTHS | {"root", "health"}
    assert _parent_title(world, "CO-1") == "OKRs - Q4 2026"
    assert world.page("review:2026-11").title == "OKRs - Q4 2026 - Review 2026-11"
    assert _parent_title(world, "review:2026-11") == "OKRs - Q4 2026"
    assert _parent_title(world, "health") == "OKRs - Q4 2026"
    health = world.page("health")
    assert health.title == "OKRs - Q4 2026 - Cycle health"
    assert "Score distribution by team" in health.body and "Cycle health" in root.body
    assert _parent_title(world, "CX-1") == "CO-1 Delight our customers (Q4 2026)"
    assert _parent_title(world, "SUP-1") == "CX-1 Resolve customer problems faster (Q4 2026)"
    assert (
        _parent_title(world, "PLAT-1") == "ENG-1 Make reliability everyone's daily work (Q4 2026)"
    )
    sup = world.page("SUP-1")
    assert "SUP-1.2" in sup.body and "Cut open P1 bugs from 40 to 5" in sup.body
    issue = world.open_issue_of("SUP-1.1")
    assert f"/browse/{issue.key}" in sup.body  # the issues behind the KR, from the sync
    charts = world.sim.attachments_of(sup.id)
    assert [a.filename for a in charts] == [
        "okr-progress-SUP-1.svg",  # the objective's chart, then one per key result
        "okr-kr-progress-SUP-1.1.svg",
        "okr-kr-progress-SUP-1.2.svg",
        "okr-kr-progress-SUP-1.3.svg",
    ]
    for chart in charts:  # what Confluence stored: an image it can show
        assert chart.media_type == "image/svg+xml"
        assert chart.data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    assert "Last sync: 2026-11-15 12:00 UTC" in root.body
    assert all(storage_format_error(p.body) is None for p in world.live_pages())


def test_publishing_again_with_no_change_sends_no_request(world: World) -> None:
    world.publish()

    summary = world.publish()

    assert world.server.stats.total == 0
    assert summary.requests == 0
    assert summary.unchanged == len(OBJECTIVES) + len(MONTHS) + 2  # and root, Cycle health
    assert all(p.version == 1 for p in world.live_pages())


def test_one_changed_kr_rewrites_only_the_pages_whose_content_changed(world: World) -> None:
    world.publish()
    issue = world.open_issue_of("SUP-1.1")

    world.change_issue(issue.key, status="Done", status_category="done")
    summary = world.publish()

    # SUP-1's progress rolls up into CX-1 and CO-1; the root page lists all three, and this
    # month's review shows their progress now (October's is done with).
    assert set(summary.updated) == {"root", "SUP-1", "CX-1", "CO-1", "review:2026-11"}
    puts = [n for route, n in world.server.stats.by_route.items() if route.startswith("PUT")]
    assert puts == [5]
    assert world.page("SUP-1").version == 2
    assert world.page("SUP-1").versions[-1].minor_edit is True
    assert world.page("SELF-1").version == 1
    # the tree, its Cycle health page, its parent and the monthly reviews
    assert world.sim.writes["page_create"] == len(OBJECTIVES) + len(MONTHS) + 3
    assert world.publish().requests == 0


def test_charts_are_uploaded_as_images_confluence_shows_and_only_when_they_change(
    world: World,
) -> None:
    """An SVG needs its XML declaration and its media type on every upload, new versions
    included (FACTS.md); the simulator stores what Confluence would."""
    world.publish()
    sup = world.page("SUP-1")
    first = {a.filename: a.version for a in world.sim.attachments_of(sup.id)}
    assert all(a.shows_as_image for a in world.sim.attachments.values())
    issue = world.open_issue_of("SUP-1.1")

    world.change_issue(issue.key, status="Done", status_category="done")
    world.publish()

    after = {a.filename: a for a in world.sim.attachments_of(sup.id)}
    # SUP-1.1 and SUP-1 changed: new versions; the other KRs' charts were not sent again.
    assert {name for name, a in after.items() if a.version == first[name] + 1} == {
        "okr-progress-SUP-1.svg",
        "okr-kr-progress-SUP-1.1.svg",
    }
    assert {name for name, a in after.items() if a.version == first[name]} == {
        "okr-kr-progress-SUP-1.2.svg",
        "okr-kr-progress-SUP-1.3.svg",
    }
    for attachment in world.sim.attachments.values():
        assert attachment.media_type == "image/svg+xml"
        assert attachment.data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<svg')
        assert attachment.shows_as_image
    download = world.adapter().client.request(
        "GET", f"download/attachments/{sup.id}/okr-progress-SUP-1.svg"
    )
    assert download.headers["Content-Type"].startswith("image/svg+xml")
    assert download.content == after["okr-progress-SUP-1.svg"].data


def test_a_renamed_objective_renames_its_page(world: World) -> None:
    world.publish()
    page_id = world.rows()["SELF-1"].page_id

    world.edit_okrs("title: Customers help themselves", "title: Customers solve it alone")
    summary = world.publish()

    assert "SELF-1" in summary.renamed
    assert world.rows()["SELF-1"].page_id == page_id
    assert world.sim.pages[page_id].title == "SELF-1 Customers solve it alone (Q4 2026)"
    assert world.sim.page_by_title(SPACE, "SELF-1 Customers help themselves (Q4 2026)") is None


def test_a_reparented_objective_moves_its_page(cloud_world: World) -> None:
    world = cloud_world
    world.publish()
    page_id = world.rows()["SELF-1"].page_id

    world.edit_okrs("    parent: CX-1\n    weight: 2", "    parent: CO-2\n    weight: 2")
    summary = world.publish()

    assert "SELF-1" in summary.moved
    assert world.sim.pages[page_id].parent_id == world.rows()["CO-2"].page_id
    assert world.rows()["SELF-1"].page_id == page_id


def test_an_archived_objective_moves_under_archived_and_is_never_deleted(world: World) -> None:
    world.publish()
    page_id = world.rows()["MOB-1"].page_id
    start = world.okr_text.index("  - key: MOB-1")
    end = world.okr_text.find("\n  - key:", start + 1)
    world.apply_okrs(world.okr_text[:start] + (world.okr_text[end + 1 :] if end > 0 else ""))

    summary = world.publish()

    assert summary.archived == ["MOB-1"]
    archive = world.page("archived")
    assert archive.title == "OKRs - Q4 2026 - Archived"
    assert archive.parent_id == world.rows()["root"].page_id
    assert world.sim.pages[page_id].parent_id == archive.id
    assert world.sim.pages[page_id].status == "current"
    assert world.sim.writes["page_delete"] == 0
    assert world.publish().requests == 0


def test_a_page_edited_by_hand_meanwhile_is_overwritten_after_a_409(cloud_world: World) -> None:
    world = cloud_world
    world.publish()
    sup = world.page("SUP-1")
    world.sim.edit_by_hand(sup.id, "<p>my notes</p>")

    world.change_issue(world.open_issue_of("SUP-1.1").key, status="Done", status_category="done")
    world.publish()

    assert world.server.stats.by_status[409] == 1
    assert sup.version == 3 and "SUP-1.1" in sup.body
    assert world.rows()["SUP-1"].version == 3


def test_a_page_deleted_by_hand_is_created_again_and_its_children_follow(world: World) -> None:
    world.publish()
    old = world.rows()["CX-1"].page_id
    world.sim.delete_by_hand(old)  # Confluence moves SUP-1 and SELF-1 up under CO-1

    world.change_issue(world.open_issue_of("SUP-1.1").key, status="Done", status_category="done")
    summary = world.publish()

    new = world.rows()["CX-1"].page_id
    assert summary.recreated == ["CX-1"]
    assert new != old and world.sim.pages[new].status == "current"
    assert world.page("SUP-1").parent_id == new
    assert world.page("SELF-1").parent_id == new
    assert world.publish().requests == 0


def test_hostile_text_is_shown_as_text(cloud_world: World) -> None:
    world = cloud_world
    world.edit_okrs(
        "title: Answer faster, with fewer escalations",
        "title: Answer faster\n    description: '" + HOSTILE.replace("'", "''") + "'",
    )
    issue = world.open_issue_of("SUP-1.1")
    world.change_issue(issue.key, summary=HOSTILE)

    world.publish()

    body = world.page("SUP-1").body
    assert storage_format_error(body) is None
    assert '&lt;ac:structured-macro ac:name="html"&gt; ]]&gt; &lt;script&gt;' in body
    assert "<script" not in body and '<ac:structured-macro ac:name="html"' not in body


def test_confluence_down_part_way_loses_nothing_and_the_next_run_finishes(
    world: World,
) -> None:
    allowed = {"creates": 4}

    def outage(request: flask.Request) -> flask.Response | None:
        if request.method == "POST" and request.path.endswith("/content"):
            if allowed["creates"] == 0:
                return flask.Response('{"message":"down"}', 503, mimetype="application/json")
            allowed["creates"] -= 1
        return None

    world.refuse = outage

    with pytest.raises(PublishError) as raised:
        world.publish(workers=1)

    assert "run `okr-jira publish` again" in str(raised.value)
    assert "503" in str(raised.value)
    rows = world.rows()
    assert 0 < len(rows) <= 4
    assert {row.page_id for row in rows.values()} <= {p.id for p in world.live_pages()}

    allowed["creates"] = 100
    summary = world.publish()

    titles = [p.title for p in world.live_pages()]
    # The tree, its Cycle health page, the monthly reviews and the parent.
    assert len(titles) == len(set(titles)) == len(OBJECTIVES) + len(MONTHS) + 3
    assert set(summary.created) == (OBJECTIVES | MONTHS | {"root", "health"}) - set(rows)
    assert world.publish().requests == 0


def test_an_unreachable_confluence_fails_with_a_clear_message_and_stores_nothing(
    cloud_world: World,
) -> None:
    settings = Settings(
        confluence_url="http://127.0.0.1:9",  # nothing listens on the discard port
        confluence_token="t0k3n-value",
        confluence_space=SPACE,
        confluence_parent=PARENT_TITLE,
        http_max_retries=0,
    )

    with pytest.raises(PublishError) as raised:
        Wiring(settings, cloud_world.engine).publisher().publish(CYCLE)

    message = str(raised.value)
    assert "no response" in message and "run `okr-jira publish` again" in message
    assert "t0k3n-value" not in message
    assert cloud_world.rows() == {}


@pytest.mark.parametrize("flavor", ["cloud", "datacenter"])
def test_settings_as_copied_from_the_browser_reach_both_flavors(
    flavor: Flavor, engine: Engine, tmp_path: Path, cloud_dns: None
) -> None:
    for world in build_world(engine, flavor, tmp_path):
        creds = world.server.credentials
        url = world.confluence_url.removesuffix("/wiki") if flavor == "cloud" else world.server.url
        settings = Settings(
            confluence_url=url + "/",
            confluence_user=creds.email if flavor == "cloud" else None,
            confluence_token=creds.api_token if flavor == "cloud" else creds.pat,
            confluence_space=SPACE,
            confluence_parent=world.parent_id,  # a page id this time
        )
        adapter = make_confluence(settings)
        assert adapter.client.cloud is (flavor == "cloud")
        world.publisher(connect=lambda a=adapter: a, parent=world.parent_id).publish(CYCLE)
        assert world.page("root").parent_id == world.parent_id
        assert world.sim.page_by_title(SPACE, PARENT_TITLE) is not None
