"""`okr-jira check-config` against the simulated Jira and Confluence (Cloud and Data Center) over
real HTTP: what publishing, syncing and the webhook need, each failure saying what to change."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
import requests
from click.testing import CliRunner, Result

from okr_jira.simulator import SimulatorServer
from okr_jira.simulator.site import build_site
from tests.support.paths import EXAMPLE_OKRS, ROOT
from tests.support.service import BIN

P1_JQL = "project = SUP AND type = Bug AND priority = Highest AND statusCategory != Done"


@pytest.fixture(params=["cloud", "datacenter"])
def site(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[SimulatorServer]:
    """The site `okr-jira simulator` serves, and the settings it prints, in the environment."""
    with build_site(request.param) as server:
        for line in site_lines(server):
            for pair in line.removeprefix("export ").split():
                name, _, value = pair.partition("=")
                monkeypatch.setenv(name, value)
        monkeypatch.setenv("OKR_JIRA_PUBLIC_URL", "https://okr.acme.example")
        monkeypatch.setenv("OKR_JIRA_JIRA_FLAVOR", request.param)
        monkeypatch.setenv("OKR_JIRA_CONFLUENCE_FLAVOR", request.param)
        yield server


def site_lines(server: SimulatorServer) -> list[str]:
    from okr_jira.simulator.site import settings_lines

    return settings_lines(server, okr_jira_url="https://okr.acme.example")


def check(cli: click.Group, *args: str, okrs: Path = EXAMPLE_OKRS) -> Result:
    result = CliRunner().invoke(cli, ["check-config", "--okrs", str(okrs), *args])
    assert "sim-api-token" not in result.output and "sim-personal-access-token" not in result.output
    return result


def lines(result: Result, outcome: str) -> list[str]:
    return [line for line in result.output.splitlines() if line.startswith(outcome)]


def test_a_configured_site_passes_with_one_request_for_every_mapping(
    site: SimulatorServer, cli: click.Group
) -> None:
    result = check(cli)
    assert result.exit_code == 0, result.output
    assert "Configuration is fine." in result.output
    assert f"OK   confluence flavor: {site.flavor} (configured and confirmed)" in result.output
    assert "OK   confluence parent page: 'OKRs' is page" in result.output
    assert "may create and edit pages in space OKR" in result.output
    assert "Jira accepts the JQL of all 10 mapped key results" in result.output
    assert "OK   story points in SUP" in result.output
    routes = site.stats.to_dict()["by_route"]
    counts = (
        routes.get("POST /rest/api/<ver>/search/approximate-count", 0)
        if site.flavor == "cloud"
        else routes.get("POST /rest/api/<ver>/search", 0) - 2  # the story points samples
    )
    assert counts == 1  # the union of every KR's JQL, asked once


def test_auto_flavor_is_detected_for_confluence_too(
    site: SimulatorServer, cli: click.Group, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OKR_JIRA_CONFLUENCE_FLAVOR", "auto")
    result = check(cli)
    assert f"OK   confluence flavor: {site.flavor} (detected)" in result.output


@pytest.mark.parametrize("site", ["cloud"], indirect=True)  # a PAT never reaches the Cloud probe
def test_a_wrong_confluence_flavor_says_which_it_is(
    site: SimulatorServer, cli: click.Group, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OKR_JIRA_CONFLUENCE_FLAVOR", "datacenter")
    result = check(cli)
    assert result.exit_code == 1
    assert "OKR_JIRA_CONFLUENCE_FLAVOR is datacenter but" in result.output
    assert "answers like cloud: set it to cloud or auto" in result.output


def test_a_missing_parent_page_fails_and_fix_creates_it(
    site: SimulatorServer, cli: click.Group, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OKR_JIRA_CONFLUENCE_PARENT", "Company OKRs")
    result = check(cli)
    assert result.exit_code == 1
    (fail,) = lines(result, "FAIL")
    assert fail == (
        "FAIL confluence parent page: no page 'Company OKRs' in space OKR: run `okr-jira "
        "check-config --fix` to create it, create it in Confluence, or set "
        "OKR_JIRA_CONFLUENCE_PARENT to an existing page's title or id"
    )
    assert site.confluence.page_by_title("OKR", "Company OKRs") is None  # never silently
    fixed = check(cli, "--fix")
    assert fixed.exit_code == 0, fixed.output
    page = site.confluence.page_by_title("OKR", "Company OKRs")
    assert page is not None and page.parent_id is None
    assert (
        f"created page 'Company OKRs' ({page.id}) at the top of space OKR (--fix)" in fixed.output
    )
    assert check(cli).exit_code == 0


def test_a_missing_space_names_the_setting(
    site: SimulatorServer, cli: click.Group, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OKR_JIRA_CONFLUENCE_SPACE", "NOPE")
    result = check(cli)
    assert result.exit_code == 1
    assert "FAIL confluence space: NOPE does not exist, or the account may not see it: set " in (
        result.output
    )


def test_a_refused_jql_names_the_key_result(
    site: SimulatorServer, cli: click.Group, tmp_path: Path
) -> None:
    text = EXAMPLE_OKRS.read_text()
    assert P1_JQL in text
    okrs = tmp_path / "okrs.yaml"
    okrs.write_text(text.replace(P1_JQL, "project = SUP AND type = Bugg"))
    result = check(cli, okrs=okrs)
    assert result.exit_code == 1
    (fail,) = lines(result, "FAIL")
    assert fail.startswith("FAIL KR SUP-1.2 mapping: Jira refuses its JQL (")
    assert "'Bugg'" in fail
    assert fail.endswith("): fix the key result's source in the OKR file")


def test_a_missing_create_permission_says_which_permission(
    site: SimulatorServer, cli: click.Group
) -> None:
    answer = requests.post(
        f"{site.url}/_sim/confluence/permissions", json={"deny": ["create"]}, timeout=5
    )
    assert answer.ok
    result = check(cli)
    assert result.exit_code == 1
    (fail,) = lines(result, "FAIL")
    assert fail.startswith(
        "FAIL confluence permissions: the account may not create pages in space OKR under page "
    )
    assert "give it the Add pages permission (Space settings > Permissions)" in fail


def test_a_webhook_pointing_elsewhere_fails_and_register_repairs_it(
    site: SimulatorServer, cli: click.Group
) -> None:
    assert "WARN jira webhook: none registered: run `okr-jira webhooks register" in (
        check(cli).output
    )
    site.jira.register_webhook(
        "https://old-host.example/webhooks/jira",
        name="okr-jira",
        jql='project in ("MOB", "PLAT", "SELF", "SUP")',
    )
    result = check(cli)
    assert result.exit_code == 1
    (fail,) = lines(result, "FAIL")
    assert fail == (
        "FAIL jira webhook: admin webhook 1 points at https://old-host.example/webhooks/jira, "
        "not https://okr.acme.example/webhooks/jira (OKR_JIRA_PUBLIC_URL): run "
        "`okr-jira webhooks register` to point it here"
    )


def test_a_closed_port_is_reported_after_one_quick_retry(tmp_path: Path) -> None:
    env = {
        "PATH": str(BIN),
        "OKR_JIRA_DATABASE_URL": f"sqlite:///{tmp_path / 'okr.db'}",
        "OKR_JIRA_JIRA_URL": "http://127.0.0.1:9",
        "OKR_JIRA_JIRA_USER": "bot@example.com",
        "OKR_JIRA_JIRA_TOKEN": "closed-port-token",
        "OKR_JIRA_CONFLUENCE_URL": "http://127.0.0.1:9/wiki",
        "OKR_JIRA_CONFLUENCE_USER": "bot@example.com",
        "OKR_JIRA_CONFLUENCE_TOKEN": "closed-port-token",
        "OKR_JIRA_CONFLUENCE_SPACE": "OKR",
    }
    done = subprocess.run(
        [str(BIN / "okr-jira"), "check-config"], env=env, capture_output=True, text=True,
        timeout=60, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 1
    assert "FAIL jira reachable: no answer from http://127.0.0.1:9 (ConnectionError): check " in (
        done.stdout
    )
    assert "FAIL confluence reachable: no answer from http://127.0.0.1:9/wiki" in done.stdout
    # One retry per service (the service's own policy would retry five times, ~13 s).
    assert done.stderr.count("http.retry") == 2, done.stderr
