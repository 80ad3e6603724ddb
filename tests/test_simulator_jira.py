"""The Jira simulator through the real atlassian-python-api client, for both flavors."""

from __future__ import annotations

import hashlib
import hmac
import json
import re

import pytest
import requests
from atlassian import Jira
from requests.exceptions import HTTPError
from ruamel.yaml import YAML

from okr_jira.simulator import SimulatorServer, generate, sign
from tests.support.paths import EXAMPLE_OKRS
from tests.support.simulator import WebhookReceiver, cloud_client, dc_client

JIRA_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$")


def test_server_info_tells_cloud_from_data_center(
    cloud_server: SimulatorServer, dc_server: SimulatorServer
) -> None:
    assert cloud_client(cloud_server).get_server_info()["deploymentType"] == "Cloud"
    assert dc_client(dc_server).get_server_info()["deploymentType"] == "Server"


def test_field_list_has_each_flavors_agile_fields(
    cloud_server: SimulatorServer, dc_server: SimulatorServer
) -> None:
    cloud = {f["name"]: f for f in cloud_client(cloud_server).get_all_fields()}
    dc = {f["name"]: f for f in dc_client(dc_server).get_all_fields()}
    assert cloud["Story point estimate"]["id"] == "customfield_10016"
    assert cloud["Story point estimate"]["schema"]["custom"] == (
        "com.pyxis.greenhopper.jira:jsw-story-points"
    )
    assert dc["Story Points"]["id"] == "customfield_10002"
    assert dc["Epic Link"]["schema"]["custom"] == "com.pyxis.greenhopper.jira:gh-epic-link"
    assert dc["Epic Link"]["id"] == "customfield_10006"
    assert cloud["Hours Saved"]["schema"]["type"] == "number"
    assert "Sprint" in cloud and "Sprint" in dc


def test_cloud_enhanced_search_pages_with_next_page_token(cloud_server: SimulatorServer) -> None:
    jira = cloud_client(cloud_server)
    jql = "project in (PLAT, MOB) AND labels = reliability"
    keys: list[str] = []
    token = None
    pages = 0
    while True:
        page = jira.enhanced_jql(jql, fields=["summary", "labels"], nextPageToken=token, limit=7)
        keys += [issue["key"] for issue in page["issues"]]
        assert all(set(issue["fields"]) == {"summary", "labels"} for issue in page["issues"])
        assert "total" not in page
        pages += 1
        token = page.get("nextPageToken")
        if token is None:
            assert page["isLast"] is True
            break
    expected = {
        r.key
        for r in cloud_server.jira.issues.values()
        if r.project in ("PLAT", "MOB") and "reliability" in r.labels
    }
    assert sorted(keys) == sorted(expected)
    assert pages == -(-len(expected) // 7)


def test_cloud_search_without_fields_returns_ids_only(cloud_server: SimulatorServer) -> None:
    response = requests.get(
        f"{cloud_server.url}/rest/api/3/search/jql",
        params={"jql": "project = SUP", "maxResults": 5000},
        auth=(cloud_server.credentials.email, cloud_server.credentials.api_token),
        timeout=10,
    )
    issues = response.json()["issues"]
    assert len(issues) == len([r for r in cloud_server.jira.issues.values() if r.project == "SUP"])
    assert all(set(issue) == {"id"} for issue in issues)


def test_cloud_caps_max_results_at_100_when_fields_are_asked(cloud_server: SimulatorServer) -> None:
    page = cloud_client(cloud_server).enhanced_jql("project != HR", fields=["summary"], limit=500)
    assert len(page["issues"]) == 100
    assert page["nextPageToken"]


def test_data_center_search_pages_with_start_at_and_total(dc_server: SimulatorServer) -> None:
    jira = dc_client(dc_server)
    issues = jira.jql_get_list_of_tickets('"Epic Link" in (SELF-5, SELF-9)', fields=["summary"])
    expected = {r.key for r in dc_server.jira.issues.values() if r.epic in ("SELF-5", "SELF-9")}
    assert {i["key"] for i in issues} == expected
    page = jira.jql("project = SUP ORDER BY key ASC", fields=["status"], start=10, limit=20)
    assert page["startAt"] == 10 and page["maxResults"] == 20
    assert page["total"] == len([r for r in dc_server.jira.issues.values() if r.project == "SUP"])
    assert [i["key"] for i in page["issues"]][:2] == ["SUP-11", "SUP-12"]
    assert set(page["issues"][0]["fields"]) == {"status"}


def test_search_expands_names_and_schema_once_on_top(
    cloud_server: SimulatorServer, dc_server: SimulatorServer
) -> None:
    """As Jira does: `expand=names,schema` on a search adds one `names` and one `schema` map
    for the fields asked, beside the issues, not inside each."""
    for jira, server in (
        (cloud_client(cloud_server), cloud_server),
        (dc_client(dc_server), dc_server),
    ):
        page = jira.jql("project = SUP", fields="*navigable", limit=3, expand="names,schema")
        listed = {f["id"]: f for f in server.jira.field_list()}
        points = next(fid for fid, f in listed.items() if "story point" in str(f["name"]).lower())
        assert page["names"][points] == listed[points]["name"]
        assert page["schema"][points] == listed[points]["schema"]
        assert page["names"]["summary"] == "Summary" and "comment" not in page["names"]
        assert all("names" not in issue for issue in page["issues"])
        narrow = jira.jql("project = SUP", fields=["status"], limit=3, expand="names")
        assert narrow["names"] == {"status": "Status"} and "schema" not in narrow


def test_answers_are_dated_by_the_simulated_clock(dc_server: SimulatorServer) -> None:
    import datetime as dt
    import email.utils

    dc_server.jira.clock = lambda: dt.datetime(2026, 11, 15, 9, 30, tzinfo=dt.UTC)
    resp = requests.get(f"{dc_server.url}/rest/api/2/myself", timeout=10)  # even a 401
    assert email.utils.parsedate_to_datetime(resp.headers["Date"]) == dc_server.jira.clock()


def test_data_center_caps_max_results_at_1000(dc_server: SimulatorServer) -> None:
    page = dc_client(dc_server).jql("project != HR", fields=["key"], limit=5000)
    assert page["maxResults"] == 1000


def test_cloud_legacy_search_answers_410_with_the_real_body(cloud_server: SimulatorServer) -> None:
    response = requests.get(
        f"{cloud_server.url}/rest/api/2/search",
        params={"jql": "project = SUP"},
        auth=(cloud_server.credentials.email, cloud_server.credentials.api_token),
        timeout=10,
    )
    assert response.status_code == 410
    assert response.json() == {
        "errorMessages": [
            "The requested API has been removed. Please migrate to the /rest/api/3/search/jql "
            "API. A full migration guideline is available at "
            "https://developer.atlassian.com/changelog/#CHANGE-2046"
        ],
        "errors": {},
    }
    # The classic client without cloud=True walks straight into it.
    with pytest.raises(HTTPError, match="has been removed"):
        Jira(
            cloud_server.url,
            username=cloud_server.credentials.email,
            password=cloud_server.credentials.api_token,
            timeout=10,
        ).jql("project = SUP")


def test_bad_jql_answers_400_with_jiras_body(
    cloud_server: SimulatorServer, dc_server: SimulatorServer
) -> None:
    response = requests.get(
        f"{dc_server.url}/rest/api/2/search",
        params={"jql": "project foo"},
        headers={"Authorization": f"Bearer {dc_server.credentials.pat}"},
        timeout=10,
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {}
    assert response.json()["errorMessages"][0].startswith(
        "Error in the JQL Query: Expecting operator but got 'foo'."
    )
    with pytest.raises(HTTPError, match="The value 'NOPE' does not exist for the field 'project'"):
        cloud_client(cloud_server).enhanced_jql("project = NOPE", fields=["key"])
    with pytest.raises(HTTPError, match="Unbounded JQL queries are not allowed here"):
        cloud_client(cloud_server).enhanced_jql("ORDER BY created DESC", fields=["key"])


def test_wrong_or_missing_credentials_answer_401(
    cloud_server: SimulatorServer, dc_server: SimulatorServer
) -> None:
    bad_cloud = Jira(
        cloud_server.url, username="okr-bot@example.com", password="wrong", cloud=True, timeout=10
    )
    with pytest.raises(HTTPError) as caught:
        bad_cloud.myself()
    assert caught.value.response.status_code == 401
    with pytest.raises(HTTPError) as caught:
        Jira(dc_server.url, token="wrong-token", timeout=10).myself()
    assert caught.value.response.status_code == 401
    assert "not authenticated" in caught.value.response.json()["errorMessages"][0]
    anonymous = requests.get(f"{dc_server.url}/rest/api/2/myself", timeout=10)
    assert anonymous.status_code == 401
    # Data Center also takes Basic username + password; Cloud refuses a PAT.
    assert (
        Jira(dc_server.url, username="okr-bot", password="sim-password", timeout=10).myself()[
            "name"
        ]
        == "okr-bot"
    )
    bearer = requests.get(
        f"{cloud_server.url}/rest/api/3/myself",
        headers={"Authorization": f"Bearer {cloud_server.credentials.pat}"},
        timeout=10,
    )
    assert bearer.status_code == 401


def test_rate_limit_answers_429_with_retry_after_then_recovers(
    cloud_server: SimulatorServer,
) -> None:
    cloud_server.faults.rate_limit(1, retry_after=1)
    auth = (cloud_server.credentials.email, cloud_server.credentials.api_token)
    limited = requests.get(f"{cloud_server.url}/rest/api/3/myself", auth=auth, timeout=10)
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "1"
    assert limited.headers["X-RateLimit-Remaining"] == "0"
    assert "X-RateLimit-Reset" in limited.headers

    cloud_server.stats.reset()
    cloud_server.faults.rate_limit(1, retry_after=1)
    info = cloud_client(cloud_server).get_server_info()  # the client sleeps Retry-After, retries
    assert info["deploymentType"] == "Cloud"
    assert cloud_server.stats.total == 2
    assert cloud_server.stats.by_status[429] == 1


def test_faults_and_stats_are_reachable_over_http(dc_server: SimulatorServer) -> None:
    requests.post(
        f"{dc_server.url}/_sim/faults", json={"fail": {"count": 1, "status": 503}}, timeout=10
    )
    headers = {"Authorization": f"Bearer {dc_server.credentials.pat}"}
    first = requests.get(f"{dc_server.url}/rest/api/2/field", headers=headers, timeout=10)
    second = requests.get(f"{dc_server.url}/rest/api/2/field", headers=headers, timeout=10)
    assert (first.status_code, second.status_code) == (503, 200)
    stats = requests.get(f"{dc_server.url}/_sim/stats", timeout=10).json()
    assert stats["by_route"]["GET /rest/api/<ver>/field"] == 2
    assert stats["total"] == 2


def test_issue_json_follows_each_flavors_shape(
    cloud_server: SimulatorServer, dc_server: SimulatorServer
) -> None:
    child = next(r.key for r in cloud_server.jira.issues.values() if r.epic == "SUP-12")
    cloud_issue = cloud_client(cloud_server).issue(child)
    fields = cloud_issue["fields"]
    assert fields["parent"]["key"] == "SUP-12"
    assert fields["customfield_10014"] is None
    assert "accountId" in fields["reporter"] and "name" not in fields["reporter"]
    assert JIRA_TIME.match(fields["created"]) and JIRA_TIME.match(fields["updated"])
    assert fields["status"]["statusCategory"]["key"] in ("new", "indeterminate", "done")

    dc_issue = dc_client(dc_server).issue(child)
    assert dc_issue["fields"]["customfield_10006"] == "SUP-12"
    assert "parent" not in dc_issue["fields"]
    assert dc_issue["fields"]["reporter"]["name"]

    v3 = requests.get(
        f"{cloud_server.url}/rest/api/3/issue/{child}",
        params={"fields": "description,summary"},
        auth=(cloud_server.credentials.email, cloud_server.credentials.api_token),
        timeout=10,
    ).json()
    assert set(v3["fields"]) == {"description", "summary"}
    assert v3["fields"]["description"]["type"] == "doc"


def test_missing_issue_answers_404_with_jiras_body(dc_server: SimulatorServer) -> None:
    with pytest.raises(HTTPError, match="Issue does not exist or you do not have permission"):
        dc_client(dc_server).issue("SUP-99999")


def test_transition_delivers_a_signed_webhook(
    cloud_server: SimulatorServer, webhook_receiver: WebhookReceiver
) -> None:
    jira = cloud_client(cloud_server)
    created = jira.post(
        "rest/webhooks/1.0/webhook",
        data={
            "name": "okr-jira",
            "url": webhook_receiver.url,
            "events": ["jira:issue_updated"],
            "filters": {"issue-related-events-section": "project = SUP"},
            "secret": "It's a Secret to Everybody",
        },
    )
    assert created["url"] == webhook_receiver.url
    cloud_server.jira.update_issue("PLAT-1", labels=("ignored",))  # filtered out by its JQL
    target = next(
        k for k, r in cloud_server.jira.issues.items() if r.project == "SUP" and r.status != "Done"
    )
    cloud_server.jira.transition(target, "Done")

    got = webhook_receiver.next()
    expected = (
        "sha256=" + hmac.new(b"It's a Secret to Everybody", got.body, hashlib.sha256).hexdigest()
    )
    assert hmac.compare_digest(got.headers["X-Hub-Signature"], expected)
    assert got.headers["X-Atlassian-Webhook-Identifier"]
    payload = json.loads(got.body)
    assert payload["webhookEvent"] == "jira:issue_updated"
    assert payload["issue"]["key"] == target
    assert payload["issue"]["fields"]["status"]["name"] == "Done"
    items = {item["fieldId"]: item for item in payload["changelog"]["items"]}
    assert items["status"]["toString"] == "Done"
    assert items["resolution"]["toString"] == "Done"
    assert webhook_receiver.received.empty()


def test_sim_http_mutations_create_move_and_delete(
    dc_server: SimulatorServer, webhook_receiver: WebhookReceiver
) -> None:
    url = dc_server.url
    requests.post(
        f"{url}/_sim/webhook", json={"url": webhook_receiver.url, "secret": "s"}, timeout=10
    )
    created = requests.post(
        f"{url}/_sim/issues",
        json={
            "project": "SUP",
            "issue_type": "Story",
            "summary": "Brand new",
            "epic": "SUP-12",
            "labels": ["macros"],
            "story_points": 5,
        },
        timeout=10,
    ).json()
    key = created["key"]
    event = json.loads(webhook_receiver.next().body)
    assert event["webhookEvent"] == "jira:issue_created"
    jira = dc_client(dc_server)
    assert key in {
        i["key"] for i in jira.jql_get_list_of_tickets('"Epic Link" = SUP-12', fields=["key"])
    }

    moved = requests.put(f"{url}/_sim/issues/{key}", json={"project": "PLAT"}, timeout=10).json()
    assert moved["key"].startswith("PLAT-")
    assert jira.issue(key)["key"] == moved["key"]  # the old key still resolves
    move_event = json.loads(webhook_receiver.next().body)
    assert move_event["issue_event_type_name"] == "issue_moved"
    assert {i["fieldId"] for i in move_event["changelog"]["items"]} == {"project", "key"}

    requests.delete(f"{url}/_sim/issues/{moved['key']}", timeout=10)
    deleted = webhook_receiver.next()
    assert json.loads(deleted.body)["webhookEvent"] == "jira:issue_deleted"
    assert deleted.headers["X-Hub-Signature"] == sign("s", deleted.body)
    with pytest.raises(HTTPError):
        jira.issue(moved["key"])


def test_deliver_false_returns_payloads_without_sending() -> None:
    sim = generate("small", flavor="datacenter", deliver=False)
    sim.webhook_url = "http://127.0.0.1:9/never"
    event = sim.update_issue("SUP-12", story_points=8.0, epic=None)
    items = event.payload["changelog"]["items"]
    assert {i["fieldId"] for i in items} == {"customfield_10002"}
    event = sim.update_issue("SUP-1", epic="SUP-2")
    assert event.payload["changelog"]["items"][0]["fieldId"] == "customfield_10006"
    assert sim.outbox[-1] is event.payload
    assert sim.deliverer.results == []


def test_signature_matches_the_documented_test_vector() -> None:
    value = sign("It's a Secret to Everybody", b"Hello World!")
    assert value.startswith("sha256=a4771c39") and value.endswith("133263c9")


def test_generated_data_is_deterministic() -> None:
    a, b = generate("small", seed=3), generate("small", seed=3)
    assert [(r.key, r.status, r.labels) for r in a.issues.values()] == [
        (r.key, r.status, r.labels) for r in b.issues.values()
    ]


def test_small_dataset_has_everything_the_example_okr_file_names() -> None:
    okrs = YAML(typ="safe").load(EXAMPLE_OKRS.read_text())
    sim = generate("small", flavor="cloud")
    records = list(sim.issues.values())
    projects = {p for team in okrs["teams"] for p in team.get("jira_projects", [])}
    sources = [
        kr["source"]
        for objective in okrs["objectives"]
        for kr in objective.get("key_results", [])
        if kr.get("source")
    ]
    assert projects <= set(sim.projects)
    for source in sources:
        for epic in source.get("epics", []):
            assert sim.issues[epic].issue_type == "Epic"
            assert any(r.epic == epic for r in records), epic
        for key in [
            *source.get("issues", []),
            *source.get("include", []),
            *source.get("exclude", []),
        ]:
            assert key in sim.issues
        for label in source.get("labels", []):
            assert any(label in r.labels for r in records), label
        for component in source.get("components", []):
            assert any(component in r.components for r in records), component
        for version in source.get("fix_versions", []):
            assert any(version in r.fix_versions for r in records), version
        for issue_type in source.get("issue_types", []):
            assert any(r.issue_type == issue_type for r in records), issue_type
        if source.get("jql"):
            assert sim.search(source["jql"]), source["jql"]
    assert "macros" in sim.issues["SUP-7"].labels
    assert any(r.hours_saved for r in records if r.project == "SELF")
    assert all(r.created.year == 2026 and r.created.month >= 10 for r in records)


def test_browse_pages_open_without_credentials_and_say_when_an_issue_is_missing(
    cloud_server: SimulatorServer,
) -> None:
    page = requests.get(f"{cloud_server.url}/browse/SUP-4", timeout=5)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    rec = cloud_server.jira.get("SUP-4")
    assert rec is not None and rec.summary in page.text and rec.status in page.text
    missing = requests.get(f"{cloud_server.url}/browse/SUP-99999", timeout=5)
    assert missing.status_code == 404 and "does not exist" in missing.text
