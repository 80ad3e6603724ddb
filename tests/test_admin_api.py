"""The admin API declares OKRs, records check-ins and reads the tree, behind a bearer token."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from sqlalchemy import Engine

from okr_jira.cli import main
from okr_jira.settings import load_settings
from tests.support.paths import EXAMPLE_OKRS, SESSION_SECRET
from webhooks import create_app

TOKEN = "admin-token-for-tests-123"
WEBHOOK_SECRET = "webhook-secret-for-tests"


def client(engine: Engine, token: str | None = TOKEN) -> FlaskClient:
    settings = load_settings(
        None,
        database_url=str(engine.url),
        admin_token=token,
        webhook_secret=WEBHOOK_SECRET,
        session_secret=SESSION_SECRET,
    )
    return create_app(settings, engine=engine).test_client()


def auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}", "X-Okr-Actor": "ana"}


def test_without_a_configured_token_no_bearer_is_accepted(engine: Engine) -> None:
    resp = client(engine, token=None).get("/api/tree", headers=auth())
    assert resp.status_code == 401


def test_wrong_or_missing_token_is_refused_without_echoing_it(engine: Engine) -> None:
    c = client(engine)
    assert c.get("/api/tree").status_code == 401
    resp = c.get("/api/tree", headers={"Authorization": "Bearer nope-not-it"})
    assert resp.status_code == 401 and "nope-not-it" not in resp.get_data(as_text=True)


def test_apply_dry_run_then_apply_then_tree_and_audit(engine: Engine) -> None:
    c = client(engine)
    body = EXAMPLE_OKRS.read_text()
    plan = c.post("/api/okrs?dry_run=1", data=body, headers=auth())
    assert plan.status_code == 200 and plan.json is not None
    assert plan.json["applied"] is False and any(
        ch["key"] == "SUP-1" for ch in plan.json["changes"]
    )
    assert c.get("/api/tree", headers=auth()).status_code == 404  # nothing stored yet
    done = c.post("/api/okrs", data=body, headers=auth())
    assert done.json is not None and done.json["applied"] is True
    again = c.post("/api/okrs", data=body, headers=auth())
    assert again.json == {"applied": False, "changes": [], "warnings": []}
    tree = c.get("/api/tree", headers=auth()).json
    assert tree is not None and [o["key"] for o in tree["objectives"]] == ["CO-1", "CO-2"]
    changed = body.replace("target: 5\n", "target: 4\n", 1)
    c.post("/api/okrs", data=changed, headers=auth())
    audit = c.get("/api/audit?limit=5", headers=auth()).json
    assert audit is not None
    assert audit[0]["actor"] == "ana (admin-token)"
    assert (audit[0]["old"], audit[0]["new"]) == ("5", "4")


def test_invalid_file_is_422_with_every_problem_and_changes_nothing(engine: Engine) -> None:
    c = client(engine)
    c.post("/api/okrs", data=EXAMPLE_OKRS.read_text(), headers=auth())
    broken = (
        EXAMPLE_OKRS.read_text()
        .replace("weight: 2\n", "weight: -2\n")
        .replace("kind: issue_count", "kind: nonsense", 1)
    )
    resp = c.post("/api/okrs", data=broken, headers=auth())
    assert resp.status_code == 422 and resp.json is not None
    fields = {p["field"] for p in resp.json["problems"]}
    assert any(f.endswith(".weight") for f in fields) and any(f.endswith(".kind") for f in fields)
    tree = c.get("/api/tree", headers=auth()).json
    assert tree is not None
    sup = tree["objectives"][0]["children"][0]["children"][1]
    assert sup["key_results"][1]["kind"] == "issue_count"


def test_checkin_of_a_manual_kr(engine: Engine) -> None:
    c = client(engine)
    c.post("/api/okrs", data=EXAMPLE_OKRS.read_text(), headers=auth())
    ok = c.post(
        "/api/checkins", json={"kr": "CO-1.1", "value": 51, "note": "survey"}, headers=auth()
    )
    assert ok.status_code == 201
    assert (
        c.post("/api/checkins", json={"kr": "SUP-1.2", "value": 3}, headers=auth()).status_code
        == 422
    )
    assert c.post("/api/checkins", json={"kr": "X", "value": 3}, headers=auth()).status_code == 404
    assert c.post("/api/checkins", data="nope", headers=auth()).status_code == 400
    tree = c.get("/api/tree", headers=auth()).json
    assert tree is not None and tree["objectives"][0]["key_results"][0]["current"] == 51


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ("? [[a]]\n: 1\n", "mapping key"),  # a list as a key
        ("[" * 1000 + "]" * 1000, "nested too deeply"),
        ('cycles: "a\x07b"\n', "U+0007"),  # a control character
        ("objectives: [\n", "YAML syntax error"),
    ],
)
def test_yaml_the_api_cannot_read_is_422_saying_where_and_changes_nothing(
    engine: Engine, body: str, where: str
) -> None:
    c = client(engine)
    assert c.post("/api/okrs", data=EXAMPLE_OKRS.read_text(), headers=auth()).status_code == 200
    resp = c.post("/api/okrs?prune=1", data=body, headers=auth())
    assert resp.status_code == 422 and resp.json is not None
    (problem,) = resp.json["problems"]
    assert where in problem["message"] and problem["line"] >= 1
    tree = c.get("/api/tree", headers=auth()).json
    assert tree is not None and [o["key"] for o in tree["objectives"]] == ["CO-1", "CO-2"]


def test_a_body_that_is_not_utf8_is_refused(engine: Engine) -> None:
    resp = client(engine).post("/api/okrs", data=b"cycles: \xff\xfe\n", headers=auth())
    assert resp.status_code == 400 and "UTF-8" in resp.get_data(as_text=True)


@pytest.mark.parametrize(
    "raw",
    [
        '{"kr": "CO-1.1", "value": 1e400}',
        '{"kr": "CO-1.1", "value": NaN}',
        '{"kr": "CO-1.1", "value": Infinity}',
        '{"kr": "CO-1.1", "value": -Infinity}',
        '{"kr": "CO-1.1", "value": ' + "9" * 400 + "}",
        '{"kr": "CO-1.1", "value": "51"}',
        '{"kr": "CO-1.1", "value": true}',
    ],
)
def test_a_check_in_that_is_not_a_finite_number_is_refused_naming_the_field(
    engine: Engine, raw: str
) -> None:
    c = client(engine)
    c.post("/api/okrs", data=EXAMPLE_OKRS.read_text(), headers=auth())
    resp = c.post("/api/checkins", data=raw, headers=auth() | {"Content-Type": "application/json"})
    assert resp.status_code == 422, resp.get_data(as_text=True)
    assert resp.json["field"] == "value"  # type: ignore[index]
    tree = c.get("/api/tree", headers=auth())
    json.loads(tree.get_data(as_text=True))  # still valid JSON: nothing non-finite stored
    assert tree.json["objectives"][0]["key_results"][0]["current"] is None  # type: ignore[index]


def test_the_cli_refuses_a_non_finite_check_in_in_one_line(db_env: str) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["apply", str(EXAMPLE_OKRS)]).exit_code == 0
    for value in ("nan", "inf", "1e400"):
        result = runner.invoke(main, ["checkin", "CO-1.1", value])
        assert result.exit_code == 1, result.output
        assert "finite number" in result.output and "Traceback" not in result.output


def test_api_answers_carry_no_sniffing_no_caching_and_no_long_echo(engine: Engine) -> None:
    c = client(engine)
    c.post("/api/okrs", data=EXAMPLE_OKRS.read_text(), headers=auth())
    long = "x" * 10_000
    resp = c.get(f"/api/tree?cycle={long}", headers=auth())
    assert resp.status_code == 404
    assert long not in resp.get_data(as_text=True) and len(resp.get_data()) < 1000
    for answer in (resp, c.get("/api/tree", headers=auth()), c.get("/healthz")):
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["Cache-Control"] == "no-store"


def test_lint_warnings_in_the_answer_and_health_over_the_api(engine: Engine) -> None:
    c = client(engine)
    one_kr = EXAMPLE_OKRS.read_text().replace(
        "      - {key: CO-2.2, title: Incidents resolved within 4 hours from 60% to 90%, kind: "
        'manual, start: 60, target: 90, unit: "%", indicator: leading}\n',
        "",
    )
    applied = c.post("/api/okrs", data=one_kr, headers=auth()).json
    assert applied is not None and applied["applied"] is True
    assert [(w["rule"], w["path"]) for w in applied["warnings"]] == [
        ("key_results_per_objective", "objectives[1].key_results"),
        ("indicator_balance", "objectives[1].key_results"),
    ]
    lowered = one_kr.replace("        target: 120\n", "        target: 80\n")
    assert c.post("/api/okrs", data=lowered, headers=auth()).json["applied"] is True  # type: ignore[index]

    health = c.get("/api/health?cycle=2026-Q4", headers=auth()).json
    assert health is not None and health["cycle"] == "2026-Q4"
    assert [(s["kind"], s["key_result"]) for s in health["signals"]] == [
        ("target_lowered", "PLAT-1.1")
    ]
    assert "120 -> 80 pts by ana (admin-token) on " in health["signals"][0]["detail"]
    tree = c.get("/api/tree", headers=auth()).json
    assert tree is not None
    eng = tree["objectives"][1]["children"][0]
    plat = next(child for child in eng["children"] if child["key"] == "PLAT-1")
    assert [s["kind"] for s in plat["key_results"][0]["signals"]] == ["target_lowered"]
    assert c.get("/api/health?cycle=nope", headers=auth()).status_code == 404
