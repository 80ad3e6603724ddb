"""The JSON API under /api/v1: every endpoint, bad input, the authorisation matrix, the OKR file
rule, and edits that `okr-jira export` + `apply` take back as a no-op."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine

from okr_jira.cli import main
from okr_jira.errors import ConfigError
from okr_jira.okrs.edit import declared
from okr_jira.okrs.export import dump_okr_text
from okr_jira.okrs.file import parse_okr_text
from okr_jira.okrs.plan import make_plan
from okr_jira.runtime.tokens import revoke_token
from okr_jira.settings import load_settings
from okr_jira.storage.db import session_scope
from tests.support.paths import SESSION_SECRET, WEBHOOK_SECRET
from tests.support.web_world import WebWorld, build_web_world
from webhooks import create_app

NEW_OBJECTIVE = {"key": "SUP-9", "cycle": "2026-Q4", "team": "support", "title": "Shorter queues",
                 "parent": "CX-1"}  # fmt: skip
NEW_KR = {"objective": "SUP-9", "key": "SUP-9.1", "title": "Fewer open refunds",
          "kind": "issue_count", "start": 3, "target": 0,
          "source": {"labels": ["refunds"]}}  # fmt: skip

# (method, path, JSON body, needs admin). Every route of /api/v1 (the test below checks so).
ROUTES: list[tuple[str, str, Any, bool]] = [
    ("GET", "/api/v1/me", None, False),
    ("GET", "/api/v1/tree", None, False),
    ("GET", "/api/v1/cycles", None, False),
    ("GET", "/api/v1/objectives/SUP-1", None, False),
    ("GET", "/api/v1/key-results/SUP-1.1", None, False),
    ("GET", "/api/v1/audit", None, False),
    ("GET", "/api/v1/jobs/1", None, False),
    ("POST", "/api/v1/objectives", NEW_OBJECTIVE, True),
    ("PATCH", "/api/v1/objectives/SUP-1", {"title": "Answer faster"}, True),
    ("POST", "/api/v1/objectives/SELF-1/archive", None, True),
    ("POST", "/api/v1/key-results", {**NEW_KR, "objective": "SUP-1"}, True),
    ("PATCH", "/api/v1/key-results/SUP-1.2", {"target": 4}, True),
    ("POST", "/api/v1/key-results/MOB-1.1/archive", None, True),
    ("POST", "/api/v1/key-results/SUP-1.1/preview", {"source": {"epics": ["SUP-12"]}}, True),
    ("PUT", "/api/v1/key-results/SUP-1.1/source", {"source": {"labels": ["refunds"]}}, True),
    ("POST", "/api/v1/checkins", {"kr": "CO-1.1", "value": 50}, True),
    ("POST", "/api/v1/sync", None, True),
    ("POST", "/api/v1/publish", None, True),
]


@pytest.fixture
def world(engine: Engine) -> WebWorld:
    return build_web_world(engine)


def call(world: WebWorld, method: str, path: str, body: Any = None, who: str | None = "admin"):  # type: ignore[no-untyped-def]
    return world.client().open(path, method=method, json=body, headers=world.headers(who))


def test_the_matrix_covers_every_api_route(world: WebWorld) -> None:
    rules = {
        (m, r.rule.replace("<key>", "X").replace("<int:job_id>", "1"))
        for r in world.app.url_map.iter_rules()
        if r.rule.startswith("/api/v1/")
        for m in r.methods or ()
        if m in ("GET", "POST", "PUT", "PATCH", "DELETE")
    }
    covered = {
        (m, p.replace("SUP-1.1", "X").replace("SUP-1.2", "X").replace("MOB-1.1", "X")
         .replace("SELF-1", "X").replace("SUP-1", "X"))
        for m, p, _, _ in ROUTES
    }  # fmt: skip
    assert rules == covered


@pytest.mark.parametrize(("method", "path", "body", "admin"), ROUTES)
def test_authorisation_matrix_none_revoked_read_admin(
    world: WebWorld, method: str, path: str, body: Any, admin: bool
) -> None:
    world.client().post("/api/v1/sync", headers=world.headers("admin"))  # job 1 exists
    assert call(world, method, path, body, who=None).status_code == 401
    assert call(world, method, path, body, who="revoked").status_code == 401
    wrong = world.client().open(
        path, method=method, json=body, headers={"Authorization": "Bearer okrj_not-a-real-one"}
    )
    assert wrong.status_code == 401 and "okrj_not-a-real-one" not in wrong.get_data(True)
    read = call(world, method, path, body, who="read")
    assert read.status_code == (403 if admin else 200), read.get_data(True)
    done = call(world, method, path, body, who="admin")
    assert done.status_code in (200, 201, 202), done.get_data(True)


def test_a_revoked_token_stops_working_without_a_restart(world: WebWorld) -> None:
    assert call(world, "GET", "/api/v1/me", who="read").json == {
        "name": "rob", "role": "read", "via": "token"
    }  # fmt: skip
    revoke_token(world.engine, "rob")
    assert call(world, "GET", "/api/v1/me", who="read").status_code == 401


@pytest.mark.parametrize(
    ("method", "path", "body", "fields"),
    [
        ("POST", "/api/v1/objectives", {"key": "bad key", "cycle": "2026-Q4", "weight": -1},
         {"key", "team", "title", "weight"}),
        ("POST", "/api/v1/objectives", {**NEW_OBJECTIVE, "cycle": "1999-Q1"}, {"cycle"}),
        ("POST", "/api/v1/objectives", {**NEW_OBJECTIVE, "parent": "NOPE-1"}, {"parent"}),
        ("POST", "/api/v1/objectives", {**NEW_OBJECTIVE, "surprise": 1}, {"surprise"}),
        ("POST", "/api/v1/objectives", "not an object", {""}),
        ("PATCH", "/api/v1/objectives/SUP-1", {"rollup": "sideways", "title": ""},
         {"rollup", "title"}),
        ("POST", "/api/v1/key-results", {**NEW_KR, "objective": "SUP-1", "target": 3},
         {"target"}),
        ("POST", "/api/v1/key-results", {**NEW_KR, "objective": "SUP-1", "kind": "manual"},
         {"source"}),
        ("POST", "/api/v1/key-results", {**NEW_KR, "objective": "SUP-1",
                                         "in_progress_credit": 2, "start": "x"},
         {"in_progress_credit", "start"}),
        ("PATCH", "/api/v1/key-results/SUP-1.2", {"target": 40}, {"target"}),
        ("PATCH", "/api/v1/key-results/SUP-1.2", {"weight": "heavy"}, {"weight"}),
        ("POST", "/api/v1/key-results/SUP-1.1/preview", {"source": {"jql": "project = = SUP"}},
         {"source.jql"}),
        ("POST", "/api/v1/key-results/SUP-1.1/preview", {"source": {"projects": "SUP"}},
         {"source.projects"}),
        ("PUT", "/api/v1/key-results/SUP-1.1/source", {"source": {"labels": ["a\u0000b"]}},
         {"source.labels.0"}),
        ("PUT", "/api/v1/key-results/CO-1.1/source", {"source": {"labels": ["x"]}}, {"source"}),
        ("POST", "/api/v1/checkins", {"kr": "SUP-1.1", "value": 3}, {"value"}),  # Jira gives it
        ("POST", "/api/v1/checkins", {"kr": "CO-1.1"}, {"value"}),
        ("GET", "/api/v1/audit?limit=0&since=yesterday", None, {"limit", "since"}),
        ("GET", "/api/v1/tree?status=lost", None, {"status"}),
    ],
)  # fmt: skip
def test_bad_input_is_422_naming_each_field_and_changes_nothing(
    world: WebWorld, method: str, path: str, body: Any, fields: set[str]
) -> None:
    before = call(world, "GET", "/api/v1/audit?limit=1000").json
    resp = call(world, method, path, body)
    assert resp.status_code == 422, resp.get_data(True)
    assert resp.json is not None and {p["field"] for p in resp.json["problems"]} >= fields
    assert call(world, "GET", "/api/v1/audit?limit=1000").json == before


def test_unknown_keys_are_404_and_conflicts_409(world: WebWorld) -> None:
    assert call(world, "GET", "/api/v1/objectives/NOPE-1").status_code == 404
    assert call(world, "GET", "/api/v1/key-results/NOPE-1.1").status_code == 404
    assert call(world, "GET", "/api/v1/jobs/99").status_code == 404
    assert call(world, "PATCH", "/api/v1/key-results/NOPE-1.1", {"target": 1}).status_code == 404
    assert (
        call(world, "POST", "/api/v1/objectives", {**NEW_OBJECTIVE, "key": "SUP-1"}).status_code
        == 409
    )
    aligned = call(world, "POST", "/api/v1/objectives/CX-1/archive")
    assert aligned.status_code == 409 and "SUP-1" in aligned.json["message"]  # type: ignore[index]


def test_tree_filters_by_team_and_status_and_reads_recorded_progress(world: WebWorld) -> None:
    call(world, "POST", "/api/v1/checkins", {"kr": "CO-1.1", "value": 51, "note": "survey"})
    tree = call(world, "GET", "/api/v1/tree").json
    assert tree is not None and [o["key"] for o in tree["objectives"]] == ["CO-1", "CO-2"]
    assert tree["objectives"][0]["key_results"][0]["current"] == 51  # recorded at check-in
    support = call(world, "GET", "/api/v1/tree?team=support").json
    assert support is not None
    path = support["objectives"][0]  # CO-1 -> CX-1 -> SUP-1: the path to the match is kept
    assert path["key"] == "CO-1" and path["children"][0]["children"][0]["key"] == "SUP-1"
    assert call(world, "GET", "/api/v1/tree?team=support&status=done").json["objectives"] == []  # type: ignore[index]


def test_key_result_shows_issues_with_weight_contribution_history_and_formula(
    world: WebWorld,
) -> None:
    kr = call(world, "GET", "/api/v1/key-results/SUP-1.1").json
    assert kr is not None and kr["jql"] and kr["source"] == {"epics": ["SUP-12"]}
    assert "issues done" in kr["formula"] and isinstance(kr["issues"], list)
    for name in ("history", "scope", "checkins", "warnings", "error"):
        assert name in kr


def test_preview_answers_from_stored_issues_and_saves_nothing(world: WebWorld) -> None:
    before = call(world, "GET", "/api/v1/audit?limit=1000").json
    epic = call(world, "POST", "/api/v1/key-results/SUP-1.1/preview",
                {"source": {"epics": ["SUP-12"]}}).json  # fmt: skip
    assert epic is not None and epic["issues"] == ["SUP-13", "SUP-14", "SUP-15", "SUP-16"]
    assert epic["answered_by"] == "okr-jira" and epic["jql"] == "parent in (SUP-12)"
    # SUP-1.1 weighs by story points (none set: 1 each), no credit for work in progress.
    assert epic["progress_after"] == pytest.approx(2 / 4, abs=1e-4)
    assert epic["progress_now"] == 0 and epic["added"] == epic["issues"]
    narrowed = call(world, "POST", "/api/v1/key-results/SUP-1.1/preview",
                    {"source": {"epics": ["SUP-12"], "labels": ["refunds"],
                                "exclude": ["SUP-16"]}}).json  # fmt: skip
    assert narrowed is not None and narrowed["issues"] == ["SUP-13", "SUP-15"]
    jql = call(world, "POST", "/api/v1/key-results/SUP-1.1/preview",
               {"source": {"jql": "project = SUP AND statusCategory = Done"}}).json  # fmt: skip
    assert jql is not None and jql["issues"] == ["SUP-13", "SUP-14", "SUP-17"]
    remote = call(world, "POST", "/api/v1/key-results/SUP-1.1/preview",
                  {"source": {"jql": 'text ~ "refund"'}})  # fmt: skip
    assert remote.status_code == 422 and "Jira is not configured" in remote.get_data(True)
    assert call(world, "GET", "/api/v1/audit?limit=1000").json == before


def test_preview_asks_jira_when_only_jira_can_answer(engine: Engine, cloud_server: Any) -> None:
    creds = cloud_server.credentials
    world = build_web_world(
        engine, jira_url=cloud_server.url, jira_user=creds.email, jira_token=creds.api_token,
        jira_flavor="cloud",
    )  # fmt: skip
    jql = 'project = SUP AND summary ~ "refund"'
    expected = sorted(cloud_server.jira.search(jql))
    resp = call(world, "POST", "/api/v1/key-results/SUP-1.1/preview", {"source": {"jql": jql}})
    assert resp.status_code == 200 and resp.json is not None
    assert resp.json["answered_by"] == "jira" and sorted(resp.json["issues"]) == expected
    bad = call(world, "POST", "/api/v1/key-results/SUP-1.1/preview",
               {"source": {"jql": "project = SUP AND nosuchfield ~ x"}})  # fmt: skip
    assert bad.status_code == 422 and bad.json is not None
    assert bad.json["problems"][0]["field"] == "source.jql"
    assert bad.json["problems"][0]["message"].startswith("Jira: ")


def test_edits_are_audited_with_the_token_name_and_export_apply_is_a_no_op(
    world: WebWorld, db_env: str, tmp_path: Path
) -> None:
    assert call(world, "POST", "/api/v1/objectives", NEW_OBJECTIVE).status_code == 201
    assert call(world, "POST", "/api/v1/key-results", NEW_KR).status_code == 201
    assert call(world, "PATCH", "/api/v1/key-results/SUP-9.1", {"target": 1}).status_code == 200
    assert call(world, "PATCH", "/api/v1/objectives/SUP-9", {"weight": 2}).status_code == 200
    put = call(world, "PUT", "/api/v1/key-results/SUP-9.1/source",
               {"source": {"labels": ["refunds"], "include": ["sup-17"]}})  # fmt: skip
    assert put.status_code == 200 and put.json is not None and put.json["sync_job"] is None
    assert call(world, "POST", "/api/v1/key-results/SUP-1.2/archive").status_code == 200
    audit = call(world, "GET", "/api/v1/audit?objective=SUP-9").json
    assert audit is not None
    changed = [(e["key"], e["field"], e["old"], e["new"]) for e in audit["entries"]
               if e["action"] == "change"]  # fmt: skip
    assert ("SUP-9.1", "target", "0", "1") in changed and ("SUP-9", "weight", "1", "2") in changed
    assert ("SUP-9.1", "source", '{"labels":["refunds"]}',
            '{"include":["SUP-17"],"labels":["refunds"]}') in changed  # fmt: skip
    assert {e["actor"] for e in audit["entries"]} == {"ana"}
    by_actor = call(world, "GET", "/api/v1/audit?actor=ana&kr=SUP-1.2").json
    assert by_actor is not None and [e["action"] for e in by_actor["entries"]] == ["archive"]

    with session_scope(world.engine) as session:
        again = parse_okr_text(dump_okr_text(declared(session)))
        assert make_plan(session, again).empty
    exported = CliRunner().invoke(main, ["export"])
    assert exported.exit_code == 0, exported.output
    path = str(tmp_path / "export.yaml")
    with open(path, "w", encoding="utf-8") as f:
        f.write(exported.output)
    plan = CliRunner().invoke(main, ["apply", path, "--dry-run"])
    assert plan.exit_code == 0 and "No changes" in plan.output, plan.output


def test_with_the_okr_file_set_writes_answer_409_but_checkins_work(engine: Engine) -> None:
    world = build_web_world(engine, okr_file="/srv/okrs.yaml")
    for method, path, body, admin in ROUTES:
        if not admin or path.endswith(("/checkins", "/sync", "/publish", "/preview")):
            continue
        resp = call(world, method, path, body)
        assert resp.status_code == 409, (path, resp.get_data(True))
        assert "/srv/okrs.yaml" in resp.json["message"]  # type: ignore[index]
    assert call(world, "POST", "/api/v1/checkins", {"kr": "CO-1.1", "value": 50}).status_code == 201
    assert (
        world.client()
        .post("/api/okrs", data="cycles: []", headers=world.headers("admin"))
        .status_code
        == 409
    )


def test_sync_and_publish_are_queued_with_a_job_to_poll(world: WebWorld) -> None:
    resp = call(world, "POST", "/api/v1/sync?full=true")
    assert resp.status_code == 202 and resp.json is not None and resp.json["status"] == "queued"
    job = call(world, "GET", f"/api/v1/jobs/{resp.json['job']}").json
    assert job is not None and (job["kind"], job["status"], job["requested_by"]) == (
        "sync", "queued", "ana"
    )  # fmt: skip


def test_the_session_secret_is_required_and_must_be_strong(engine: Engine) -> None:
    with pytest.raises(ConfigError, match="OKR_JIRA_SESSION_SECRET is not set"):
        create_app(
            load_settings(None, database_url=str(engine.url), webhook_secret=WEBHOOK_SECRET),
            engine=engine,
        )
    with pytest.raises(ConfigError, match=r"SESSION_SECRET: .*too weak"):
        load_settings(None, session_secret="short-secret")
    with pytest.raises(ConfigError, match="too weak"):
        load_settings(None, session_secret="ab" * 20)


def test_openapi_document_is_generated_from_the_models(world: WebWorld) -> None:
    doc = world.client().get("/api/openapi.json").json
    assert doc is not None and doc["openapi"].startswith("3.")
    paths = doc["paths"]
    assert "/api/v1/key-results/{key}/preview" in paths and "/api/v1/tree" in paths
    schemas = doc["components"]["schemas"]
    assert {"SourceIn", "ObjectiveCreate", "KeyResultCreate", "CheckinIn"} <= set(schemas)
    assert set(schemas["SourceIn"]["properties"]) >= {"jql", "projects", "include", "exclude"}


def test_tokens_cli_prints_the_token_once_lists_and_revokes(
    db_env: str, engine: Engine, cli: Any
) -> None:
    runner = CliRunner()
    added = runner.invoke(main, ["tokens", "add", "ci-bot", "--role", "read"])
    assert added.exit_code == 0, added.output
    token = added.output.strip().splitlines()[-1]
    assert token.startswith("okrj_") and " " not in token
    listed = runner.invoke(main, ["tokens", "list"])
    assert "ci-bot\tread\tactive" in listed.output and token not in listed.output
    world_app = create_app(
        load_settings(
            None, database_url=db_env, session_secret=SESSION_SECRET,
            webhook_secret=WEBHOOK_SECRET,
        ),
        engine=engine,
    )  # fmt: skip
    c = world_app.test_client()
    assert c.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert runner.invoke(main, ["tokens", "revoke", "ci-bot"]).exit_code == 0
    assert c.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert "ci-bot\tread\trevoked" in runner.invoke(main, ["tokens", "list"]).output
    dup = runner.invoke(main, ["tokens", "add", "ci-bot", "--role", "admin"])
    assert dup.exit_code == 1 and "exists already" in dup.output


def _csrf(html: str) -> str:
    import re

    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def test_browser_session_cookie_flags_csrf_and_revocation(world: WebWorld) -> None:
    c = world.client()
    form = c.get("/signin")
    token = _csrf(form.get_data(True))
    assert c.post("/signin", data={"token": world.admin}).status_code == 400  # no CSRF token
    signed = c.post("/signin", data={"token": world.admin, "csrf_token": token, "next": "//evil"})
    assert signed.status_code == 302 and signed.headers["Location"] == "/"  # no open redirect
    cookie = signed.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert world.admin not in cookie
    assert c.get("/api/v1/me").json == {"name": "ana", "role": "admin", "via": "session"}
    page = c.get("/key-results/CO-1.1")
    assert page.status_code == 200
    assert c.post("/key-results/CO-1.1/checkin", data={"value": "52"}).status_code == 400
    csrf = _csrf(page.get_data(True))
    ok = c.post("/key-results/CO-1.1/checkin", data={"value": "52", "csrf_token": csrf})
    assert ok.status_code == 302
    # Cookie-authenticated API writes need the token in X-CSRFToken; bearer ones do not.
    assert c.post("/api/v1/checkins", json={"kr": "CO-1.1", "value": 53}).status_code == 400
    assert c.post("/api/v1/checkins", json={"kr": "CO-1.1", "value": 53},
                  headers={"X-CSRFToken": csrf}).status_code == 201  # fmt: skip
    revoke_token(world.engine, "ana")
    assert c.get("/api/v1/me").status_code == 401
    assert c.get("/").status_code == 302


def test_session_cookie_is_secure_over_https(world: WebWorld) -> None:
    c = world.client()
    token = _csrf(c.get("/signin", base_url="https://okr.example").get_data(True))
    signed = c.post("/signin", base_url="https://okr.example",
                    data={"token": world.read, "csrf_token": token})  # fmt: skip
    assert "Secure" in signed.headers["Set-Cookie"]


def test_proxy_user_header_only_from_trusted_addresses(engine: Engine) -> None:
    world = build_web_world(
        engine, proxy_user_header="X-Forwarded-User", trusted_proxies="10.0.0.0/8",
        proxy_admins="carol",
    )  # fmt: skip
    c = world.client()
    trusted = {"REMOTE_ADDR": "10.1.2.3"}
    me = c.get("/api/v1/me", headers={"X-Forwarded-User": "dave"}, environ_base=trusted)
    assert me.json == {"name": "dave", "role": "read", "via": "proxy"}
    assert c.post("/api/v1/sync", headers={"X-Forwarded-User": "dave"},
                  environ_base=trusted).status_code == 403  # fmt: skip
    carol = c.get("/api/v1/me", headers={"X-Forwarded-User": "carol"}, environ_base=trusted)
    assert carol.json is not None and carol.json["role"] == "admin"
    # The proxy names the user on a cross-site request too: writes still need the CSRF token.
    forged = c.post("/api/v1/sync", headers={"X-Forwarded-User": "carol"}, environ_base=trusted)
    assert forged.status_code == 400
    outsider = {"REMOTE_ADDR": "192.0.2.7"}
    assert c.get("/api/v1/me", headers={"X-Forwarded-User": "carol"},
                 environ_base=outsider).status_code == 401  # fmt: skip
