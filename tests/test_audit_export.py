"""`audit` lists who changed what; `export` writes a file that `apply` takes back as a no-op."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from click.testing import CliRunner, Result

from okr_jira.cli import main
from tests.support.paths import EXAMPLE_OKRS

MOB = "  - key: MOB-1\n"


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def applied(path: str, *extra: str) -> Result:
    result = run("apply", path, *extra)
    assert result.exit_code == 0, result.output
    return result


def test_audit_lists_changes_filtered_by_kr_objective_and_date(db_env: str, tmp_path: Path) -> None:
    applied(str(EXAMPLE_OKRS))
    text = EXAMPLE_OKRS.read_text()
    assert "        target: 5\n" in text
    applied(
        write(
            tmp_path, "changed.yaml", text.replace("        target: 5\n", "        target: 4\n", 1)
        )
    )

    kr = run("audit", "--kr", "SUP-1.2")
    assert kr.exit_code == 0, kr.output
    lines = kr.output.splitlines()
    assert lines[0].endswith("key_result SUP-1.2: target 5 -> 4")
    assert any(line.endswith("key_result SUP-1.2 (add)") for line in lines)
    assert all("SUP-1.2" in line for line in lines)

    objective = json.loads(run("audit", "--objective", "SUP-1", "--json").output)["entries"]
    keys = {e["key"] for e in objective}
    assert {"SUP-1", "SUP-1.1", "SUP-1.2", "SUP-1.3"} <= keys and "CO-1" not in keys

    tomorrow = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)).isoformat()
    assert run("audit", "--since", tomorrow).output == "No audit entries match.\n"
    yesterday = (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)).isoformat()
    recent = run("audit", "--since", yesterday, "--limit", "3").output.splitlines()
    assert len(recent) == 4 and recent[-1] == "(the newest 3; --limit shows more)"


def test_apply_of_the_export_is_a_no_op(db_env: str, tmp_path: Path) -> None:
    applied(str(EXAMPLE_OKRS))
    exported = write(tmp_path, "export.yaml", run("export").output)
    again = applied(exported, "--dry-run")
    assert again.output.startswith("No changes. Storage already matches the file.")


def test_after_an_archive_the_export_is_a_no_op_and_the_old_file_restores(
    db_env: str, tmp_path: Path
) -> None:
    applied(str(EXAMPLE_OKRS))
    text = EXAMPLE_OKRS.read_text()
    assert MOB in text
    archived = applied(write(tmp_path, "smaller.yaml", text.split(MOB)[0]))
    assert "- objective MOB-1 (archive)" in archived.output
    # The export leaves the archived objective out, so applying it keeps it archived: a no-op.
    exported = run("export").output
    assert "MOB-1" not in exported
    assert applied(write(tmp_path, "export.yaml", exported), "--dry-run").output.startswith(
        "No changes."
    )
    # The file from before the archive is not a no-op: it brings the objective back.
    restore = applied(str(EXAMPLE_OKRS), "--dry-run")
    assert "+ objective MOB-1 (restore)" in restore.output


def test_export_of_one_cycle_keeps_the_parents_it_aligns_to_and_says_what_it_leaves_out(
    db_env: str, tmp_path: Path
) -> None:
    text = EXAMPLE_OKRS.read_text().replace(
        "cycles:\n",
        "cycles:\n  - {key: 2027-Q1, name: Q1 2027, start: 2027-01-01, end: 2027-03-31}\n",
    ) + (
        "  - {key: NEXT-1, cycle: 2027-Q1, team: mobile, parent: MOB-1, cross_cycle: true,"
        " title: Keep the app crash-free}\n"
    )
    applied(write(tmp_path, "two.yaml", text))
    result = CliRunner().invoke(main, ["export", "--cycle", "2027-Q1"])
    assert result.exit_code == 0, result.output
    assert "objective(s) of other cycles left out" in result.stderr
    one = write(tmp_path, "one.yaml", result.stdout)
    valid = run("validate", one)
    assert valid.exit_code == 0, valid.output
    # NEXT-1 aligns to MOB-1, which aligns to ENG-1 and CO-2: the chain comes along, no more.
    objectives = result.stdout.split("\nobjectives:\n")[1]
    keys = [line[9:] for line in objectives.splitlines() if line.startswith("  - key: ")]
    assert keys == ["CO-2", "ENG-1", "MOB-1", "NEXT-1"]
    # Every cycle in one file: that one is the no-op.
    everything = applied(write(tmp_path, "all.yaml", run("export").output), "--dry-run")
    assert "No changes. Storage already matches the file." in everything.output


def test_export_of_an_unknown_cycle_names_the_cycles_there_are(db_env: str) -> None:
    applied(str(EXAMPLE_OKRS))
    result = run("export", "--cycle", "2031-Q1")
    assert result.exit_code == 1
    assert "no cycle '2031-Q1' (cycles: 2026-Q4)" in result.output
