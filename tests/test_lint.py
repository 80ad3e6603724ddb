"""`okr-jira lint`: each rule on a crafted file, its switch in the file, and the CLI's output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine

from okr_jira.cli import main
from okr_jira.domain.lint import RULE_IDS, LintConfig, lint_okrs
from okr_jira.errors import OkrFileError
from okr_jira.okrs.file import parse_okr_document
from okr_jira.okrs.lint import lint_document, lint_file
from tests.support.paths import EXAMPLE_OKRS

HEAD = """\
cycles:
  - {key: Q1, name: Q1 2027, start: 2027-01-01, end: 2027-03-31}
teams:
  - {key: acme, name: Acme}
  - {key: support, name: Support, parent: acme, jira_projects: [SUP]}
objectives:
  - key: CO-1
    cycle: Q1
    team: acme
    title: Customers stay
    key_results:
      - {key: CO-1.1, title: Churn from 5% to 3%, kind: manual, start: 5, target: 3, unit: "%", indicator: lagging}
      - {key: CO-1.2, title: Answered within 1 hour from 50% to 80%, kind: manual, start: 50, target: 80, unit: "%", indicator: leading}
"""  # noqa: E501


def objective(key: str, *, team: str = "support", parent: str | None = "CO-1",
              krs: list[str] | None = None) -> str:  # fmt: skip
    lines = [f"  - key: {key}", "    cycle: Q1", f"    team: {team}", f"    title: Objective {key}"]
    if parent:
        lines.append(f"    parent: {parent}")
    if krs is None:
        krs = [
            f"{{key: {key}.1, title: Tickets reopened down from 20 to 5, kind: issue_count, "
            "start: 20, target: 5, source: {labels: [reopened]}}",
            f"{{key: {key}.2, title: Refunds done, kind: issues, source: {{epics: [SUP-12]}}}}",
        ]
    lines.append("    key_results:" if krs else "    key_results: []")
    lines += [f"      - {kr}" for kr in krs]
    return "\n".join(lines) + "\n"


def lint(text: str) -> list[tuple[str, str, int]]:
    return [(p.rule, p.path, p.line) for p in lint_document(parse_okr_document(text, "t.yaml"))]


def test_the_shipped_example_lints_clean() -> None:
    assert lint_file(EXAMPLE_OKRS) == []


def test_a_clean_file_has_no_problem() -> None:
    assert lint(HEAD + objective("SUP-1")) == []


def test_more_than_five_objectives_for_one_team_in_a_cycle() -> None:
    text = HEAD + "".join(objective(f"SUP-{n}") for n in range(1, 7))
    assert lint(text) == [("objectives_per_team", "objectives[6]", 54)]


def test_fewer_than_two_or_more_than_five_key_results() -> None:
    one = objective("SUP-1", krs=["{key: SUP-1.1, title: Refunds done, kind: issues, "
                                  "source: {epics: [SUP-12]}}"])  # fmt: skip
    many = objective("SUP-2", krs=[
        f"{{key: SUP-2.{n}, title: Epic {n} done, kind: issues, source: {{epics: [SUP-{n}]}}}}"
        for n in range(1, 7)
    ])  # fmt: skip
    assert [r[:2] for r in lint(HEAD + one + many)] == [
        ("key_results_per_objective", "objectives[1].key_results"),
        ("key_results_per_objective", "objectives[2].key_results"),
    ]
    # An objective whose progress comes only from the objectives aligned to it may have none.
    rollup = objective("SUP-3", krs=[]).replace(
        "    key_results", "    rollup: children\n    key_results"
    )
    assert lint(HEAD + rollup) == []
    assert lint(HEAD + objective("SUP-3", krs=[]))[0][:2] == (
        "key_results_per_objective", "objectives[1]",
    )  # fmt: skip


def test_a_metric_without_a_unit_is_not_measurable() -> None:
    krs = [
        "{key: SUP-1.1, title: NPS from 30 to 50, kind: manual, start: 30, target: 50}",
        "{key: SUP-1.2, title: Bugs open from 30 to 5, kind: issue_count, start: 30, target: 5, "
        "source: {labels: [bug]}}",
    ]
    problems = lint_document(parse_okr_document(HEAD + objective("SUP-1", krs=krs), "t.yaml"))
    assert [(p.rule, p.path, p.line) for p in problems] == [
        ("metric_target", "objectives[1].key_results[0].target", 20),
    ]
    assert "gives no unit" in problems[0].message


def test_activity_titles_with_the_default_and_the_extended_verb_list() -> None:
    krs = [
        "{key: SUP-1.1, title: Launch the help center, kind: issues, source: {epics: [SUP-1]}}",
        "{key: SUP-1.2, title: Organising 3 workshops, kind: issues, source: {epics: [SUP-2]}}",
        "{key: SUP-1.3, title: Pilot the chatbot, kind: issues, source: {epics: [SUP-3]}}",
        "{key: SUP-1.4, title: 30% fewer tickets, kind: issues, source: {epics: [SUP-4]}}",
        "{key: SUP-1.5, title: Runbook coverage at 90%, kind: issues, source: {epics: [SUP-5]}}",
    ]
    text = HEAD + objective("SUP-1", krs=krs)
    assert lint(text) == [
        ("activity_title", "objectives[1].key_results[0].title", 20),
        ("activity_title", "objectives[1].key_results[1].title", 21),
    ]
    extended = text + "lint: {activity_verbs: [pilot]}\n"
    assert [r[0] for r in lint(extended)] == ["activity_title"] * 3


def test_a_team_objective_aligned_to_nothing() -> None:
    assert lint(HEAD + objective("SUP-1", parent=None)) == [
        ("unaligned_objective", "objectives[1]", 14)
    ]


def test_only_lagging_or_only_leading_key_results_when_every_kr_says() -> None:
    krs = [
        "{key: SUP-1.1, title: CSAT from 70 to 80, kind: manual, start: 70, target: 80, "
        "unit: pts, indicator: lagging}",
        "{key: SUP-1.2, title: NPS from 30 to 50, kind: manual, start: 30, target: 50, "
        "unit: pts, indicator: lagging}",
    ]
    assert lint(HEAD + objective("SUP-1", krs=krs)) == [
        ("indicator_balance", "objectives[1].key_results", 19)
    ]
    krs[1] = krs[1].replace(", indicator: lagging", "")
    assert lint(HEAD + objective("SUP-1", krs=krs)) == []  # not every KR says


def test_a_rule_is_switched_off_or_made_an_error_in_the_file() -> None:
    text = HEAD + objective("SUP-1", parent=None)
    assert lint(text + "lint: {unaligned_objective: off}\n") == []
    document = parse_okr_document(text + "lint:\n  unaligned_objective: error\n", "t.yaml")
    (problem,) = lint_document(document)
    assert (problem.rule, problem.severity) == ("unaligned_objective", "error")
    assert lint_okrs(document.okrs, LintConfig({r: "off" for r in RULE_IDS})) == []


def test_an_unknown_rule_or_setting_is_a_validation_error() -> None:
    text = HEAD + objective("SUP-1") + "lint:\n  unaligned_objectiv: off\n  activity_title: loud\n"
    with pytest.raises(OkrFileError) as raised:
        parse_okr_document(text, "t.yaml")
    assert [str(p) for p in raised.value.problems] == [
        "t.yaml:23:3: lint.unaligned_objectiv: unknown field (did you mean 'unaligned_objective'?)",
        "t.yaml:24:19: lint.activity_title: must be one of off, warning, error",
    ]


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "okrs.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_lint_json_lists_problems_and_exits_0_for_warnings(tmp_path: Path) -> None:
    file = write(tmp_path, HEAD + objective("SUP-1", parent=None))
    result = run("lint", file, "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {
        "problems": [
            {
                "rule": "unaligned_objective",
                "severity": "warning",
                "path": "objectives[1]",
                "line": 14,
                "message": "objective 'SUP-1' of team 'support' is aligned to nothing: set "
                "parent: to the objective of the parent team it serves",
            }
        ]
    }
    text = run("lint", file)
    assert f"{file}:14: warning: objective 'SUP-1'" in text.stdout
    assert "[unaligned_objective] (objectives[1])" in text.stdout
    assert run("lint", str(EXAMPLE_OKRS)).stdout.endswith("no lint problems\n")


def test_lint_exits_1_for_an_error_and_for_an_invalid_file(tmp_path: Path) -> None:
    file = write(
        tmp_path, HEAD + objective("SUP-1", parent=None) + "lint: {unaligned_objective: error}\n"
    )
    assert run("lint", file).exit_code == 1
    broken = write(tmp_path, HEAD + objective("SUP-1").replace("team: support", "team: nobody"))
    result = run("lint", broken, "--json")
    assert result.exit_code == 1
    (problem,) = json.loads(result.stdout)["problems"]
    assert problem == {"rule": "invalid", "severity": "error", "path": "objectives[1].team",
                       "line": 16, "message": "team 'nobody' does not exist"}  # fmt: skip


def test_validate_and_apply_show_lint_findings_as_warnings(
    tmp_path: Path, db_env: str, engine: Engine
) -> None:
    file = write(tmp_path, HEAD + objective("SUP-1", parent=None))
    validated = run("validate", file)
    assert validated.exit_code == 0
    assert "valid (1 cycle(s)" in validated.stdout and "aligned to nothing" not in validated.stdout
    assert f"{file}:14: warning: objective 'SUP-1'" in validated.stderr
    applied = run("apply", file)
    assert applied.exit_code == 0 and "Applied." in applied.stdout
    assert "[unaligned_objective]" in applied.stderr
