"""The OKR file is validated like code: every problem at once, each with file:line:column."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from okr_jira.cli import main
from okr_jira.errors import OkrFileError
from okr_jira.okrs.file import load_okr_file, parse_okr_text
from tests.support.paths import EXAMPLE_OKRS

HEADER = """\
cycles:
  - {key: 2026-Q4, name: Q4 2026, start: 2026-10-01, end: 2026-12-31}
  - {key: 2027-Q1, name: Q1 2027, start: 2027-01-01, end: 2027-03-31}
teams:
  - {key: acme, name: Acme}
  - {key: support, name: Support, parent: acme, jira_projects: [SUP]}
objectives:
"""


def problems(body: str) -> list[str]:
    with pytest.raises(OkrFileError) as info:
        parse_okr_text(HEADER + textwrap.dedent(body), "okrs.yaml")
    return [str(p) for p in info.value.problems]


def test_example_file_is_valid_and_uses_every_kind_and_selector() -> None:
    okrs = load_okr_file(EXAMPLE_OKRS)
    krs = [kr for o in okrs.objectives for kr in o.key_results]
    assert {kr.kind for kr in krs} == {"issues", "issue_count", "field_sum", "manual"}
    used = set()
    for kr in krs:
        if kr.source:
            used |= {name for name in ("jql", "projects", "epics", "issues", "labels", "components",
                                       "issue_types", "fix_versions", "include", "exclude")
                     if getattr(kr.source, name)}  # fmt: skip
    assert used == {"jql", "projects", "epics", "issues", "labels", "components", "issue_types",
                    "fix_versions", "include", "exclude"}  # fmt: skip
    assert {t.key for t in okrs.teams if t.parent is None} == {"acme"}
    assert {kr.weight_by for kr in krs if kr.kind == "issues"} == {
        "count",
        "story_points",
        "estimate",
    }


def test_valid_file_parses_into_domain_values() -> None:
    okrs = parse_okr_text(
        HEADER
        + textwrap.dedent("""\
          - key: SUP-1
            cycle: 2026-Q4
            team: support
            title: Faster answers
            key_results:
              - key: SUP-1.2
                title: Cut open P1 bugs from 40 to 5
                kind: issue_count
                start: 40
                target: 5
                weight: 2
                source: {jql: 'project = SUP', include: [sup-9]}
        """)
    )
    kr = okrs.objectives[0].key_results[0]
    assert (kr.start, kr.target, kr.weight) == (40.0, 5.0, 2.0)
    assert kr.source is not None and kr.source.include == ("SUP-9",)


def test_yaml_syntax_error_names_line_and_column() -> None:
    out = problems("""\
      - key: X-1
        title: [unclosed
    """)
    assert len(out) == 1
    assert out[0].startswith("okrs.yaml:10:")
    assert "YAML syntax error" in out[0] and "at line 9" in out[0]


def test_duplicate_mapping_key_in_yaml_is_reported() -> None:
    out = problems("""\
      - key: X-1
        key: X-2
        cycle: 2026-Q4
        team: acme
        title: t
    """)
    assert out[0].startswith("okrs.yaml:9:")
    assert "duplicate" in out[0]


def test_every_problem_is_reported_at_once_with_location_and_field() -> None:
    out = problems("""\
      - key: A-1
        cycle: 2026-Q9
        team: nobody
        title: Unknown cycle and team
        colour: red
        key_results:
          - {key: A-1.1, title: No target, kind: issue_count, source: {projects: [SUP]}}
          - {key: A-1.2, title: Same, kind: manual, start: 5, target: 5}
          - {key: A-1.3, title: Heavy, kind: manual, target: 1, weight: 0}
          - {key: A-1.4, title: C, kind: issues, in_progress_credit: 1.5, source: {labels: [x]}}
          - {key: A-1.5, title: Empty source, kind: issues, source: {}}
          - {key: A-1.6, title: Empty JQL, kind: issues, source: {jql: '  '}}
          - {key: A-1.6, title: Dup, kind: manual, target: 3}
          - {key: A-1.7, title: Bad kind, kind: vibes}
      - key: A-2
        cycle: 2026-Q4
        team: acme
        parent: A-404
        title: Unknown parent
      - key: A-1
        cycle: 2026-Q4
        team: acme
        title: Duplicate objective
    """)
    text = "\n".join(out)
    expected = [
        ("okrs.yaml:9:10: objectives[0].cycle", "cycle '2026-Q9' does not exist"),
        ("okrs.yaml:10:9: objectives[0].team", "team 'nobody' does not exist"),
        ("okrs.yaml:12:3: objectives[0].colour", "unknown field"),
        ("objectives[0].key_results[0].target", "needs a target"),
        ("objectives[0].key_results[1].target", "target must differ from start"),
        ("objectives[0].key_results[2].weight", "must be greater than 0"),
        ("objectives[0].key_results[3].in_progress_credit", "between 0 and 1"),
        ("objectives[0].key_results[4].source", "no selector"),
        ("objectives[0].key_results[5].source.jql", "JQL must not be empty"),
        ("objectives[0].key_results[6].key", "duplicate key result key 'A-1.6'"),
        ("objectives[0].key_results[7].kind", "must be one of"),
        ("objectives[1].parent", "objective 'A-404' does not exist"),
        ("objectives[2].key", "duplicate objective key 'A-1'"),
    ]
    for where, what in expected:
        assert any(where in line and what in line for line in out), (where, what, text)
    assert all(line.startswith("okrs.yaml:") for line in out)


def test_parent_cycle_is_reported() -> None:
    out = problems("""\
      - {key: A, cycle: 2026-Q4, team: acme, title: a, parent: C}
      - {key: B, cycle: 2026-Q4, team: acme, title: b, parent: A}
      - {key: C, cycle: 2026-Q4, team: acme, title: c, parent: B}
    """)
    assert len(out) == 1
    assert "parent chain forms a cycle: A -> C -> B -> A" in out[0]


def test_alignment_across_cycles_must_be_declared() -> None:
    body = """\
      - {key: A, cycle: 2026-Q4, team: acme, title: a}
      - {key: B, cycle: 2027-Q1, team: acme, title: b, parent: A}
    """
    out = problems(body)
    assert "objectives[1].parent" in out[0] and "cross_cycle: true" in out[0]
    declared = body.replace("parent: A}", "parent: A, cross_cycle: true}")
    parse_okr_text(HEADER + textwrap.dedent(declared))


def test_metric_kr_needs_a_field_for_field_sum_and_a_source() -> None:
    out = problems("""\
      - key: A
        cycle: 2026-Q4
        team: acme
        title: a
        key_results:
          - {key: A.1, title: t, kind: field_sum, target: 10}
    """)
    assert any("key_results[0].source" in p and "needs a source" in p for p in out)
    assert any("key_results[0].field" in p and "needs a field" in p for p in out)


def test_validate_command_exit_codes(tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(main, ["validate", str(EXAMPLE_OKRS)])
    assert ok.exit_code == 0, ok.output
    assert "valid" in ok.output
    bad = tmp_path / "bad.yaml"
    bad.write_text(HEADER + "  - {key: A, cycle: nope, team: acme, title: t}\n")
    result = runner.invoke(main, ["validate", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:8:" in result.output and "cycle 'nope' does not exist" in result.output
    missing = runner.invoke(main, ["validate", str(tmp_path / "missing.yaml")])
    assert missing.exit_code == 1 and "cannot read file" in missing.output
