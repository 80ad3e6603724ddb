"""/metrics reports what a sync and a publish took, next to the inbox figures."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from okr_jira.settings import load_settings
from tests.support.paths import SESSION_SECRET
from tests.support.publish_world import World, build_world
from webhooks import create_app


@pytest.fixture
def world(engine: Engine, tmp_path: Path, cloud_dns: None) -> Iterator[World]:
    yield from build_world(engine, "cloud", tmp_path)


def test_metrics_show_sync_and_publish_durations_and_inbox_depth(world: World) -> None:
    world.publish()
    settings = load_settings(
        None,
        database_url=str(world.engine.url),
        webhook_secret="webhook-secret-for-tests",
        session_secret=SESSION_SECRET,
    )
    text = create_app(settings, engine=world.engine).test_client().get("/metrics").get_data(True)
    assert 'okr_jira_job_last_duration_seconds{job="sync_full"}' in text
    assert 'okr_jira_job_last_duration_seconds{job="publish"}' in text
    assert "# TYPE okr_jira_job_last_duration_seconds gauge" in text
    assert "okr_jira_webhook_inbox_depth 0" in text
