"""The golden thread under `okr-jira run`: links written by the service people run, following the
scope as webhooks move it, and quiet on the webhooks its own link writes cause."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from okr_jira.simulator import SimulatorServer, generate
from okr_jira.storage.db import session_scope
from okr_jira.storage.links import open_links
from tests.support.paths import EXAMPLE_OKRS
from tests.support.service import SECRET, okr_jira, running, site_env, wait_until


@pytest.fixture
def site() -> Iterator[SimulatorServer]:
    with SimulatorServer("cloud", jira=generate("small", flavor="cloud")) as server:
        yield server


def scope(engine: Engine, kr: str) -> set[str]:
    with session_scope(engine) as session:
        return set(open_links(session=session, krs=[kr]).get(kr, set()))


def okr_link(site: SimulatorServer, issue: str, kr: str) -> bool:
    return any(link.global_id == f"okr-jira:kr={kr}" for link in site.jira.remote_links(issue))


def linked_krs(site: SimulatorServer, issue: str) -> set[str]:
    prefix = "okr-jira:kr="
    return {
        link.global_id.removeprefix(prefix)
        for link in site.jira.remote_links(issue)
        if link.global_id.startswith(prefix)
    }


def krs_of(engine: Engine, issue: str) -> set[str]:
    with session_scope(engine) as session:
        return {kr for kr, keys in open_links(session=session).items() if issue in keys}


def quiet_for(jira: object, seconds: float) -> bool:
    """Whether no remote link was written over `seconds` (more than one run of the links job)."""
    before = sum(jira.remote.writes.values())  # type: ignore[attr-defined]
    time.sleep(seconds)
    return sum(jira.remote.writes.values()) == before  # type: ignore[attr-defined]


def test_the_running_service_follows_the_scope_and_never_loops_on_its_own_link_writes(
    db_env: str, engine: Engine, site: SimulatorServer, tmp_path: Path
) -> None:
    env = site_env(
        db_env, site,
        OKR_JIRA_JIRA_REMOTE_LINKS="true", OKR_JIRA_PUBLIC_URL="https://okr.acme.example",
        OKR_JIRA_SYNC_INTERVAL_MINUTES="600", OKR_JIRA_PUBLISH_DEBOUNCE_SECONDS="10",
    )  # fmt: skip
    okr_jira(env, "apply", str(EXAMPLE_OKRS))
    out = okr_jira(env, "sync", "--full")
    pairs = sum(len(scope(engine, kr)) for kr in ("SUP-1.1", "SUP-1.2", "SUP-1.3", "ENG-1.1"))
    assert "remote links in Jira:" in out and site.jira.remote.writes["create"] >= pairs
    assert "0 created" in okr_jira(env, "remote-links", "--dry-run")
    jira = site.jira
    with running(env) as node:
        jira.webhook_url, jira.webhook_secret = f"{node.url}/webhooks/jira", SECRET
        leaving = sorted(scope(engine, "SUP-1.3"))[0]
        assert okr_link(site, leaving, "SUP-1.3")
        jira.update_issue(leaving, labels=(), issue_type="Bug")  # no longer a macros story
        assert jira.flush_webhooks(10)
        wait_until(lambda: leaving not in scope(engine, "SUP-1.3"), 30, "the issue left")
        wait_until(lambda: not okr_link(site, leaving, "SUP-1.3"), 60, "its link was removed")
        # Now a Bug, it may leave (or join) other KRs too: wait until its links in Jira are its
        # scope's, whichever job run wrote them, before counting what comes after.
        wait_until(lambda: linked_krs(site, leaving) == krs_of(engine, leaving), 60, "in step")
        wait_until(lambda: quiet_for(jira, 6.0), 90, "the link writes settled")  # a loop never does
        # The removal fires a webhook of its own; the service takes it and writes nothing more.
        assert jira.flush_webhooks(10)
        settled = sum(jira.remote.writes.values())
        time.sleep(12)  # more than two runs of the remote links job
        assert sum(jira.remote.writes.values()) == settled
        assert all(r.status == 200 for r in jira.deliverer.results)
        node.stop()
    assert node.proc.returncode == 0
