"""`okr-jira run` with dead notification channels: a Slack webhook that never answers, a Teams
workflow that was deleted (404), an SMTP server that is down. Sync and publishing go on."""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy import Engine
from sqlmodel import Session, select

from okr_jira.storage import state
from okr_jira.storage.db import session_scope
from okr_jira.storage.tables import ChannelRow, OutboxRow
from tests.support.channels import Answer, FakeHook, Hooks
from tests.support.publish_world import PARENT_TITLE, SPACE, World, build_world
from tests.support.service import running, site_env, wait_until
from tests.test_notify import SECRET_PART, channel_env, okr_text

TOKEN = "admin-token-for-the-run-test"


@pytest.fixture
def world(engine: Engine, tmp_path: Path) -> Iterator[World]:
    yield from build_world(engine, "datacenter", tmp_path)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again when the block ends: nothing listens


def test_dead_channels_leave_sync_and_publishing_working(
    db_env: str, engine: Engine, world: World, hooks: Hooks
) -> None:
    world.apply_okrs(okr_text())
    hooks.slack["acme"] = FakeHook(Answer(200, "ok", hang=8.0))  # never answers in time
    hooks.teams["acme"] = FakeHook(Answer(404, "Not Found"))  # the workflow was deleted
    today = dt.datetime.now(dt.UTC).strftime("%a").lower()
    env = site_env(
        db_env, world.server,
        OKR_JIRA_CONFLUENCE_URL=world.confluence_url,
        OKR_JIRA_CONFLUENCE_TOKEN=world.server.credentials.pat,
        OKR_JIRA_CONFLUENCE_FLAVOR="datacenter",
        OKR_JIRA_CONFLUENCE_SPACE=SPACE,
        OKR_JIRA_CONFLUENCE_PARENT=PARENT_TITLE,
        OKR_JIRA_PUBLISH_DEBOUNCE_SECONDS="0",
        OKR_JIRA_SYNC_INTERVAL_MINUTES="600",
        OKR_JIRA_HTTP_TIMEOUT_SECONDS="2",
        OKR_JIRA_DIGEST_WEEKDAY=today,  # the digest is due now
        OKR_JIRA_REMINDER_WEEKDAY=today,
        OKR_JIRA_NOTIFY_HOUR="0",
        OKR_JIRA_SMTP_HOST="127.0.0.1",
        OKR_JIRA_SMTP_PORT=str(closed_port()),
        OKR_JIRA_SMTP_FROM="okr@acme.example",
        OKR_JIRA_SMTP_SECURITY="none",
        OKR_JIRA_ADMIN_TOKEN=TOKEN,
        OKR_JIRA_LOG_LEVEL="INFO",
        **channel_env(hooks),
    )  # fmt: skip
    with running(env) as node:
        # The digests went out to every channel and failed: each failure is kept.
        wait_until(lambda: _channels(engine).get("teams:OKR_TEST_TEAMS_ACME") == "dead", 60,
                   "the deleted Teams workflow marked dead")  # fmt: skip
        wait_until(lambda: _channels(engine).get("slack:OKR_TEST_SLACK_ACME") == "retrying", 60,
                   "the silent Slack webhook retried later")  # fmt: skip
        wait_until(lambda: _channels(engine).get("email:acme") == "retrying", 60,
                   "the SMTP server that is down retried later")  # fmt: skip
        # Sync and publishing did their work all the same.
        wait_until(lambda: _last_run(engine, "full_sync") is not None, 60, "the full sync ran")
        wait_until(lambda: world.rows().get("CO-1") is not None, 60, "the pages were published")
        version = world.page("CO-1").version
        said = requests.post(
            f"{node.url}/api/checkins", headers={"Authorization": f"Bearer {TOKEN}"},
            json={"key": "CO-1", "confidence": 3, "note": "NPS survey delayed"}, timeout=10,
        )  # fmt: skip
        assert said.status_code == 201, said.text
        wait_until(lambda: world.page("CO-1").version > version, 30, "the check-in was published")
        assert "NPS survey delayed" in world.page("CO-1").body
        metrics = requests.get(f"{node.url}/metrics", timeout=10).text
        assert 'okr_jira_notify_channel_up{channel="teams:OKR_TEST_TEAMS_ACME",state="dead"' in (
            metrics
        )
        _, err = node.stop()
    assert node.proc.returncode == 0
    pending = [r for r in _rows(engine) if r.channel == "slack:OKR_TEST_SLACK_ACME"]
    assert (
        pending and pending[0].status == "pending" and "no answer" in (pending[0].last_error or "")
    )
    assert SECRET_PART not in err + metrics


def _channels(engine: Engine) -> dict[str, str]:
    with Session(engine) as s:
        return {row.channel: row.state for row in s.exec(select(ChannelRow))}


def _rows(engine: Engine) -> list[OutboxRow]:
    with Session(engine) as s:
        return list(s.exec(select(OutboxRow)))


def _last_run(engine: Engine, job: str) -> dt.datetime | None:
    with session_scope(engine) as session:
        return state.job_last_run(job).get(session=session)
