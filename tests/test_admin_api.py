"""The admin API declares OKRs, records check-ins and reads the tree, behind a bearer token."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import Engine

from okr_jira.settings import load_settings
from tests.support.paths import EXAMPLE_OKRS
from webhooks import create_app

TOKEN = "admin-token-for-tests-123"


def client(engine: Engine, token: str | None = TOKEN) -> FlaskClient:
    settings = load_settings(None, database_url=str(engine.url), admin_token=token)
    return create_app(settings, engine=engine).test_client()


def auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}", "X-Okr-Actor": "ana"}


def test_without_a_configured_token_the_api_is_off(engine: Engine) -> None:
    resp = client(engine, token=None).get("/api/tree", headers=auth())
    assert resp.status_code == 404


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
    assert audit[0]["actor"] == "ana" and (audit[0]["old"], audit[0]["new"]) == ("5", "4")


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
    assert "120 -> 80 pts by ana on " in health["signals"][0]["detail"]
    tree = c.get("/api/tree", headers=auth()).json
    assert tree is not None
    eng = tree["objectives"][1]["children"][0]
    plat = next(child for child in eng["children"] if child["key"] == "PLAT-1")
    assert [s["kind"] for s in plat["key_results"][0]["signals"]] == ["target_lowered"]
    assert c.get("/api/health?cycle=nope", headers=auth()).status_code == 404
