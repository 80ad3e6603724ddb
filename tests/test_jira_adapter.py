"""The Jira adapter and `check-config` through atlassian-python-api against the simulator."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from okr_jira.adapters.http import RetryPolicy
from okr_jira.adapters.jira import JiraAdapter, JiraError
from okr_jira.adapters.jira_fields import FieldMap, parse_issue
from okr_jira.cli.app import AppContext
from okr_jira.cli.checkconfig import check_config
from okr_jira.simulator import SimulatorServer, generate
from tests.support.atlassian_host import CLOUD_HOST
from tests.support.paths import EXAMPLE_OKRS


@pytest.fixture(params=["cloud", "datacenter"])
def server(request: pytest.FixtureRequest) -> Iterator[SimulatorServer]:
    flavor = request.param
    with SimulatorServer(flavor, jira=generate("small", flavor=flavor, deliver=False)) as srv:
        yield srv


def adapter(server: SimulatorServer, token: str | None = None) -> JiraAdapter:
    c = server.credentials
    if server.flavor == "cloud":
        return JiraAdapter(server.url, user=c.email, token=token or c.api_token)
    return JiraAdapter(server.url, user=None, token=token or c.pat)


def test_flavor_fields_and_epics_are_read_per_flavor(server: SimulatorServer) -> None:
    jira = adapter(server)
    assert jira.flavor == server.flavor
    fmap = jira.fields()
    assert fmap.resolve("Story Points") == fmap.story_points[0]
    assert fmap.resolve("Hours Saved") is not None
    if server.flavor == "datacenter":
        assert fmap.epic_link == "customfield_10006"
    fields = fmap.request_fields()
    keys = {}
    for page in jira.search_pages("project = SUP ORDER BY key ASC", fields):
        for raw in page.issues:
            keys[raw["key"]] = parse_issue(raw, fmap)
    sim = server.jira
    assert set(keys) == {k for k in sim.issues if k.startswith("SUP-")}
    for key, snap in keys.items():
        rec = sim.issues[key]
        assert snap.epic == rec.epic, key  # a sub-task's parent is never taken for its epic
        assert snap.status_category == rec.status_category
        assert snap.story_points == rec.story_points
        assert snap.labels == rec.labels


def test_search_pages_through_more_than_one_page(server: SimulatorServer) -> None:
    jira = adapter(server)
    jql = "project in (SUP, SELF, PLAT) ORDER BY key ASC"
    if server.flavor == "datacenter":
        # 204 issues in pages of at most 1000: one page; ask for keys to check completeness.
        pages = list(jira.search_pages(jql, ["key"]))
    else:
        pages = list(jira.search_pages(jql, ["key", "summary"]))
        assert len(pages) == 3  # 204 issues, 100 per page
    keys = [raw["key"] for page in pages for raw in page.issues]
    assert len(keys) == len(set(keys)) == len(server.jira.search(jql))
    assert jira.count(jql) == len(keys)


def test_refused_jql_comes_back_in_jiras_words(server: SimulatorServer) -> None:
    jira = adapter(server)
    assert jira.check_jql("project = SUP") is None
    message = jira.check_jql("project = SUP AND sprnt = 1")
    assert message is not None and "sprnt" in message


def test_missing_issue_is_none_and_moved_issue_answers_with_its_new_key(
    server: SimulatorServer,
) -> None:
    jira = adapter(server)
    assert jira.get_issue("SUP-99999", ["summary"]) is None
    new_key = server.jira.move_issue("SUP-8", "SELF").key
    found = jira.get_issue("SUP-8", ["summary"])
    assert found is not None and found["key"] == new_key


def test_errors_name_the_call_never_the_token(server: SimulatorServer) -> None:
    jira = adapter(server, token="not-the-token-1234")
    with pytest.raises(JiraError) as caught:
        jira.fields()
    assert caught.value.status == 401
    assert "not-the-token-1234" not in str(caught.value)


def run_check(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], *args: str) -> Result:
    for name in [n for n in list(__import__("os").environ) if n.startswith("OKR_JIRA_")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return CliRunner().invoke(check_config, list(args), obj=AppContext(None))


def jira_env(server: SimulatorServer, *, token: str | None = None) -> dict[str, str]:
    c = server.credentials
    env = {"OKR_JIRA_JIRA_URL": server.url, "OKR_JIRA_JIRA_FLAVOR": server.flavor}
    if server.flavor == "cloud":
        env |= {"OKR_JIRA_JIRA_USER": c.email, "OKR_JIRA_JIRA_TOKEN": token or c.api_token}
    else:
        env |= {"OKR_JIRA_JIRA_TOKEN": token or c.pat}
    return env


def test_check_config_passes_with_good_settings(
    server: SimulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run_check(monkeypatch, jira_env(server), "--okrs", str(EXAMPLE_OKRS))
    assert result.exit_code == 0, result.output
    assert "OK   jira credentials: logged in as OKR Bot" in result.output
    assert "OK   project PLAT: browsable" in result.output
    assert "OK   field_sum field: KR SELF-1.2: 'Hours Saved'" in result.output
    if server.flavor == "datacenter":
        assert "OK   epic link field" in result.output


def test_check_config_names_bad_credentials_without_printing_them(
    server: SimulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = jira_env(server, token="wrong-token-5678")
    result = run_check(monkeypatch, env, "--okrs", str(EXAMPLE_OKRS))
    assert result.exit_code == 1
    assert "FAIL jira credentials: Jira refused them (HTTP 401)" in result.output
    assert "wrong-token-5678" not in result.output


def test_check_config_names_what_the_okrs_need_and_jira_lacks(
    server: SimulatorServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    text = EXAMPLE_OKRS.read_text().replace("field: Hours Saved", "field: Hours Wasted")
    text = text.replace("jira_projects: [MOB]", "jira_projects: [MOB, GHOST]")
    okrs = tmp_path / "okrs.yaml"
    okrs.write_text(text)
    wrong = "datacenter" if server.flavor == "cloud" else "cloud"
    result = run_check(monkeypatch, jira_env(server), "--okrs", str(okrs))
    assert result.exit_code == 1
    assert "FAIL field_sum field: KR SELF-1.2: Jira has no field named 'Hours Wasted'" in (
        result.output
    )
    assert "FAIL project GHOST: does not exist" in result.output
    env = jira_env(server) | {"OKR_JIRA_JIRA_FLAVOR": wrong}
    if wrong == "cloud":
        env["OKR_JIRA_JIRA_USER"] = server.credentials.username
        env["OKR_JIRA_JIRA_TOKEN"] = server.credentials.password
    result = run_check(monkeypatch, env)
    assert f"FAIL jira flavor: OKR_JIRA_JIRA_FLAVOR is {wrong}" in result.output


def test_check_config_says_when_jira_cannot_be_reached(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    env = {
        "OKR_JIRA_JIRA_URL": f"http://127.0.0.1:{port}",
        "OKR_JIRA_JIRA_TOKEN": "some-pat-9999",
        "OKR_JIRA_HTTP_MAX_RETRIES": "0",
    }
    result = run_check(monkeypatch, env)
    assert result.exit_code == 1
    assert f"FAIL jira reachable: no answer from http://127.0.0.1:{port}" in result.output
    assert "some-pat-9999" not in result.output
    missing = run_check(monkeypatch, {})
    assert "FAIL jira settings: OKR_JIRA_JIRA_URL is not set" in missing.output


def test_a_sub_second_policy_timeout_wins_over_the_librarys_default(
    server: SimulatorServer,
) -> None:
    c = server.credentials
    policy = RetryPolicy(timeout=0.5, max_retries=0)
    jira = JiraAdapter(server.url, user=c.email, token=c.api_token, policy=policy)
    if server.flavor == "datacenter":
        jira = JiraAdapter(server.url, user=None, token=c.pat, policy=policy)
    assert jira.count("project = SUP") > 0


def test_data_center_learns_the_fields_from_its_first_search_page() -> None:
    """Field ids learned from a search page expanded with names and schema are the ones /field
    gives; the next search asks only for the fields the caller names."""
    sim = generate("small", flavor="datacenter", deliver=False)
    with SimulatorServer("datacenter", jira=sim) as srv:
        learner = adapter(srv)
        asked: list[list[str]] = []

        def wanted(fmap: FieldMap) -> list[str]:
            chosen = ["summary", "status", fmap.story_points[0]]
            asked.append(chosen)
            return chosen

        srv.stats.reset()
        first = next(learner.search_pages("project = SUP", wanted))
        assert not asked  # the first page asked for every navigable field instead
        assert "GET /rest/api/<ver>/field" not in srv.stats.by_route
        learned = learner.fields()
        listed = adapter(srv).fields()
        assert learned.story_points[:1] == listed.story_points[:1]
        assert (learned.epic_link, learned.sprint) == (listed.epic_link, listed.sprint)
        assert learned.resolve("Hours Saved") == listed.resolve("Hours Saved") is not None
        assert learned.resolve("Hours Saved") in learned.numeric
        assert any(parse_issue(raw, learned).epic for raw in first.issues)
        later = next(learner.search_pages("project = SUP", wanted))
        assert asked and all(set(i["fields"]) <= set(asked[0]) for i in later.issues)


def test_auto_flavor_on_an_atlassian_net_host_needs_no_server_info(cloud_dns: None) -> None:
    sim = generate("small", flavor="cloud", deliver=False)
    with SimulatorServer("cloud", jira=sim) as srv:
        url = f"http://{CLOUD_HOST}:{srv.url.rsplit(':', 1)[1]}"
        c = srv.credentials
        jira = JiraAdapter(url, user=c.email, token=c.api_token)
        assert jira.flavor == "cloud"
        assert jira.search_keys("project = SUP")
        assert not any("serverInfo" in route for route in srv.stats.by_route)


def test_auto_flavor_with_a_personal_access_token_and_no_user_is_data_center() -> None:
    sim = generate("small", flavor="datacenter", deliver=False)
    with SimulatorServer("datacenter", jira=sim) as srv:
        jira = JiraAdapter(srv.url, user=None, token=srv.credentials.pat)
        assert jira.flavor == "datacenter"
        assert jira.search_keys("project = SUP")
        assert not any("serverInfo" in route for route in srv.stats.by_route)
        # User and password could be either flavor's: serverInfo decides.
        basic = JiraAdapter(srv.url, user=srv.credentials.username, token=srv.credentials.password)
        assert basic.flavor == "datacenter"
        assert srv.stats.by_route["GET /rest/api/<ver>/serverInfo"] == 1


def test_check_config_tells_the_time_zone_and_the_link_permission_remote_links_need(
    server: SimulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = jira_env(server) | {
        "OKR_JIRA_JIRA_REMOTE_LINKS": "true", "OKR_JIRA_PUBLIC_URL": "https://okr.example",
    }  # fmt: skip
    server.jira.time_zone = "Europe/Paris"
    result = run_check(monkeypatch, env)
    assert "OK   time zone: Europe/Paris, the Jira account's" in result.output
    assert "OK   jira remote links: the account may link issues" in result.output
    server.jira.remote.can_link = False
    refused = run_check(monkeypatch, env | {"OKR_JIRA_TIME_ZONE": "Asia/Tokyo"})
    assert refused.exit_code == 1
    assert "OK   time zone: Asia/Tokyo (OKR_JIRA_TIME_ZONE)" in refused.output
    assert "FAIL jira remote links: OKR_JIRA_JIRA_REMOTE_LINKS=true but the account lacks" in (
        refused.output
    )
