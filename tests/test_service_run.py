"""`okr-jira run` as an operator runs it: a real process, signed webhooks from the simulated Jira
over real HTTP, and no sync in between."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from okr_jira.simulator import SimulatorServer, generate
from okr_jira.storage import state
from okr_jira.storage.db import session_scope
from okr_jira.storage.links import open_links
from tests.support.paths import EXAMPLE_OKRS
from tests.support.service import SECRET, okr_jira, running, site_env, wait_until

MIGRATIONS = 'project = SUP AND summary ~ "Migrate"'
REMOTE_KR = f"""
  - key: SUP-2
    cycle: 2026-Q4
    team: support
    parent: CX-1
    title: Move the old tooling over
    key_results:
      - key: SUP-2.1
        title: Migrations done
        kind: issues
        source: {{jql: '{MIGRATIONS}'}}
"""


@pytest.fixture(params=["cloud", "datacenter"])
def site(request: pytest.FixtureRequest) -> Iterator[SimulatorServer]:
    flavor = request.param
    with SimulatorServer(flavor, jira=generate("small", flavor=flavor)) as server:
        yield server


def scope(engine: Engine, kr: str) -> set[str]:
    with session_scope(engine) as session:
        return set(open_links(session=session, krs=[kr]).get(kr, set()))


def sync_marks(engine: Engine) -> tuple[object, ...]:
    """What any sync moves: the watermark and the sync jobs' last runs."""
    with session_scope(engine) as session:
        return (
            state.WATERMARK.get(session=session),
            state.job_last_run("full_sync").get(session=session),
            state.job_last_run("incremental_sync").get(session=session),
            state.job_duration("sync_full").get(session=session),
            state.job_duration("sync_incremental").get(session=session),
        )


def test_a_webhook_moves_a_key_result_only_jira_can_answer_under_run(
    db_env: str, engine: Engine, site: SimulatorServer, tmp_path: Path
) -> None:
    okrs = tmp_path / "okrs.yaml"
    okrs.write_text(EXAMPLE_OKRS.read_text(encoding="utf-8") + REMOTE_KR, encoding="utf-8")
    env = site_env(db_env, site, OKR_JIRA_SYNC_INTERVAL_MINUTES="600")
    okr_jira(env, "apply", str(okrs))
    okr_jira(env, "sync", "--full")
    jira = site.jira
    before = set(jira.search(MIGRATIONS))
    assert scope(engine, "SUP-2.1") == before  # the full sync asked Jira
    with running(env) as node:
        # A scheduler that starts catches up on missed jobs first; wait for that to settle.
        wait_until(lambda: sync_marks(engine)[1] is not None, 60, "the catch-up full sync")
        marks = sync_marks(engine)
        jira.webhook_url, jira.webhook_secret = f"{node.url}/webhooks/jira", SECRET
        joining = sorted(set(jira.search("project = SUP")) - before)[:2]
        leaving = sorted(before)[0]
        for key in joining:
            jira.update_issue(key, summary="Migrate the refund macros")
        jira.update_issue(leaving, summary="Keep the refund macros")
        assert jira.flush_webhooks(10)
        expected = (before | set(joining)) - {leaving}
        assert set(jira.search(MIGRATIONS)) == expected
        wait_until(lambda: scope(engine, "SUP-2.1") == expected, 15, "webhooks moved SUP-2.1")
        assert sync_marks(engine) == marks, "a sync ran: the webhooks alone must do it"
        assert all(r.status == 200 for r in jira.deliverer.results)
        node.stop()
    assert node.proc.returncode == 0
    assert dt.datetime.now(dt.UTC)  # the process is gone; the scope stays
    assert scope(engine, "SUP-2.1") == expected
