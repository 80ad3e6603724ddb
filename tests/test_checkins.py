"""Team check-ins on objectives and key results: the CLI and the API, ranges refused naming the
field, history kept, shown in `tree --json` and on the objective page."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from okr_jira.cli import main
from okr_jira.storage.tables import CheckinRow
from tests.support.paths import EXAMPLE_OKRS
from tests.test_admin_api import auth, client


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def stored(engine: Engine) -> list[CheckinRow]:
    with Session(engine) as s:
        return list(s.exec(select(CheckinRow).order_by(col(CheckinRow.id))))


def test_a_team_checks_in_on_an_objective_and_a_manual_kr_with_negative_values(
    db_env: str, engine: Engine
) -> None:
    assert run("apply", str(EXAMPLE_OKRS)).exit_code == 0
    said = run("checkin", "SUP-1", "--confidence", "6", "--note", "refunds slipped a week",
               "--blockers", "waiting on payments team")  # fmt: skip
    assert said.exit_code == 0, said.output
    assert run("checkin", "CO-1.1", "-5", "--note", "detractors up").exit_code == 0
    assert run("checkin", "CO-1.1", "-1.5e1", "--confidence", "4").exit_code == 0
    assert run("checkin", "SUP-1", "--confidence", "5").exit_code == 0

    tree = json.loads(run("tree", "--json").output)
    sup = tree["objectives"][0]["children"][0]["children"][1]
    assert sup["key"] == "SUP-1"
    assert sup["checkins"]["latest"]["confidence"] == 5
    assert [p["confidence"] for p in sup["checkins"]["confidence"]] == [5]  # the day's last
    assert sup["checkins"]["due"] is False
    co1 = tree["objectives"][0]
    assert co1["key_results"][0]["current"] == -15  # the newest value counts
    assert co1["key_results"][0]["checkin"]["confidence"] == 4
    assert co1["checkins"]["due"] is False  # its KR's check-in counts for the week
    assert tree["objectives"][1]["checkins"] == {
        "latest": None, "confidence": [], "due": True, "retro": None,
    }  # fmt: skip
    history = stored(engine)
    assert [(r.objective, r.kr, r.value) for r in history] == [
        ("SUP-1", None, None), ("CO-1", "CO-1.1", -5.0), ("CO-1", "CO-1.1", -15.0),
        ("SUP-1", None, None),
    ]  # fmt: skip
    assert history[0].blockers == "waiting on payments team" and history[0].author


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("SUP-1", "--confidence", "11"), "confidence: must be a whole number from 0 to 10"),
        (("SUP-1", "--confidence", "-1"), "from 0 to 10 (got -1)"),
        (("SUP-1", "--confidence", "7.5"), "whole number from 0 to 10"),
        (("SUP-1", "--confidence", "nan"), "from 0 to 10 (got nan)"),
        (("CO-1.1", "nan"), "value: must be a finite number"),
        (("CO-1.1", "inf"), "value: must be a finite number"),
        (("CO-1.1", "-inf"), "value: must be a finite number"),
        (("CO-1.1", "1e400"), "(got 1e400)"),
        (("CO-1.1", "twelve"), "value: must be a finite number from -1e+12 to 1e+12"),
        (("SUP-1", "3"), "SUP-1 is an objective"),
        (("SUP-1.2", "3"), "comes from Jira"),
        (("SUP-1.2", "--retro", "x"), "a retrospective note is per objective"),
        (("SUP-1",), "nothing to check in"),
        (("NOPE-9", "--note", "x"), "does not exist"),
    ],
)
def test_out_of_range_or_misplaced_checkins_are_refused_with_the_range(
    db_env: str, engine: Engine, args: tuple[str, ...], message: str
) -> None:
    assert run("apply", str(EXAMPLE_OKRS)).exit_code == 0
    result = run("checkin", *args)
    assert result.exit_code == 1 and message in result.output, result.output
    assert stored(engine) == []


def test_a_misspelt_option_is_refused_by_name_not_taken_as_a_value(db_env: str) -> None:
    assert run("apply", str(EXAMPLE_OKRS)).exit_code == 0
    result = run("checkin", "CO-1.1", "--nte", "x")
    assert result.exit_code == 2 and "No such option '--nte'" in result.output


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('{"key": "SUP-1", "confidence": 11}', "confidence"),
        ('{"key": "SUP-1", "confidence": NaN}', "confidence"),
        ('{"key": "CO-1.1", "value": NaN}', "value"),
        ('{"key": "CO-1.1", "value": Infinity}', "value"),
        ('{"key": "CO-1.1", "value": 1e400}', "value"),
        ('{"key": "CO-1.1", "value": ' + "9" * 400 + "}", "value"),
        ('{"key": "CO-1.1", "value": "12"}', "value"),
        ('{"key": "CO-1.1", "value": true}', "value"),
        ('{"key": "SUP-1", "note": 5}', "note"),
        ('{"key": "SUP-1", "note": "' + "x" * 2001 + '"}', "note"),
        ('{"key": "SUP-1", "mood": "great"}', "mood"),
        ('{"confidence": 5}', "key"),
        ('{"key": "NOPE-1", "confidence": 5}', "key"),
    ],
)
def test_the_api_refuses_bad_checkins_with_4xx_naming_the_field(
    engine: Engine, body: str, field: str
) -> None:
    c = client(engine)
    c.post("/api/okrs", data=EXAMPLE_OKRS.read_text(), headers=auth())
    headers = auth() | {"Content-Type": "application/json"}
    resp = c.post("/api/checkins", data=body, headers=headers)
    assert 400 <= resp.status_code < 500, resp.get_data(as_text=True)
    assert resp.json is not None and resp.json["field"] == field
    assert stored(engine) == []


def test_the_api_records_a_checkin_and_the_page_shows_it(engine: Engine) -> None:
    c = client(engine)
    c.post("/api/okrs", data=EXAMPLE_OKRS.read_text(), headers=auth())
    ok = c.post("/api/checkins", headers=auth(), json={
        "key": "SUP-1", "confidence": 3, "note": "<b>refunds</b> slipped", "blockers": "payments",
    })  # fmt: skip
    assert ok.status_code == 201 and ok.json is not None
    assert ok.json["objective"] == "SUP-1" and ok.json["confidence"] == 3
    c.post("/api/checkins", headers=auth(), json={"kr": "CO-1.1", "value": -2.5})
    tree = c.get("/api/tree", headers=auth()).json
    assert tree is not None and tree["objectives"][0]["key_results"][0]["current"] == -2.5
    rows = stored(engine)
    assert rows[0].author == "ana (admin-token)"  # for the audit trail: who typed it, and how

    from okr_jira.publish.context import ContextOptions, build_context
    from okr_jira.render import render_objective_page
    from okr_jira.storage.db import session_scope
    from tests.support.builders import THRESHOLDS

    with session_scope(engine) as session:
        ctx, _ = build_context(session=session, cycle=None,
                               options=ContextOptions(thresholds=THRESHOLDS))  # fmt: skip
    node = next(n for n, _, _ in ctx.walk() if n.objective.key == "SUP-1")
    page = render_objective_page(ctx, node, None)
    assert "3/10" in page.body and "&lt;b&gt;refunds&lt;/b&gt; slipped" in page.body
    assert "Blockers: " in page.body and "payments" in page.body
    chart = page.attachments[0].data.decode()
    assert "confidence /10" in chart and "<rect" in chart


def test_a_closed_cycle_takes_only_retrospective_notes(db_env: str, engine: Engine) -> None:
    from okr_jira.storage.db import session_scope
    from okr_jira.storage.okrs import freeze_cycle

    assert run("apply", str(EXAMPLE_OKRS)).exit_code == 0
    with session_scope(engine) as session:
        freeze_cycle(session=session, key="2026-Q4", at=dt.datetime(2027, 1, 2, tzinfo=dt.UTC))
    refused = run("checkin", "SUP-1", "--confidence", "5")
    assert refused.exit_code == 1 and "is closed" in refused.output
    learned = run("checkin", "SUP-1", "--retro", "Smaller refunds first would have shipped")
    assert learned.exit_code == 0, learned.output
    assert stored(engine)[-1].retro == "Smaller refunds first would have shipped"


def test_the_upgrade_keeps_existing_kr_checkins_and_files_them_under_their_objective(
    database_url: str,
) -> None:
    from sqlalchemy import text

    from okr_jira.storage.db import make_engine, upgrade

    eng = make_engine(database_url)
    try:
        upgrade(eng, "0004")
        with eng.begin() as conn:
            conn.execute(text(
                "INSERT INTO key_result (key, objective, position, title, kind, weight, "
                "weight_by, in_progress_credit, default_weight, done_only) "
                "VALUES ('CO-1.1', 'CO-1', 0, 'NPS', 'manual', 1, 'count', 0, 1, false)"
            ))  # fmt: skip
            conn.execute(text(
                "INSERT INTO checkin (kr, value, note, author, created_at) "
                "VALUES ('CO-1.1', 51, 'survey', 'ana', '2026-11-02 09:00:00+00:00')"
            ))  # fmt: skip
        upgrade(eng)
        with Session(eng) as s:
            (row,) = s.exec(select(CheckinRow)).all()
        assert (row.objective, row.kr, row.value, row.note) == ("CO-1", "CO-1.1", 51.0, "survey")
    finally:
        eng.dispose()
