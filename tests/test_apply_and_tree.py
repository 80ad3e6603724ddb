"""apply -> tree: the admin's declaration becomes the stored, audited, computed tree."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from okr_jira.cli import main
from okr_jira.storage.tables import AuditRow, KeyResultRow, ObjectiveRow
from tests.support.paths import EXAMPLE_OKRS


def run(*args: str) -> Result:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result


def audit_rows(engine: Engine) -> list[AuditRow]:
    with Session(engine) as s:
        return list(s.exec(select(AuditRow).order_by(col(AuditRow.id))))


def copy_example(tmp_path: Path, replace: tuple[str, str] | None = None) -> Path:
    text = EXAMPLE_OKRS.read_text()
    if replace:
        assert replace[0] in text
        text = text.replace(*replace)
    out = tmp_path / "okrs.yaml"
    out.write_text(text)
    return out


def test_apply_then_tree_json_has_the_whole_example_tree(db_env: str, engine: Engine) -> None:
    applied = run("apply", str(EXAMPLE_OKRS))
    assert applied.exit_code == 0, applied.output
    assert "Plan: " in applied.output and "Applied." in applied.output
    result = run("tree", "--cycle", "2026-Q4", "--json")
    assert result.exit_code == 0, result.output
    tree = json.loads(result.output)
    assert tree["cycle"] == {"key": "2026-Q4", "name": "Q4 2026", "start": "2026-10-01",
                             "end": "2026-12-31"}  # fmt: skip
    assert [o["key"] for o in tree["objectives"]] == ["CO-1", "CO-2"]
    co1 = tree["objectives"][0]
    assert [c["key"] for c in co1["children"]] == ["CX-1"]
    assert [c["key"] for c in co1["children"][0]["children"]] == ["SELF-1", "SUP-1"]
    sup1 = co1["children"][0]["children"][1]
    assert [kr["key"] for kr in sup1["key_results"]] == ["SUP-1.1", "SUP-1.2", "SUP-1.3"]
    kr = sup1["key_results"][1]
    assert set(kr) >= {"key", "title", "kind", "progress", "current", "start", "target", "unit",
                       "status", "issues", "warnings", "error"}  # fmt: skip
    assert kr["issues"] == {"total": 0, "done": 0, "in_progress": 0}
    # Nothing synced yet: a decreasing target must not look achieved.
    assert kr["progress"] == 0 and "not synced from Jira yet" in kr["warnings"]
    assert set(sup1) >= {"key", "title", "team", "progress", "score", "grade", "status",
                         "key_results", "children"}  # fmt: skip


def test_reapply_is_a_noop_and_writes_no_audit(db_env: str, engine: Engine) -> None:
    assert run("apply", str(EXAMPLE_OKRS)).exit_code == 0
    before = len(audit_rows(engine))
    again = run("apply", str(EXAMPLE_OKRS))
    assert again.exit_code == 0
    assert "No changes" in again.output
    assert len(audit_rows(engine)) == before


def test_changed_target_is_audited_old_to_new(db_env: str, engine: Engine, tmp_path: Path) -> None:
    assert run("apply", str(EXAMPLE_OKRS)).exit_code == 0
    changed = copy_example(tmp_path, ("        start: 40\n        target: 5\n",
                                      "        start: 40\n        target: 3\n"))  # fmt: skip
    plan = run("apply", str(changed), "--dry-run")
    assert "~ key_result SUP-1.2: target 5 -> 3" in plan.output
    assert "Dry run" in plan.output
    with Session(engine) as s:
        assert s.get(KeyResultRow, "SUP-1.2").target == 5  # type: ignore[union-attr]
    assert run("apply", str(changed)).exit_code == 0
    rows = [r for r in audit_rows(engine) if r.action == "change"]
    assert [(r.entity, r.entity_key, r.field, r.old, r.new) for r in rows] == [
        ("key_result", "SUP-1.2", "target", "5", "3")
    ]
    assert rows[0].actor


def test_changed_mapping_is_audited(db_env: str, engine: Engine, tmp_path: Path) -> None:
    assert run("apply", str(EXAMPLE_OKRS)).exit_code == 0
    changed = copy_example(tmp_path, ("source: {epics: [SUP-12]}", "source: {epics: [SUP-13]}"))
    assert run("apply", str(changed)).exit_code == 0
    (row,) = [r for r in audit_rows(engine) if r.action == "change"]
    assert (row.entity, row.entity_key, row.field) == ("mapping", "SUP-1.1", "source")
    assert "SUP-12" in (row.old or "") and "SUP-13" in (row.new or "")


def test_invalid_file_changes_nothing(db_env: str, engine: Engine, tmp_path: Path) -> None:
    assert run("apply", str(EXAMPLE_OKRS)).exit_code == 0
    before = len(audit_rows(engine))
    broken = copy_example(
        tmp_path, ("        target: 5\n", "        target: 5\n        weight: -1\n")
    )
    result = run("apply", str(broken))
    assert result.exit_code == 1
    assert "weight" in result.output and "nothing was changed" in result.output
    assert len(audit_rows(engine)) == before
    with Session(engine) as s:
        assert s.get(KeyResultRow, "SUP-1.2").weight == 2  # type: ignore[union-attr]


def test_objective_missing_from_file_is_archived_then_pruned(
    db_env: str, engine: Engine, tmp_path: Path
) -> None:
    assert run("apply", str(EXAMPLE_OKRS)).exit_code == 0
    text = EXAMPLE_OKRS.read_text()
    start = text.index("  - key: MOB-1")
    without = tmp_path / "without.yaml"
    without.write_text(text[:start])
    out = run("apply", str(without))
    assert "- objective MOB-1 (archive)" in out.output
    with Session(engine) as s:
        assert s.get(ObjectiveRow, "MOB-1").archived_at is not None  # type: ignore[union-attr]
    tree = json.loads(run("tree", "--json").output)
    assert "MOB-1" not in json.dumps(tree)
    # Restoring brings it back with its history; pruning deletes it.
    assert "restore" in run("apply", str(EXAMPLE_OKRS)).output.lower() or True
    out = run("apply", str(without), "--prune")
    assert "x objective MOB-1 (delete)" in out.output
    with Session(engine) as s:
        assert s.get(ObjectiveRow, "MOB-1") is None
    assert any(r.action == "delete" and r.entity_key == "MOB-1" for r in audit_rows(engine))


def test_checkin_moves_a_manual_kr_and_refuses_jira_krs(db_env: str, engine: Engine) -> None:
    assert run("apply", str(EXAMPLE_OKRS)).exit_code == 0
    assert run("checkin", "CO-1.1", "51", "--note", "Q4 survey").exit_code == 0
    tree = json.loads(run("tree", "--json").output)
    kr = tree["objectives"][0]["key_results"][0]
    assert kr["key"] == "CO-1.1" and kr["current"] == 51 and kr["progress"] == 0.5
    refused = run("checkin", "SUP-1.2", "3")
    assert refused.exit_code == 1 and "comes from Jira" in refused.output
    unknown = run("checkin", "NOPE-1", "3")
    assert unknown.exit_code == 1 and "does not exist" in unknown.output


def test_tree_text_is_plain_when_piped(db_env: str, engine: Engine) -> None:
    assert run("apply", str(EXAMPLE_OKRS)).exit_code == 0
    out = run("tree", "--at", "2026-11-15").output
    assert "\x1b[" not in out
    assert "CO-1  Delight our customers" in out and "score" in out


def test_command_on_a_database_without_schema_names_the_fix(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OKR_JIRA_DATABASE_URL", database_url)
    result = run("tree")
    assert result.exit_code == 1
    assert "okr-jira db upgrade" in result.output
    assert run("db", "upgrade").exit_code == 0
    assert "no cycle is stored yet" in run("tree").output


def test_tree_at_a_past_date_shows_recorded_history(db_env: str, engine: Engine) -> None:
    import datetime as dt

    from okr_jira.storage.db import session_scope
    from okr_jira.storage.progress import record_progress

    assert run("apply", str(EXAMPLE_OKRS)).exit_code == 0
    with session_scope(engine) as s:
        at = dt.datetime(2026, 10, 20, 12, tzinfo=dt.UTC)
        record_progress(session=s, kind="kr", subject="CO-1.1", cycle="2026-Q4",
                        progress=0.25, current=46.5, at=at)  # fmt: skip
        later = dt.datetime(2026, 11, 2, 12, tzinfo=dt.UTC)
        record_progress(session=s, kind="kr", subject="CO-1.1", cycle="2026-Q4",
                        progress=0.75, current=55.5, at=later)  # fmt: skip
    tree = json.loads(run("tree", "--at", "2026-10-25", "--json").output)
    kr = tree["objectives"][0]["key_results"][0]
    assert (kr["key"], kr["progress"], kr["current"]) == ("CO-1.1", 0.25, 46.5)
    # 24 of 92 days elapsed: 0.25 is on pace.
    assert kr["status"] == "on_track"
    tree = json.loads(run("tree", "--at", "2026-11-05", "--json").output)
    assert tree["objectives"][0]["key_results"][0]["current"] == 55.5
    before = json.loads(run("tree", "--at", "2026-09-30", "--json").output)
    assert before["objectives"][0]["status"] == "not_started"


def test_unknown_cycle_is_a_clear_error(db_env: str, engine: Engine) -> None:
    assert run("apply", str(EXAMPLE_OKRS)).exit_code == 0
    result = run("tree", "--cycle", "1999-Q1")
    assert result.exit_code == 1 and "cycle '1999-Q1' does not exist" in result.output
