"""Stored OKRs built by the real flow, and a simulated Atlassian site to publish them to.

The example OKR file is applied, a full sync reads the small generated Jira dataset, and the
Confluence simulator (Cloud under acme.atlassian.net on loopback, or Data Center) has an "OKR"
space with a "Team OKRs" parent page. Nothing here mocks the project's own code.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import flask
from sqlalchemy import Engine

from okr_jira.adapters.confluence import ConfluenceAdapter, Flavor, make_client
from okr_jira.adapters.http import RetryPolicy
from okr_jira.adapters.jira import JiraAdapter
from okr_jira.domain.models import IssueSnapshot
from okr_jira.okrs.file import load_okr_file
from okr_jira.okrs.plan import apply_plan, make_plan
from okr_jira.publish import ContextOptions, Publisher, PublishSummary
from okr_jira.scope import apply_issue_changes
from okr_jira.simulator.confluence import ConfluenceSim, SimPage
from okr_jira.simulator.datagen import generate
from okr_jira.simulator.server import SimulatorServer
from okr_jira.storage.db import session_scope
from okr_jira.storage.issues import snapshots
from okr_jira.storage.links import open_links
from okr_jira.storage.pages import page_rows
from okr_jira.storage.tables import PublishedPageRow
from okr_jira.sync import Syncer
from tests.support.atlassian_host import CLOUD_HOST
from tests.support.builders import GUARDRAILS, THRESHOLDS
from tests.support.paths import EXAMPLE_OKRS

NOW = dt.datetime(2026, 11, 15, 12, 0, tzinfo=dt.UTC)
SPACE = "OKR"
PARENT_TITLE = "Team OKRs"
CYCLE = "2026-Q4"


def storage(value: str) -> dict[str, Any]:
    return {"storage": {"value": value, "representation": "storage"}}


@dataclass
class World:
    engine: Engine
    server: SimulatorServer
    sim: ConfluenceSim
    flavor: Flavor
    okr_text: str
    tmp: Path
    parent_id: str
    # Answers a request instead of the simulator when it returns a response (an outage).
    refuse: Callable[[flask.Request], flask.Response | None] | None = None

    @property
    def confluence_url(self) -> str:
        """What a user copies from the browser: the Cloud site under its atlassian.net name."""
        if self.flavor == "cloud":
            return f"http://{CLOUD_HOST}:{self.server.url.rsplit(':', 1)[1]}/wiki"
        return self.server.url

    def adapter(self, policy: RetryPolicy | None = None) -> ConfluenceAdapter:
        creds = self.server.credentials
        policy = policy or RetryPolicy(timeout=5, max_retries=1, backoff_base=0.01, sleep=_nap)
        if self.flavor == "cloud":
            client = make_client(
                "cloud", self.confluence_url, user=creds.email, token=creds.api_token, policy=policy
            )
        else:
            client = make_client("datacenter", self.confluence_url, token=creds.pat, policy=policy)
        return ConfluenceAdapter(client)

    def publisher(self, **kwargs: Any) -> Publisher:
        options = ContextOptions(
            thresholds=THRESHOLDS, space_key=SPACE, jira_base_url=self.server.url
        )
        kwargs.setdefault("parent", PARENT_TITLE)
        kwargs.setdefault("clock", lambda: NOW)
        connect = kwargs.pop("connect", self.adapter)
        return Publisher(self.engine, connect, space=SPACE, options=options, **kwargs)

    def publish(self, **kwargs: Any) -> PublishSummary:
        """Publish with the simulator's request counter reset first."""
        self.server.stats.reset()
        return self.publisher(**kwargs).publish(CYCLE)

    # ----- changing the stored OKRs and issues, the way users do ---------------------------------

    def apply_okrs(self, text: str) -> None:
        path = self.tmp / "okrs.yaml"
        path.write_text(text, encoding="utf-8")
        with session_scope(self.engine) as session:
            apply_plan(session, make_plan(session, load_okr_file(path)), actor="test", now=NOW)
        self.okr_text = text

    def edit_okrs(self, old: str, new: str) -> None:
        assert old in self.okr_text, old
        self.apply_okrs(self.okr_text.replace(old, new, 1))

    def change_issue(self, key: str, **changes: Any) -> IssueSnapshot:
        """A webhook-style change of one stored issue, an hour after the sync."""
        with session_scope(self.engine) as session:
            current = snapshots(session=session, keys=[key])[key]
            changed = replace(current, updated=NOW + dt.timedelta(hours=1), **changes)
            apply_issue_changes(
                session=session, snapshots=[changed], now=NOW + dt.timedelta(hours=1),
                thresholds=THRESHOLDS,
            )  # fmt: skip
        return changed

    def open_issue_of(self, kr: str) -> IssueSnapshot:
        """An issue in `kr`'s scope that is not done yet."""
        with session_scope(self.engine) as session:
            keys = open_links(session=session, krs=[kr])[kr]
            snaps = snapshots(session=session, keys=keys)
        return next(s for k, s in sorted(snaps.items()) if s.status_category != "done")

    # ----- reading what was published -------------------------------------------------------------

    def rows(self) -> dict[str, PublishedPageRow]:
        with session_scope(self.engine) as session:
            return page_rows(session=session, cycle=CYCLE)

    def page(self, subject: str) -> SimPage:
        return self.sim.pages[self.rows()[subject].page_id]

    def live_pages(self) -> list[SimPage]:
        return [p for p in self.sim.pages.values() if p.status == "current"]


def _nap(_: float) -> None:
    """Retries in tests do not sleep."""


def build_world(engine: Engine, flavor: Flavor, tmp: Path) -> Iterator[World]:
    sim = ConfluenceSim((SPACE,))
    server = SimulatorServer(flavor, jira=generate("small", flavor=flavor), confluence=sim)
    parent = sim.create_page(
        {"title": PARENT_TITLE, "space": {"key": SPACE}, "body": storage("<p>Our OKRs</p>")}
    )
    world = World(engine, server, sim, flavor, "", tmp, parent.id)

    @server.app.before_request
    def outage() -> flask.Response | None:
        return world.refuse(flask.request) if world.refuse else None

    with server:
        world.apply_okrs(EXAMPLE_OKRS.read_text(encoding="utf-8"))
        creds = server.credentials
        if flavor == "cloud":
            jira = JiraAdapter(server.url, user=creds.email, token=creds.api_token, flavor=flavor)
        else:
            jira = JiraAdapter(server.url, user=None, token=creds.pat, flavor=flavor)
        Syncer(engine, jira, thresholds=THRESHOLDS, guardrails=GUARDRAILS, clock=lambda: NOW).full()
        server.stats.reset()
        yield world
