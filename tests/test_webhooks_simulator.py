"""End to end: the simulated Jira's mutations reach KR progress through webhooks and the worker;
`okr-jira webhooks register` sets the webhook up in Jira Cloud and Data Center."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import replace

import click
import pytest
import requests
from click.testing import CliRunner
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from okr_jira import inbox
from okr_jira.adapters.jira_fields import field_map
from okr_jira.okrs.file import load_okr_file
from okr_jira.okrs.plan import apply_plan, make_plan
from okr_jira.settings import Settings
from okr_jira.simulator import SimulatorServer, generate
from okr_jira.storage.db import session_scope
from okr_jira.storage.tables import MappingRow, ProgressSnapshotRow, WebhookEventRow
from tests.support.inbox_world import WORKER
from tests.support.paths import EXAMPLE_OKRS, SESSION_SECRET
from tests.support.threads import serving
from webhooks import create_app

SECRET = "sim-webhook-secret"


@pytest.fixture
def receiver(engine: Engine, database_url: str) -> Iterator[str]:
    with session_scope(engine) as session:
        apply_plan(session, make_plan(session, load_okr_file(EXAMPLE_OKRS)), actor="test")
        for m in session.exec(select(MappingRow)):
            m.resolved_at = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
            session.add(m)
    app = create_app(
        Settings(database_url=database_url, webhook_secret=SECRET, session_secret=SESSION_SECRET),
        engine=engine,
    )
    with serving(app) as url:
        yield url


def kr_progress(engine: Engine, kr: str) -> tuple[float, int, int] | None:
    with Session(engine) as s:
        row = s.exec(
            select(ProgressSnapshotRow)
            .where(ProgressSnapshotRow.kind == "kr", ProgressSnapshotRow.subject == kr)
            .order_by(col(ProgressSnapshotRow.id).desc())
        ).first()
    return (row.progress, row.issues_total, row.issues_done) if row else None


def stored_events(engine: Engine) -> list[tuple[str, str | None]]:
    with Session(engine) as s:
        query = select(WebhookEventRow.event_type, WebhookEventRow.issue_key)
        return [(t, k) for t, k in s.exec(query.order_by(col(WebhookEventRow.id)))]


@pytest.mark.parametrize("flavor", ["cloud", "datacenter"])
def test_simulated_jira_changes_flow_into_kr_progress(
    receiver: str, engine: Engine, flavor: str
) -> None:
    with SimulatorServer(flavor, jira=generate("small", flavor=flavor)) as sim:  # type: ignore[arg-type]
        fmap = field_map(sim.jira.field_list())
        options = replace(WORKER, fields=lambda: fmap)
        requests.post(
            f"{sim.url}/_sim/webhook", json={"url": f"{receiver}/webhooks/jira", "secret": SECRET},
            timeout=10,
        ).raise_for_status()  # fmt: skip
        created = requests.post(
            f"{sim.url}/_sim/issues",
            json={"project": "SUP", "issue_type": "Story", "summary": "Macro for refunds",
                  "labels": ["macros"]},
            timeout=10,
        ).json()  # fmt: skip
        key = created["key"]
        assert sim.jira.flush_webhooks(10)
        inbox.drain(engine=engine, options=options)
        assert kr_progress(engine, "SUP-1.3") == (0.0, 1, 0)

        requests.put(f"{sim.url}/_sim/issues/{key}", json={"status": "Done"}, timeout=10)
        assert sim.jira.flush_webhooks(10)
        inbox.drain(engine=engine, options=options)
        assert kr_progress(engine, "SUP-1.3") == (1.0, 1, 1)

        requests.delete(f"{sim.url}/_sim/issues/{key}", timeout=10)
        assert sim.jira.flush_webhooks(10)
        inbox.drain(engine=engine, options=options)
        assert kr_progress(engine, "SUP-1.3") == (0.0, 0, 0)
        assert all(r.status == 200 for r in sim.jira.deliverer.results)
    assert [t for t, _ in stored_events(engine)] == [
        "jira:issue_created", "jira:issue_updated", "jira:issue_deleted"
    ]  # fmt: skip


@pytest.mark.parametrize("flavor", ["cloud", "datacenter"])
def test_register_creates_a_filtered_signed_webhook_in_jira(
    receiver: str, engine: Engine, cli: click.Group, flavor: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with SimulatorServer(flavor, jira=generate("small", flavor=flavor)) as sim:  # type: ignore[arg-type]
        creds = sim.credentials
        monkeypatch.setenv("OKR_JIRA_JIRA_URL", sim.url)
        monkeypatch.setenv(
            "OKR_JIRA_JIRA_TOKEN", creds.api_token if flavor == "cloud" else creds.pat
        )
        if flavor == "cloud":
            monkeypatch.setenv("OKR_JIRA_JIRA_USER", creds.email)
        monkeypatch.setenv("OKR_JIRA_WEBHOOK_SECRET", SECRET)
        result = CliRunner().invoke(cli, ["webhooks", "register", "--url", receiver])
        assert result.exit_code == 0, result.output
        assert "registered" in result.output
        assert SECRET not in result.output
        (hook,) = sim.jira.webhooks
        assert hook.jql == 'project in ("MOB", "PLAT", "SELF", "SUP")'
        for project in ("SUP", "MKT"):  # MKT is not mapped by any KR: filtered out by Jira
            sim.jira.create_issue(project, "Task", "Webhook check")
        assert sim.jira.flush_webhooks(10)
    (only,) = stored_events(engine)
    assert only[0] == "jira:issue_created" and (only[1] or "").startswith("SUP-")


def test_register_without_credentials_prints_the_manual_steps(
    cli: click.Group, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("OKR_JIRA_JIRA_URL", "OKR_JIRA_JIRA_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(cli, ["webhooks", "register", "--url", "https://okr.example.com"])
    assert result.exit_code == 0, result.output
    assert "URL: https://okr.example.com/webhooks/jira" in result.output
    assert "Issue created, Issue updated, Issue deleted" in result.output
