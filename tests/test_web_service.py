"""`okr-jira run` as an operator runs it: the web app and the API on the same port as the receiver,
and a sync asked for over the API queued, picked up by the scheduler and polled to its end."""

from __future__ import annotations

import pytest
import requests
from sqlalchemy import Engine

from okr_jira.simulator import SimulatorServer, generate
from okr_jira.storage.db import session_scope
from okr_jira.storage.links import open_links
from tests.support.paths import EXAMPLE_OKRS
from tests.support.service import okr_jira, running, site_env, wait_until


@pytest.mark.parametrize("flavor", ["cloud"])
def test_queued_sync_runs_under_run_and_the_pages_are_served(
    db_env: str, engine: Engine, flavor: str
) -> None:
    with SimulatorServer(flavor, jira=generate("small", flavor=flavor)) as site:  # type: ignore[arg-type]
        env = site_env(db_env, site, OKR_JIRA_SYNC_INTERVAL_MINUTES="600")
        okr_jira(env, "apply", str(EXAMPLE_OKRS))
        token = okr_jira(env, "tokens", "add", "ops", "--role", "admin").strip().splitlines()[-1]
        reader = okr_jira(env, "tokens", "add", "viewer", "--role", "read").strip().splitlines()[-1]
        auth = {"Authorization": f"Bearer {token}"}
        with running(env) as node:
            # A starting scheduler catches up on its missed full sync first; wait for it.
            page = requests.get(f"{node.url}/", headers=auth, timeout=10)
            assert page.status_code == 200 and "OKRs · Q4 2026" in page.text
            assert (
                requests.get(f"{node.url}/", timeout=10, allow_redirects=False).status_code == 302
            )
            refused = requests.post(f"{node.url}/api/v1/sync", timeout=10,
                                    headers={"Authorization": f"Bearer {reader}"})  # fmt: skip
            assert refused.status_code == 403
            queued = requests.post(f"{node.url}/api/v1/sync?full=true", headers=auth, timeout=10)
            assert queued.status_code == 202
            job = queued.json()["job"]

            def finished() -> bool:
                state = requests.get(f"{node.url}/api/v1/jobs/{job}", headers=auth, timeout=5)
                return state.json()["status"] in ("done", "failed")

            wait_until(finished, 90, "the queued sync finished")
            done = requests.get(f"{node.url}/api/v1/jobs/{job}", headers=auth, timeout=5).json()
            assert done["status"] == "done", done
            assert "sync (full) finished" in done["message"] and done["requested_by"] == "ops"
            with session_scope(engine) as session:
                assert open_links(session=session, krs=["SUP-1.1"]).get("SUP-1.1")
            publish = requests.post(f"{node.url}/api/v1/publish", headers=auth, timeout=10)
            assert publish.status_code == 202
            pjob = publish.json()["job"]
            wait_until(
                lambda: requests.get(f"{node.url}/api/v1/jobs/{pjob}", headers=auth,
                                     timeout=5).json()["status"] == "failed",
                60, "the publish job reported why it cannot run",
            )  # fmt: skip
            failed = requests.get(f"{node.url}/api/v1/jobs/{pjob}", headers=auth, timeout=5)
            assert "OKR_JIRA_CONFLUENCE_SPACE is not set" in failed.json()["message"]
            node.stop()
        assert node.proc.returncode == 0
