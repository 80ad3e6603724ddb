"""`okr-jira cycle rollover`: the next cycle's OKR file, which validate accepts and apply applies;
carried objectives keep their link to the old cycle. And the stored OKRs exported as a file."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result
from sqlalchemy import Engine

from okr_jira.cli import main
from okr_jira.okrs.export import export_okrs
from okr_jira.okrs.file import parse_okr_text
from okr_jira.okrs.plan import make_plan
from okr_jira.storage.db import session_scope
from okr_jira.storage.okrs import load_okrs
from tests.support.paths import EXAMPLE_OKRS


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_the_stored_okrs_exported_apply_as_no_change(engine: Engine, tmp_path: Path) -> None:
    from tests.test_notify import apply, okr_text

    apply(engine, tmp_path, okr_text())
    with session_scope(engine) as session:
        text = export_okrs(load_okrs(session=session))
        plan = make_plan(session, parse_okr_text(text, "exported.yaml"))
    assert plan.changes == [], plan.summary()
    assert "webhook_env: OKR_TEST_SLACK_ACME" in text


def test_rollover_validate_apply_round_trip_keeps_the_link_to_the_old_cycle(
    db_env: str, engine: Engine, tmp_path: Path
) -> None:
    assert run("apply", str(EXAMPLE_OKRS)).exit_code == 0
    # CO-2's own KR reaches its target; CO-2 is still unfinished (ENG-1 below it is not).
    assert run("checkin", "CO-2.1", "99.95").exit_code == 0
    assert run("checkin", "CO-1.1", "51", "--note", "survey").exit_code == 0
    out = tmp_path / "2027-q1.yaml"

    rolled = run("cycle", "rollover", "2026-Q4", "--to", "2027-Q1", "--name", "Q1 2027",
                 "--out", str(out))  # fmt: skip

    assert rolled.exit_code == 0, rolled.output
    assert "SUP-1 -> SUP-1-2027Q1" in rolled.output and "CO-2 -> CO-2-2027Q1" in rolled.output
    text = out.read_text()
    assert "{key: 2027-Q1, name: Q1 2027, start: 2027-01-01, end: 2027-03-31}" in text
    assert "target: tbd" in text
    assert "# CO-2.1 finished in 2026-Q4: not carried" in text
    valid = run("validate", str(out))
    assert valid.exit_code == 0, valid.output
    plan = run("apply", str(out), "--dry-run")
    assert "to archive" in plan.output and "0 to archive" in plan.output
    applied = run("apply", str(out))
    assert applied.exit_code == 0, applied.output
    again = run("apply", str(out)).output
    # The carried KRs' targets are still to be set ("tbd"): lint says so, and nothing changes.
    assert "No changes. Storage already matches the file." in again.splitlines()

    new = json.loads(run("tree", "--cycle", "2027-Q1", "--json").output)
    nodes = {n["key"]: n for n in _walk(new["objectives"])}
    assert set(nodes) == {
        "CO-1-2027Q1", "CO-2-2027Q1", "CX-1-2027Q1", "SUP-1-2027Q1", "SELF-1-2027Q1",
        "ENG-1-2027Q1", "PLAT-1-2027Q1", "MOB-1-2027Q1",
    }  # fmt: skip
    # Its finished KR (CO-2.1) stayed behind; the unfinished one comes along.
    carried = nodes["CO-2-2027Q1"]["key_results"]
    assert [(kr["key"], kr["carried_from"]) for kr in carried] == [("CO-2-2027Q1.2", "CO-2.2")]
    assert [c["key"] for c in nodes["CO-2-2027Q1"]["children"]] == ["ENG-1-2027Q1"]
    sup = nodes["SUP-1-2027Q1"]
    assert sup["carried_from"] == "SUP-1"
    assert nodes["CX-1-2027Q1"]["carried_from"] == "CX-1"
    krs = {kr["key"]: kr for kr in sup["key_results"]}
    bugs = krs["SUP-1-2027Q1.2"]
    assert bugs["carried_from"] == "SUP-1.2" and bugs["target"] is None
    nps = nodes["CO-1-2027Q1"]["key_results"][0]
    assert nps["start"] == 51 and nps["target"] is None  # starts where Q4 ended
    assert run("checkin", "CO-1-2027Q1.1", "53").exit_code == 0
    new = json.loads(run("tree", "--cycle", "2027-Q1", "--json").output)
    nps = new["objectives"][0]["key_results"][0]
    assert nps["progress"] == 0 and any("target to be set" in w for w in nps["warnings"])
    # The old cycle is untouched: nothing was archived, its tree is the same.
    old = json.loads(run("tree", "--cycle", "2026-Q4", "--json").output)
    assert {n["key"] for n in _walk(old["objectives"])} >= {"SUP-1", "CO-2", "CO-1"}

    # The team sets its targets: an audited change, and progress is measured again.
    out.write_text(text.replace("target: tbd  # to set: carried from SUP-1.2", "target: 2"))
    assert run("validate", str(out)).exit_code == 0
    assert "target (none) -> 2" in run("apply", str(out)).output


def test_a_tbd_target_is_only_for_metric_key_results(tmp_path: Path) -> None:
    text = (
        EXAMPLE_OKRS.read_text()
        .replace(
            "        kind: issues\n        weight_by: count",
            "        kind: issues\n        target: tbd\n        weight_by: count",
        )
        .replace("target: 5\n", "target: TBD\n")
    )
    path = tmp_path / "okrs.yaml"
    path.write_text(text)
    result = run("validate", str(path))
    assert result.exit_code == 1
    assert "key_results[0].target: an 'issues' key result takes no target" in result.output
    assert result.output.count("problem") == 1  # TBD on the issue_count KR is fine


def test_carried_from_must_point_to_another_cycle(tmp_path: Path) -> None:
    text = EXAMPLE_OKRS.read_text().replace(
        "    team: eng\n    parent: CO-2\n",
        "    team: eng\n    parent: CO-2\n    carried_from: CO-2\n",
    )
    path = tmp_path / "okrs.yaml"
    path.write_text(text)
    result = run("validate", str(path))
    assert result.exit_code == 1 and "is in the same cycle '2026-Q4'" in result.output


def _walk(nodes: list[dict]) -> list[dict]:  # type: ignore[type-arg]
    out = []
    for n in nodes:
        out.append(n)
        out.extend(_walk(n["children"]))
    return out
