"""validate finds what a first-time admin gets wrong: JQL that Jira would refuse (pointed at inside
the string), an empty file, a duplicate key beside every other problem; apply asks before it
archives every objective, from the CLI, the admin API and the OKR-file job alike."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from okr_jira.cli import main
from okr_jira.runtime import jobs
from okr_jira.runtime.wiring import Wiring
from okr_jira.settings import load_settings
from okr_jira.storage.tables import ObjectiveRow
from tests.support.paths import EXAMPLE_OKRS, SESSION_SECRET
from webhooks import create_app

HEAD = """\
cycles:
  - {key: Q1, name: Q1, start: 2026-01-01, end: 2026-03-31}
teams:
  - {key: sup, name: Support, jira_projects: [SUP]}
objectives:
  - key: O-1
    cycle: Q1
    team: sup
    title: Answer faster
    key_results:
"""


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def validate(tmp_path: Path, text: str) -> tuple[int, list[str]]:
    path = tmp_path / "okrs.yaml"
    path.write_text(text)
    result = run("validate", str(path))
    lines = [line.replace(str(path), "F") for line in result.output.splitlines()]
    return result.exit_code, lines


def kr(jql_lines: str, key: str = "O-1.1") -> str:
    return (
        f"      - key: {key}\n        title: Close them\n        kind: issues\n"
        f"        source:\n{jql_lines}"
    )


def column_of(line: str, text: str, needle: str, nth: int = 1) -> int:
    """1-based column of the nth `needle` in the file line `line` (1-based)."""
    row = text.split("\n")[line - 1]
    at = -1
    for _ in range(nth):
        at = row.index(needle, at + 1)
    return at + 1


def test_a_jql_syntax_error_in_a_plain_string_points_at_the_bad_token(tmp_path: Path) -> None:
    text = HEAD + kr("          jql: project = = SUP AND\n")
    code, out = validate(tmp_path, text)
    assert code == 1
    line = len(HEAD.splitlines()) + 5
    col = column_of(line, text, "=", nth=2)
    assert out[0] == (
        f"F:{line}:{col}: objectives[0].key_results[0].source.jql: JQL syntax error: Expecting "
        "either a value, list or function but got '='. You must surround '=' in quotation "
        "marks to use it as a value."
    )


def test_a_jql_error_in_a_quoted_string_counts_from_inside_the_quotes(tmp_path: Path) -> None:
    text = HEAD + kr('          jql: "project = SUP AND status = = Done"\n')
    _, out = validate(tmp_path, text)
    line = len(HEAD.splitlines()) + 5
    assert out[0].startswith(f"F:{line}:{column_of(line, text, '= Done')}: ")


def test_a_jql_error_in_a_block_scalar_is_on_its_own_line(tmp_path: Path) -> None:
    text = HEAD + kr(
        '          jql: |\n            project = SUP\n              AND status in (Done, "Closed)\n'
    )
    _, out = validate(tmp_path, text)
    line = len(HEAD.splitlines()) + 7
    col = column_of(line, text, '"Closed')
    assert out[0].startswith(f"F:{line}:{col}: ")
    assert "The quoted string 'Closed)' has not been completed." in out[0]


def test_a_jql_error_in_a_folded_scalar_is_on_its_own_line(tmp_path: Path) -> None:
    text = HEAD + kr("          jql: >-\n            project = SUP AND\n            labels = = x\n")
    _, out = validate(tmp_path, text)
    line = len(HEAD.splitlines()) + 7
    assert out[0].startswith(f"F:{line}:{column_of(line, text, '=', nth=2)}: ")


def test_a_query_cut_short_points_at_its_last_character_never_past_it(tmp_path: Path) -> None:
    text = HEAD + kr("          jql: project = SUP AND   \n")
    _, out = validate(tmp_path, text)
    line = len(HEAD.splitlines()) + 5
    assert out[0].startswith(f"F:{line}:{column_of(line, text, 'AND') + 2}: ")
    assert "Expecting a field name before the end of the query." in out[0]


def test_a_field_this_parser_does_not_know_is_left_to_jira(tmp_path: Path) -> None:
    code, out = validate(tmp_path, HEAD + kr('          jql: project = SUP AND "Team[Team]" = 7\n'))
    assert code == 0, out


def test_an_empty_file_is_an_error(tmp_path: Path) -> None:
    code, out = validate(tmp_path, "")
    assert code == 1
    assert out[0].startswith("F:1:1: the file is empty")


def test_a_file_without_objectives_is_an_error(tmp_path: Path) -> None:
    code, out = validate(tmp_path, HEAD.split("objectives:")[0] + "objectives: []\n")
    assert code == 1
    assert any("objectives: the file declares no objectives" in line for line in out)


def test_a_duplicate_key_is_reported_with_every_other_problem(tmp_path: Path) -> None:
    text = HEAD.replace("title: Answer faster", "title: Answer faster\n    title: Again") + kr(
        "          jql: project = = SUP\n"
    ).replace("kind: issues", "kind: issuez")
    code, out = validate(tmp_path, text)
    assert code == 1
    joined = "\n".join(out)
    assert "F:10:5: objectives[0].title: duplicate key 'title' (first at line 9)" in joined
    assert "kind: must be one of" in joined
    assert "JQL syntax error" in joined
    assert "3 problem(s) found" in joined


def without_objectives_but(keep: str) -> str:
    """The example file, its objectives replaced by one new objective."""
    text = EXAMPLE_OKRS.read_text()
    head = text.split("\nobjectives:")[0]
    return head + (
        "\nobjectives:\n"
        f"  - {{key: {keep}, cycle: 2026-Q4, team: acme, title: Something else entirely}}\n"
    )


def live_objectives(engine: Engine) -> list[str]:
    with Session(engine) as s:
        rows = s.exec(select(ObjectiveRow).where(col(ObjectiveRow.archived_at).is_(None)))
        return sorted(r.key for r in rows)


def test_apply_that_archives_every_objective_asks_for_yes(
    db_env: str, engine: Engine, tmp_path: Path
) -> None:
    assert run("apply", str(EXAMPLE_OKRS)).exit_code == 0
    before = live_objectives(engine)
    other = tmp_path / "other.yaml"
    other.write_text(without_objectives_but("NEW-1"))
    refused = run("apply", str(other))
    assert refused.exit_code == 1
    assert f"would archive every objective ({len(before)})" in refused.output
    assert "--yes" in refused.output and "nothing was changed" in refused.output
    assert live_objectives(engine) == before
    # A dry run shows the plan and needs no confirmation.
    dry = run("apply", str(other), "--dry-run")
    assert dry.exit_code == 0 and "applying it needs --yes" in dry.output
    done = run("apply", str(other), "--yes")
    assert done.exit_code == 0, done.output
    assert live_objectives(engine) == ["NEW-1"]


def test_apply_that_keeps_one_objective_needs_no_confirmation(
    db_env: str, engine: Engine, tmp_path: Path
) -> None:
    assert run("apply", str(EXAMPLE_OKRS)).exit_code == 0
    smaller = tmp_path / "smaller.yaml"
    smaller.write_text(without_objectives_but("CO-1"))
    result = run("apply", str(smaller))
    assert result.exit_code == 0, result.output
    assert live_objectives(engine) == ["CO-1"]


def test_admin_api_answers_409_until_the_apply_is_confirmed(engine: Engine) -> None:
    settings = load_settings(
        None, database_url=str(engine.url), admin_token="admin-token-for-tests-123",
        webhook_secret="webhook-secret-for-tests", session_secret=SESSION_SECRET,
    )  # fmt: skip
    c = create_app(settings, engine=engine).test_client()
    headers = {"Authorization": "Bearer admin-token-for-tests-123"}
    assert c.post("/api/okrs", data=EXAMPLE_OKRS.read_text(), headers=headers).status_code == 200
    before = live_objectives(engine)
    body = without_objectives_but("NEW-1")
    refused = c.post("/api/okrs", data=body, headers=headers)
    assert refused.status_code == 409 and refused.json is not None
    assert "?yes=1" in refused.get_data(as_text=True)
    assert live_objectives(engine) == before
    assert c.post("/api/okrs?dry_run=1", data=body, headers=headers).status_code == 200
    done = c.post("/api/okrs?yes=1", data=body, headers=headers)
    assert done.status_code == 200 and done.json is not None and done.json["applied"] is True
    assert live_objectives(engine) == ["NEW-1"]


def test_okr_file_job_refuses_to_archive_every_objective_and_logs_why(
    engine: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    okr_file = tmp_path / "okrs.yaml"
    okr_file.write_text(EXAMPLE_OKRS.read_text())
    settings = load_settings(None, database_url=str(engine.url), okr_file=str(okr_file))
    wiring = Wiring(settings, engine, clock=lambda: dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC))
    assert jobs.apply_okr_file(wiring) is True
    before = live_objectives(engine)
    okr_file.write_text(without_objectives_but("NEW-1"))
    with caplog.at_level("ERROR", logger="okr_jira.runtime.jobs"):
        assert jobs.apply_okr_file(wiring) is False
    (record,) = [r for r in caplog.records if r.getMessage() == "okrfile.refused"]
    assert "archive every objective" in record.reason  # type: ignore[attr-defined]
    assert live_objectives(engine) == before


@pytest.mark.parametrize(
    "jql",
    [
        "status changed to Done during (startOfWeek(), now())",
        'status was not Done before "2026-01-01"',
        "status CHANGED AFTER -1w",
        'assignee in membersOf("jira-users") AND sprint in openSprints()',
    ],
)
def test_history_predicates_and_unknown_functions_are_left_to_jira(
    tmp_path: Path, jql: str
) -> None:
    code, out = validate(tmp_path, HEAD + kr(f"          jql: '{jql}'\n"))
    assert code == 0, out
