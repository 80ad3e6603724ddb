"""`okr-jira publish` as a user runs it: settings from the environment, --dry-run, --out."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import flask
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine

from okr_jira.cli import main
from okr_jira.report.review import months_of
from tests.support.builders import make_cycle
from tests.support.publish_world import PARENT_TITLE, SPACE, World, build_world


@pytest.fixture
def world(
    engine: Engine, db_env: str, tmp_path: Path, cloud_dns: None, monkeypatch: pytest.MonkeyPatch
) -> Iterator[World]:
    for world in build_world(engine, "cloud", tmp_path):
        creds = world.server.credentials
        for name, value in {
            "CONFLUENCE_URL": world.confluence_url,
            "CONFLUENCE_USER": creds.email,
            "CONFLUENCE_TOKEN": creds.api_token,
            "CONFLUENCE_SPACE": SPACE,
            "CONFLUENCE_PARENT": PARENT_TITLE,
            "HTTP_MAX_RETRIES": "0",
        }.items():
            monkeypatch.setenv(f"OKR_JIRA_{name}", value)
        yield world


def _run(*args: str) -> Result:
    return CliRunner().invoke(main, ["publish", *args], catch_exceptions=False)


def test_dry_run_lists_the_pages_and_sends_nothing(world: World) -> None:
    first = _run("--dry-run")

    assert first.exit_code == 0, first.output
    pages = 10 + len(months_of(make_cycle(), dt.date.today()))  # + the monthly reviews so far
    assert f"Q4 2026: {pages} to create; 0 page(s) unchanged" in first.output
    assert "create                 SUP-1 Answer faster, with fewer escalations (Q4 2026)" in (
        first.output
    )
    assert world.server.stats.total == 0 and len(world.live_pages()) == 1  # the parent page

    assert f"created {pages}" in _run().output
    world.edit_okrs("title: Customers help themselves", "title: Customers solve it alone")
    world.server.stats.reset()
    second = _run("--cycle", "2026-Q4", "--dry-run")

    assert "1 to rename" in second.output
    assert "rename                 SELF-1 Customers solve it alone (Q4 2026) (was " in second.output
    assert "update                 CX-1 Resolve" in second.output  # it links to SELF-1
    assert world.server.stats.total == 0


def test_out_writes_standalone_html_without_confluence(
    engine: Engine, db_env: str, tmp_path: Path
) -> None:
    for world in build_world(engine, "datacenter", tmp_path):
        out = tmp_path / "preview"
        result = _run("--out", str(out))

        assert result.exit_code == 0, result.output
        names = sorted(p.name for p in out.iterdir())
        assert {"index.html", "SUP-1.html", "health.html"} <= set(names) and len(names) == 10
        index = (out / "index.html").read_text(encoding="utf-8")
        assert 'href="SUP-1.html"' in index and "<h1>OKRs - Q4 2026</h1>" in index
        assert world.server.stats.total == 0


def test_confluence_down_is_one_clear_error_line(world: World) -> None:
    world.refuse = lambda request: flask.Response("<html>down</html>", 503, mimetype="text/html")

    result = CliRunner().invoke(main, ["publish"])

    assert result.exit_code == 1
    assert result.output.startswith("error: publishing Q4 2026 to Confluence stopped after 0")
    assert "Traceback" not in result.output
    assert "sim-api-token" not in result.output
