"""Planning a publish by what each page is made from: no page rendered to know it unchanged,
a page whose inputs moved but whose content did not is left alone, and migration 0013."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, inspect, text

from okr_jira.storage.db import alembic_config, make_engine, upgrade
from tests.support.publish_world import CYCLE, World, build_world


@pytest.fixture
def world(engine: Engine, tmp_path: Path, cloud_dns: None) -> Iterator[World]:
    yield from build_world(engine, "cloud", tmp_path)


def test_the_plan_of_a_published_unchanged_cycle_has_nothing_to_do(world: World) -> None:
    world.publish()

    plan = world.publisher(connect=lambda: pytest.fail("the plan asked Confluence")).plan(CYCLE)

    assert plan.empty and plan.unchanged == len(world.rows())


def test_an_issue_touched_without_a_visible_change_writes_nothing(world: World) -> None:
    world.publish()
    issue = world.open_issue_of("SUP-1.1")

    world.change_issue(issue.key)  # only Jira's `updated` moved (a comment, say)
    plan = world.publisher().plan(CYCLE)
    summary = world.publish()

    # Its KR's inputs moved, so the plan names the pages on its path; rendered, they are the same.
    assert {page.subject for page in plan.pages} == {"root", "SUP-1", "CX-1", "CO-1"}
    assert summary.requests == 0 and world.server.stats.total == 0
    assert not summary.updated
    assert world.publisher().plan(CYCLE).empty  # and the next plan knows them unchanged


def test_pages_written_before_their_inputs_were_kept_are_not_written_again(
    world: World, engine: Engine
) -> None:
    world.publish()
    with engine.begin() as conn:  # what migration 0013 leaves on pages written before it
        conn.execute(text("UPDATE published_page SET inputs_hash = ''"))

    summary = world.publish()

    assert summary.requests == 0 and not summary.updated
    assert world.publisher().plan(CYCLE).empty


def test_the_migration_keeps_published_pages_and_downgrades(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        upgrade(engine, "0009")
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO published_page (cycle, subject, page_id, title, content_hash,"
                    " version, published_at) VALUES ('Q4', 'root', '7', 'OKRs - Q4', 'abc', 3,"
                    " '2026-11-01 10:00:00')"
                )
            )
        upgrade(engine)
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT page_id, content_hash, inputs_hash FROM published_page")
            )
            assert [tuple(r) for r in rows] == [("7", "abc", "")]
        command.downgrade(alembic_config(engine), "0012")
        columns = {c["name"] for c in inspect(engine).get_columns("published_page")}
        assert "inputs_hash" not in columns and "content_hash" in columns
        upgrade(engine)
    finally:
        engine.dispose()
