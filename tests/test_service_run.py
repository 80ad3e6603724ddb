"""`okr-jira run` as an operator runs it: a real process, signed webhooks from the simulated Jira
over real HTTP, and no sync in between."""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import re
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from okr_jira.simulator import SimulatorServer, generate
from okr_jira.simulator.confluence import ConfluenceSim
from okr_jira.storage import state
from okr_jira.storage.db import session_scope
from okr_jira.storage.inbox import pending_count
from okr_jira.storage.links import open_links
from tests.support.paths import EXAMPLE_OKRS, SESSION_SECRET
from tests.support.service import (
    BIN,
    SECRET,
    confluence_env,
    okr_jira,
    running,
    site_env,
    wait_until,
)

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
        wait_until(lambda: sync_marks(engine)[1] is not None, 120, "the catch-up full sync")
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


def page_versions(confluence: ConfluenceSim) -> dict[str, int]:
    return {p.title: p.version for p in confluence.pages.values() if p.status == "current"}


def test_a_jira_change_reaches_its_confluence_page_within_the_debounce_under_run(
    db_env: str, engine: Engine, tmp_path: Path
) -> None:
    confluence = ConfluenceSim(("OKR",))
    with SimulatorServer(
        "cloud", jira=generate("small", flavor="cloud"), confluence=confluence
    ) as site:
        env = site_env(db_env, site, OKR_JIRA_PUBLISH_DEBOUNCE_SECONDS="3") | confluence_env(site)
        okr_jira(env, "apply", str(EXAMPLE_OKRS))
        okr_jira(env, "sync", "--full")
        okr_jira(env, "publish")
        jira = site.jira
        with running(env) as node:
            # Start-up work settles first: the catch-up sync, and the publish it asks for.
            wait_until(lambda: sync_marks(engine)[1] is not None, 120, "the catch-up full sync")
            wait_until(lambda: publish_settled(engine), 120, "the catch-up publish")
            marks, before = sync_marks(engine), page_versions(confluence)
            jira.webhook_url, jira.webhook_secret = f"{node.url}/webhooks/jira", SECRET
            key = next(
                k for k in sorted(open_scope(engine, "SUP-1.3"))
                if jira.issues[k].status != "Done"
            )  # fmt: skip
            changed_at = time.monotonic()
            jira.transition(key, "Done")
            sup = next(p for p in confluence.pages.values() if p.title.startswith("SUP-1 "))
            wait_until(lambda: sup.version > before[sup.title], 3 + 10, "the SUP-1 page")
            took = time.monotonic() - changed_at
            assert took < 3 + 10
            assert sync_marks(engine) == marks, "a sync ran: the webhook alone must do it"
            row = re.search(
                rf"<tr>(?:(?!</tr>).)*>{re.escape(key)}</a>(?:(?!</tr>).)*</tr>", sup.body
            )
            assert row and ">DONE<" in row.group(0)  # the page shows the issue done
            wait_until(lambda: publish_settled(engine), 10, "the publish to finish")
            after = page_versions(confluence)
            changed = {title for title, v in after.items() if v != before.get(title)}
            # Only the path of the change: the objective, its ancestors, the cycle's root, and
            # this month's review page (it shows every objective's progress now).
            assert changed == {
                t
                for t in after
                if t.startswith(("SUP-1 ", "CX-1 ", "CO-1 "))
                or t in ("OKRs - Q4 2026", f"OKRs - Q4 2026 - Review {dt.date.today():%Y-%m}")
            }, changed
            node.stop()


def publish_settled(engine: Engine) -> bool:
    with session_scope(engine) as session:
        return state.PUBLISH_REQUESTED.get(session=session) is None


def open_scope(engine: Engine, kr: str) -> set[str]:
    return scope(engine, kr)


def tree_of(env: dict[str, str]) -> list[object]:
    """What `okr-jira tree --json` shows of the objectives (not when it was asked), without the
    guardrail signals: they read the history (the burst's scope moves and backfills are real
    signals of the database that lived through it; a fresh sync has no past to judge)."""

    def strip(value: object) -> object:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k != "signals"}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return list(strip(json.loads(okr_jira(env, "tree", "--json"))["objectives"]))  # type: ignore[call-overload]


def test_kill_9_in_a_burst_and_an_immediate_restart_converge_to_a_fresh_full_sync(
    db_env: str, engine: Engine, tmp_path: Path
) -> None:
    """Data Center does not retry a failed delivery: what the dead process missed, the sync run
    by the restarted one on start repairs; what it stored and had not applied, it applies."""
    with SimulatorServer("datacenter", jira=generate("small", flavor="datacenter")) as site:
        env = site_env(db_env, site, OKR_JIRA_SYNC_INTERVAL_MINUTES="600")
        okr_jira(env, "apply", str(EXAMPLE_OKRS))
        okr_jira(env, "sync", "--full")
        jira, rng = site.jira, random.Random(11)
        keys = sorted(k for k in jira.issues if k.split("-")[0] in ("SUP", "PLAT", "MOB"))

        def burst(n: int) -> None:
            for _ in range(n):
                key = rng.choice(keys)
                jira.update_issue(
                    key,
                    status=rng.choice(["To Do", "In Progress", "Done"]),
                    labels=rng.choice([("macros",), ("crash",), ("reliability",), ()]),
                )

        with running(env) as first:
            wait_until(lambda: sync_marks(engine)[1] is not None, 120, "the catch-up full sync")
            jira.webhook_url, jira.webhook_secret = f"{first.url}/webhooks/jira", SECRET
            burst(150)

            def delivered() -> int:
                return sum(r.status == 200 for r in jira.deliverer.results)

            wait_until(lambda: delivered() >= 50, 120, "a third of the burst delivered")
            first.proc.kill()  # kill -9 in the middle: the rest of the deliveries fail
            first.proc.wait(10)
        assert delivered() < 150
        restarted_at = dt.datetime.now(dt.UTC)
        with running(env) as second:  # at once: the dead process holds no lock
            jira.flush_webhooks(60)
            jira.webhook_url = f"{second.url}/webhooks/jira"
            burst(50)  # and work goes on, by webhook
            assert jira.flush_webhooks(60)

            def settled() -> bool:
                with session_scope(engine) as session:
                    ran = state.job_last_run("incremental_sync").get(session=session)
                    return (
                        ran is not None
                        and ran > restarted_at
                        and pending_count(session=session) == 0
                    )

            wait_until(settled, 180, "the start-up sync and the inbox")
            after_restart = tree_of(env)
            second.stop()
        fresh_env = env | {"OKR_JIRA_DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}"}
        okr_jira(fresh_env, "db", "upgrade")
        okr_jira(fresh_env, "apply", str(EXAMPLE_OKRS))
        okr_jira(fresh_env, "sync", "--full")
        assert after_restart == tree_of(fresh_env)


def test_a_second_run_on_the_same_sqlite_file_is_refused_saying_who_holds_it(
    db_env: str, engine: Engine
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OKR_JIRA_")}
    env |= {
        "OKR_JIRA_DATABASE_URL": db_env, "OKR_JIRA_WEBHOOK_SECRET": SECRET,
        "OKR_JIRA_SESSION_SECRET": SESSION_SECRET,
    }  # fmt: skip
    if not db_env.startswith("sqlite"):
        pytest.skip("the single-node rule is SQLite's")
    with running(env) as first:
        second = subprocess.run(
            [str(BIN / "okr-jira"), "run", "--port", "0"], env=env, capture_output=True,
            text=True, timeout=60,
        )  # fmt: skip
        assert second.returncode == 1
        assert f":{first.proc.pid}) is running on this SQLite database" in second.stderr
        assert "PostgreSQL" in second.stderr and "Traceback" not in second.stderr
        first.stop()


def test_an_edit_in_the_api_reaches_confluence_within_the_debounce_under_run(
    db_env: str, engine: Engine
) -> None:
    """An admin changes a target over /api/v1: no sync, no CLI publish; the page follows."""
    confluence = ConfluenceSim(("OKR",))
    with SimulatorServer(
        "cloud", jira=generate("small", flavor="cloud"), confluence=confluence
    ) as site:
        env = site_env(db_env, site, OKR_JIRA_PUBLISH_DEBOUNCE_SECONDS="3") | confluence_env(site)
        okr_jira(env, "apply", str(EXAMPLE_OKRS))
        okr_jira(env, "sync", "--full")
        okr_jira(env, "publish")
        token = okr_jira(env, "tokens", "add", "ana", "--role", "admin").strip().splitlines()[-1]
        with running(env) as node:
            wait_until(lambda: sync_marks(engine)[1] is not None, 120, "the catch-up full sync")
            wait_until(lambda: publish_settled(engine), 120, "the catch-up publish")
            page = next(p for p in confluence.pages.values() if p.title.startswith("CO-1 "))
            version = page.version
            assert "target 60 NPS" in page.body
            request = urllib.request.Request(
                f"{node.url}/api/v1/key-results/CO-1.1", method="PATCH",
                data=json.dumps({"target": 75}).encode(),
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            )  # fmt: skip
            edited_at = time.monotonic()
            with urllib.request.urlopen(request, timeout=30) as answer:
                assert answer.status == 200
            wait_until(lambda: page.version > version, 3 + 10, "the CO-1 page")
            assert time.monotonic() - edited_at < 3 + 10
            assert "target 75 NPS" in page.body
            node.stop()
