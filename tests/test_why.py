"""`okr-jira why ISSUE`: the key results an issue counts toward, its weight and share in each,
and the objectives up to the top, through the real CLI against a synced simulated site."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from okr_jira.simulator import SimulatorServer, generate
from okr_jira.storage.db import session_scope
from okr_jira.storage.links import open_links
from tests.support.paths import EXAMPLE_OKRS
from tests.support.service import BIN, okr_jira, site_env


@pytest.fixture
def site() -> Iterator[SimulatorServer]:
    with SimulatorServer("datacenter", jira=generate("small", flavor="datacenter")) as server:
        yield server


def test_why_names_each_key_result_its_weight_share_and_the_path_to_the_top(
    db_env: str, engine: Engine, site: SimulatorServer, tmp_path: Path
) -> None:
    env = site_env(db_env, site)
    okr_jira(env, "apply", str(EXAMPLE_OKRS))
    okr_jira(env, "sync", "--full")
    with session_scope(engine) as session:
        scope = open_links(session=session, krs=["SUP-1.1"])["SUP-1.1"]
    issue = sorted(scope)[0]
    rec = site.jira.issues[issue]
    points = {k: site.jira.issues[k].story_points for k in scope}
    total = sum(p if p is not None else 1.0 for p in points.values())
    mine = points[issue] if points[issue] is not None else 1.0

    answer = json.loads(okr_jira(env, "why", issue.lower(), "--json"))

    assert answer["issue"] == issue and answer["summary"] == rec.summary
    (kr,) = [k for k in answer["key_results"] if k["key"] == "SUP-1.1"]
    assert kr["objective"] == "SUP-1"
    assert kr["path"] == ["SUP-1", "CX-1", "CO-1"]
    assert kr["weight"] == mine and kr["unit"] == "points"
    assert kr["share"] == pytest.approx(mine / total, abs=1e-4)
    text = okr_jira(env, "why", issue)
    assert f"SUP-1.1 Ship self-service refunds: weight {mine:g} points" in text
    assert "SUP-1 > CX-1 > CO-1" in text


def test_why_an_issue_okr_jira_never_read_says_so_and_exits_1(
    db_env: str, engine: Engine, site: SimulatorServer
) -> None:
    env = site_env(db_env, site)
    okr_jira(env, "apply", str(EXAMPLE_OKRS))
    done = subprocess.run(
        [str(BIN / "okr-jira"), "why", "NOPE-1"], env=env, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert done.returncode == 1
    assert "NOPE-1 is not among the issues okr-jira has read from Jira" in done.stderr
    assert "Traceback" not in done.stderr
