"""`okr-jira webhooks register / list / unregister` against the simulated Jira (Cloud and Data
Center) over real HTTP: one webhook owned by okr-jira, updated in place, listed without secrets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import click
import pytest
import requests
from click.testing import CliRunner, Result
from sqlalchemy import Engine

from okr_jira.adapters.webhook_registration import receiver_url, redact_url
from okr_jira.okrs.file import load_okr_file
from okr_jira.okrs.plan import apply_plan, make_plan
from okr_jira.simulator import SimulatorServer, generate
from okr_jira.storage.db import session_scope
from tests.support.paths import EXAMPLE_OKRS

SECRET = "registration-test-secret-0123"
EXAMPLE_FILTER = 'project in ("MOB", "PLAT", "SELF", "SUP")'


@pytest.fixture(params=["cloud", "datacenter"])
def site(
    request: pytest.FixtureRequest, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> Iterator[SimulatorServer]:
    """A simulated Jira, the CLI's environment pointing at it, the example OKRs applied."""
    flavor = request.param
    with session_scope(engine) as session:
        apply_plan(session, make_plan(session, load_okr_file(EXAMPLE_OKRS)), actor="test")
    with SimulatorServer(flavor, jira=generate("small", flavor=flavor)) as sim:
        creds = sim.credentials
        monkeypatch.setenv("OKR_JIRA_JIRA_URL", sim.url)
        monkeypatch.setenv(
            "OKR_JIRA_JIRA_TOKEN", creds.api_token if flavor == "cloud" else creds.pat
        )
        if flavor == "cloud":
            monkeypatch.setenv("OKR_JIRA_JIRA_USER", creds.email)
        monkeypatch.setenv("OKR_JIRA_JIRA_FLAVOR", flavor)
        monkeypatch.setenv("OKR_JIRA_WEBHOOK_SECRET", SECRET)
        yield sim


def invoke(cli: click.Group, *args: str) -> Result:
    result = CliRunner().invoke(cli, list(args))
    assert SECRET not in result.output
    return result


def test_receiver_url_takes_the_full_url_or_a_base_and_never_doubles_the_path() -> None:
    full = "https://okr.acme.example/webhooks/jira"
    assert receiver_url(full) == full
    assert receiver_url(full + "/") == full
    assert receiver_url("https://okr.acme.example") == full
    assert (
        receiver_url("https://okr.acme.example/okr/")
        == "https://okr.acme.example/okr/webhooks/jira"
    )
    assert receiver_url(f"{full}/s3cret") == f"{full}/s3cret"
    with pytest.raises(ValueError, match="not an http"):
        receiver_url("okr.acme.example")


def test_redacted_urls_keep_the_host_and_path_but_no_secret() -> None:
    url = "https://bot:pw@okr.acme.example:8443/webhooks/jira/s3cret?token=abc#x"
    shown = redact_url(url)
    assert shown == "https://okr.acme.example:8443/webhooks/jira/***?***"
    assert "s3cret" not in shown and "abc" not in shown and "pw" not in shown


def test_register_with_the_full_url_registers_exactly_that_url(
    site: SimulatorServer, cli: click.Group
) -> None:
    result = invoke(cli, "webhooks", "register", "--url", "https://okr.acme.example/webhooks/jira")
    assert result.exit_code == 0, result.output
    (hook,) = site.jira.webhooks
    assert hook.url == "https://okr.acme.example/webhooks/jira"
    assert hook.name == "okr-jira" and hook.source == "admin"
    assert hook.jql == EXAMPLE_FILTER and hook.secret == SECRET


def test_register_twice_keeps_one_webhook_and_updates_it_in_place(
    site: SimulatorServer, cli: click.Group, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = invoke(cli, "webhooks", "register", "--url", "https://old.acme.example")
    assert first.exit_code == 0, first.output
    assert "registered" in first.output
    again = invoke(cli, "webhooks", "register", "--url", "https://old.acme.example")
    assert again.exit_code == 0, again.output
    assert "already registered, unchanged" in again.output
    monkeypatch.setenv("OKR_JIRA_PUBLIC_URL", "https://okr.acme.example")
    moved = invoke(cli, "webhooks", "register")  # the URL from OKR_JIRA_PUBLIC_URL
    assert moved.exit_code == 0, moved.output
    assert "updated" in moved.output
    (hook,) = site.jira.webhooks
    assert hook.url == "https://okr.acme.example/webhooks/jira"


def test_register_adopts_the_duplicates_an_older_version_left(
    site: SimulatorServer, cli: click.Group
) -> None:
    for _ in range(2):  # what registering twice used to leave behind
        site.jira.register_webhook(
            "https://okr.acme.example/webhooks/jira/webhooks/jira", name="okr-jira"
        )
    site.jira.register_webhook("https://other.example/hook", name="someone else's")
    result = invoke(cli, "webhooks", "register", "--url", "https://okr.acme.example/webhooks/jira")
    assert result.exit_code == 0, result.output
    assert "removed 1 duplicate(s)" in result.output
    ours = [h for h in site.jira.webhooks if h.name == "okr-jira"]
    assert [h.url for h in ours] == ["https://okr.acme.example/webhooks/jira"]
    assert any(h.name == "someone else's" for h in site.jira.webhooks)


def test_register_again_after_the_okrs_change_updates_the_filter(
    site: SimulatorServer, cli: click.Group, engine: Engine, tmp_path: Path
) -> None:
    assert invoke(cli, "webhooks", "register", "--url", "https://okr.acme.example").exit_code == 0
    mobile = "  - {key: mobile, name: Mobile, parent: eng, jira_projects: [MOB]}\n"
    marketing = "  - {key: mkt, name: Marketing, parent: acme, jira_projects: [MKT]}\n"
    text = EXAMPLE_OKRS.read_text()
    assert mobile in text
    more = tmp_path / "okrs.yaml"
    more.write_text(text.replace(mobile, mobile + marketing))
    with session_scope(engine) as session:
        apply_plan(session, make_plan(session, load_okr_file(more)), actor="test")
    listed = invoke(cli, "webhooks", "list")
    assert "run `okr-jira webhooks register`" in listed.output
    result = invoke(cli, "webhooks", "register", "--url", "https://okr.acme.example")
    assert result.exit_code == 0, result.output
    assert "updated" in result.output
    (hook,) = site.jira.webhooks
    assert hook.jql == 'project in ("MKT", "MOB", "PLAT", "SELF", "SUP")'


def test_list_shows_okr_jiras_webhook_redacted(site: SimulatorServer, cli: click.Group) -> None:
    url = "https://okr.acme.example/webhooks/jira/path-secret-123?token=q"
    assert invoke(cli, "webhooks", "register", "--url", url).exit_code == 0
    site.jira.register_webhook("https://other.example/hook", name="not ours")
    result = invoke(cli, "webhooks", "list")
    assert result.exit_code == 0, result.output
    assert "https://okr.acme.example/webhooks/jira/***?***" in result.output
    assert EXAMPLE_FILTER in result.output
    assert "path-secret-123" not in result.output and "token=q" not in result.output
    assert "other.example" not in result.output


def test_unregister_removes_only_okr_jiras_webhook(site: SimulatorServer, cli: click.Group) -> None:
    assert invoke(cli, "webhooks", "register", "--url", "https://okr.acme.example").exit_code == 0
    site.jira.register_webhook("https://other.example/hook", name="not ours")
    result = invoke(cli, "webhooks", "unregister")
    assert result.exit_code == 0, result.output
    assert "removed admin webhook" in result.output
    assert [h.name for h in site.jira.webhooks] == ["not ours"]
    assert "No okr-jira webhook" in invoke(cli, "webhooks", "list").output
    assert "nothing to remove" in invoke(cli, "webhooks", "unregister").output


@pytest.mark.parametrize("site", ["cloud"], indirect=True)  # Cloud only
def test_cloud_without_admin_rights_says_dynamic_webhooks_need_an_app(
    site: SimulatorServer, cli: click.Group
) -> None:
    site.faults.fail(1, status=403)  # the admin webhook list: not a Jira administrator
    result = invoke(cli, "webhooks", "register", "--url", "https://okr.acme.example")
    assert result.exit_code == 1
    assert "needs a Jira administrator" in result.output
    assert "only OAuth 2.0 and Connect apps" in result.output
    assert "Register the webhook by hand" in result.output  # the steps that still work
    assert site.jira.webhooks == []


@pytest.mark.parametrize("site", ["cloud"], indirect=True)  # Cloud only
def test_cloud_oauth_app_gets_one_dynamic_webhook_replaced_when_the_filter_changes(
    site: SimulatorServer, cli: click.Group
) -> None:
    requests.post(f"{site.url}/_sim/jira/oauth-app", json={"enabled": True}, timeout=5)
    site.faults.fail(1, status=403)  # an OAuth app is no Jira administrator
    result = invoke(cli, "webhooks", "register", "--url", "https://okr.acme.example")
    assert result.exit_code == 0, result.output
    assert "dynamic webhook" in result.output
    (hook,) = site.jira.webhooks
    assert hook.source == "dynamic" and hook.jql == EXAMPLE_FILTER
    site.faults.fail(1, status=403)
    again = invoke(cli, "webhooks", "register", "--url", "https://okr.acme.example")
    assert "already registered, refreshed" in again.output
    assert [h.id for h in site.jira.webhooks] == [hook.id]
    site.faults.fail(1, status=403)
    listed = invoke(cli, "webhooks", "list")
    assert f"dynamic {hook.id}  https://okr.acme.example/webhooks/jira" in listed.output
    site.faults.fail(1, status=403)
    gone = invoke(cli, "webhooks", "unregister")
    assert gone.exit_code == 0, gone.output
    assert site.jira.webhooks == []


def test_the_scheduler_keeps_the_filter_on_the_mapped_projects_and_never_creates_one(
    site: SimulatorServer, engine: Engine
) -> None:
    from okr_jira.runtime import jobs
    from okr_jira.runtime.wiring import Wiring
    from okr_jira.settings import load_settings

    wiring = Wiring(load_settings(), engine)
    assert jobs.webhook_filter(wiring) is None
    assert site.jira.webhooks == []  # nothing registered: nothing created
    hook = site.jira.register_webhook(
        "https://okr.acme.example/webhooks/jira", name="okr-jira", jql='project in ("SUP")'
    )
    done = jobs.webhook_filter(wiring)
    assert done is not None and "updated" in done
    assert hook.jql == EXAMPLE_FILTER and hook.url == "https://okr.acme.example/webhooks/jira"
    before = site.stats.to_dict()["by_route"].get("PUT /rest/webhooks/1.0/webhook/<hook_id>")
    assert jobs.webhook_filter(wiring) is None  # up to date: read, nothing written
    after = site.stats.to_dict()["by_route"].get("PUT /rest/webhooks/1.0/webhook/<hook_id>")
    assert before == after == 1
