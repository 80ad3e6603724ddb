"""The golden thread back into Jira: remote links on the issues behind each key result, written
through the real adapter to the simulated Jira (which implements the remote link API as Jira
documents it), only for what changed, and never in a loop on their own webhooks."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import Engine
from sqlmodel import Session, func, select

from okr_jira.adapters.http import RetryPolicy
from okr_jira.adapters.jira import JiraAdapter, JiraError
from okr_jira.inbox import WorkerOptions, drain
from okr_jira.simulator.remote_links import RemoteLink
from okr_jira.storage.db import session_scope
from okr_jira.storage.inbox import store_event
from okr_jira.storage.links import open_links
from okr_jira.storage.okrs import load_okrs
from okr_jira.storage.tables import ProgressSnapshotRow
from okr_jira.sync import Syncer
from okr_jira.sync.golden_thread import LinkSummary, LinkTarget, sync_remote_links
from tests.fixtures.webhooks import encode
from tests.support.builders import GUARDRAILS, THRESHOLDS
from tests.support.publish_world import NOW, World, build_world

LATER = NOW + dt.timedelta(hours=2)


@pytest.fixture(params=["cloud", "datacenter"])
def world(
    engine: Engine, tmp_path: Path, request: pytest.FixtureRequest, cloud_dns: None
) -> Iterator[World]:
    yield from build_world(engine, request.param, tmp_path)


def _jira(world: World, **policy: Any) -> JiraAdapter:
    creds = world.server.credentials
    retry = RetryPolicy(timeout=5, max_retries=2, backoff_base=0.01, sleep=lambda _: None)
    for name, value in policy.items():
        setattr(retry, name, value)
    if world.flavor == "cloud":
        return JiraAdapter(
            world.server.url, user=creds.email, token=creds.api_token, flavor="cloud",
            policy=retry,
        )  # fmt: skip
    return JiraAdapter(world.server.url, user=None, token=creds.pat, flavor="datacenter",
                       policy=retry)  # fmt: skip


def _link(world: World, jira: JiraAdapter | None = None, **target: Any) -> LinkSummary:
    target = target or {"confluence": True}
    return sync_remote_links(world.engine, jira or _jira(world), LinkTarget(**target), now=LATER)


def _scope(world: World) -> dict[str, set[str]]:
    """KR -> the issues that count toward it (sourced KRs), as stored."""
    with session_scope(world.engine) as session:
        okrs = load_okrs(session=session)
        sourced = [kr.key for o in okrs.objectives for kr in o.key_results if kr.source]
        return dict(open_links(session=session, krs=sourced))


def _okr_links(world: World, issue: str) -> dict[str, RemoteLink]:
    """globalId -> the okr-jira links Jira holds on `issue`."""
    return {
        link.global_id: link
        for link in world.server.jira.remote_links(issue)
        if link.global_id and link.global_id.startswith("okr-jira:")
    }


def _writes(world: World) -> int:
    return sum(world.server.jira.remote.writes.values())


def test_every_issue_behind_a_key_result_links_to_its_page_and_a_rerun_writes_nothing(
    world: World,
) -> None:
    world.publish()
    scope = _scope(world)
    pairs = {(issue, kr) for kr, issues in scope.items() for issue in issues}

    summary = _link(world)

    assert summary.created == len(pairs) > 20 and summary.errors == []
    assert summary.requests == len(pairs)  # one POST per link, nothing else
    base = world.adapter().client.url.rstrip("/")
    for issue, kr in sorted(pairs)[:40]:
        link = _okr_links(world, issue)[f"okr-jira:kr={kr}"]
        objective = next(o for o in world.rows() if kr.startswith(o + "."))
        assert link.object["url"] == (
            f"{base}/pages/viewpage.action?pageId={world.rows()[objective].page_id}"
        )
        assert link.object["title"].startswith(f"{kr} ")
        assert link.relationship == "contributes to"
        assert link.application == {"type": "com.okr-jira", "name": "okr-jira"}
    sup = _okr_links(world, sorted(scope["SUP-1.1"])[0])["okr-jira:kr=SUP-1.1"]
    assert sup.object["title"] == "SUP-1.1 Ship self-service refunds"
    # The pages' own URL answers in Confluence (the link goes somewhere real).
    page = world.adapter().get_page(world.rows()["SUP-1"].page_id)
    assert page is not None and page.title.startswith("SUP-1 ")

    world.server.stats.reset()
    again = _link(world)
    assert (again.writes, again.requests, again.unchanged) == (0, 0, len(pairs))
    assert world.server.stats.total == 0


def test_a_rename_updates_links_an_issue_that_leaves_loses_its_link_one_that_joins_gets_one(
    world: World,
) -> None:
    world.publish()
    _link(world)
    scope = _scope(world)["SUP-1.1"]
    before = _writes(world)

    world.edit_okrs("title: Ship self-service refunds", "title: Ship refunds in one click")
    renamed = _link(world)

    assert (renamed.updated, renamed.created, renamed.removed) == (len(scope), 0, 0)
    assert _writes(world) - before == len(scope)
    for issue in scope:
        link = _okr_links(world, issue)["okr-jira:kr=SUP-1.1"]
        assert link.object["title"] == "SUP-1.1 Ship refunds in one click"

    leaving = world.open_issue_of("SUP-1.1")
    world.change_issue(leaving.key, epic=None, parent=None)
    assert leaving.key not in _scope(world).get("SUP-1.1", set())
    joining = next(
        key
        for key, rec in sorted(world.server.jira.issues.items())
        if key.startswith("SUP-") and rec.issue_type == "Story" and key not in scope
    )
    world.change_issue(joining, epic="SUP-12", issue_type="Story")
    moved = _link(world)

    assert (moved.removed, moved.created, moved.updated) == (1, 1, 0)
    assert "okr-jira:kr=SUP-1.1" not in _okr_links(world, leaving.key)
    assert "okr-jira:kr=SUP-1.1" in _okr_links(world, joining)


def test_a_renamed_objective_page_moves_the_links_of_its_key_results(world: World) -> None:
    world.publish()
    _link(world)
    page_id = world.rows()["SUP-1"].page_id
    world.edit_okrs("title: Answer faster, with fewer escalations", "title: Answer at once")
    world.publish()

    summary = _link(world)

    # The page keeps its id (the URL stays) but the summary names the objective: updated.
    issues = sum(len(v) for k, v in _scope(world).items() if k.startswith("SUP-1."))
    assert summary.updated == issues and summary.created == summary.removed == 0
    link = _okr_links(world, sorted(_scope(world)["SUP-1.1"])[0])["okr-jira:kr=SUP-1.1"]
    assert link.object["url"].endswith(f"pageId={page_id}")
    assert "SUP-1 Answer at once" in link.object["summary"]


def test_links_wait_for_the_page_and_point_at_the_web_app_without_confluence(
    world: World,
) -> None:
    waiting = _link(world)  # nothing published yet: no link to a page that does not exist
    assert waiting.writes == 0 and waiting.waiting > 0

    web = _link(world, confluence=False, web_url="https://okr.acme.example/")
    issue = sorted(_scope(world)["SUP-1.2"])[0]
    link = _okr_links(world, issue)["okr-jira:kr=SUP-1.2"]
    assert web.created > 0
    assert link.object["url"] == "https://okr.acme.example/key-results/SUP-1.2"


def test_link_writes_follow_the_retry_policy_and_a_refusal_is_named(world: World) -> None:
    world.publish()
    world.server.faults.rate_limit(2, retry_after=0)
    world.server.faults.fail(1, status=503)
    jira = _jira(world, max_retries=3)

    summary = _link(world, jira)

    assert summary.errors == [] and summary.created > 0
    assert jira.stats.snapshot()["throttled"] == 2 and jira.stats.snapshot()["retries"] == 3
    world.edit_okrs("title: Ship self-service refunds", "title: Refunds")
    world.server.jira.remote.can_link = False
    with pytest.raises(JiraError) as refused:
        _link(world, jira)
    assert refused.value.status == 403
    world.server.jira.remote.can_link = True
    assert _link(world, jira).updated == len(_scope(world)["SUP-1.1"])  # resumes where it was


def test_an_event_caused_by_okr_jiras_own_link_write_changes_nothing(world: World) -> None:
    """The simulated Jira moves the issue's `updated` and sends jira:issue_updated for each link
    write (FACTS.md leaves both open): no progress, no scope, no page, no further link write."""
    world.publish()
    outbox = world.server.jira.outbox
    start = len(outbox)
    _link(world)
    events = outbox[start:]
    assert events and all(e["changelog"]["items"][0]["field"] == "RemoteIssueLink" for e in events)
    progress_rows = _count(world.engine)
    scope = _scope(world)

    for n, payload in enumerate(events):
        assert store_event(
            engine=world.engine, delivery_id=f"own-{n}", event_type=payload["webhookEvent"],
            issue_key=payload["issue"]["key"], issue_id=payload["issue"]["id"],
            event_ts=payload["timestamp"], body=encode(payload).decode(),
        )  # fmt: skip
    result = drain(engine=world.engine, options=WorkerOptions(thresholds=THRESHOLDS), now=LATER)

    assert result.applied == len({e["issue"]["key"] for e in events}) and result.krs == set()
    assert _count(world.engine) == progress_rows
    assert _scope(world) == scope
    world.server.stats.reset()
    assert world.publish().requests == 0
    assert _link(world).requests == 0
    # The next incremental sync reads those issues again (their `updated` moved): still nothing.
    jira = _jira(world)
    summary = Syncer(
        world.engine, jira, thresholds=THRESHOLDS, guardrails=GUARDRAILS, clock=lambda: LATER
    ).incremental()
    assert summary.krs_changed == 0 and summary.issues_read > 0
    assert _count(world.engine) == progress_rows
    assert _link(world).writes == 0


def test_the_simulated_remote_link_api_answers_as_jira_documents(world: World) -> None:
    creds = world.server.credentials
    session = requests.Session()
    if world.flavor == "cloud":
        session.auth = (creds.email, creds.api_token)
    else:
        session.headers["Authorization"] = f"Bearer {creds.pat}"
    issue = "SUP-3"
    url = f"{world.server.url}/rest/api/2/issue/{issue}/remotelink"
    body = {
        "globalId": "system=x&id=1",
        "relationship": "mentioned in",
        "object": {"url": "https://x.example/1", "title": "One", "summary": "first"},
    }

    created = session.post(url, json=body, timeout=5)
    replaced = session.post(
        url, json={"globalId": "system=x&id=1", "object": {"url": "https://x/2", "title": "Two"}},
        timeout=5,
    )  # fmt: skip
    listed = session.get(url, timeout=5).json()
    one = session.get(url, params={"globalId": "system=x&id=1"}, timeout=5).json()
    missing = session.post(url, json={"object": {"url": "https://x/3"}}, timeout=5)
    too_long = session.post(
        url, json={"globalId": "g" * 256, "object": {"url": "u", "title": "t"}}, timeout=5
    )
    by_id = session.get(f"{url}/{created.json()['id']}", timeout=5)
    no_issue = session.get(f"{world.server.url}/rest/api/2/issue/NOPE-1/remotelink", timeout=5)
    deleted = session.delete(url, params={"globalId": "system=x&id=1"}, timeout=5)
    again = session.delete(url, params={"globalId": "system=x&id=1"}, timeout=5)

    assert created.status_code == 201 and set(created.json()) == {"id", "self"}
    assert replaced.status_code == 200 and replaced.json()["id"] == created.json()["id"]
    assert len(listed) == 1 and listed[0]["object"]["title"] == "Two"
    assert "relationship" not in one and "summary" not in one["object"]  # omitted -> null
    assert missing.status_code == 400 and "title" in missing.json()["errors"]
    assert too_long.status_code == 400 and "globalId" in too_long.json()["errors"]
    assert by_id.ok and by_id.json()["globalId"] == "system=x&id=1"
    assert no_issue.status_code == 404
    assert deleted.status_code == 204 and again.status_code == 404
    history = world.server.jira.changelogs[issue]
    assert [h["items"][0]["field"] for h in history[-3:]] == ["RemoteIssueLink"] * 3


def _count(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(ProgressSnapshotRow)).one())
