"""`okr-jira --help` an admin can read without the source: whole descriptions, options that say
what they do, and a check-in that takes a negative value."""

from __future__ import annotations

import json

import click
import pytest
from click.testing import CliRunner, Result

from okr_jira.cli import main
from tests.support.paths import EXAMPLE_OKRS


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def groups(group: click.Group, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = [path]
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            out += groups(command, (*path, name))
    return out


def command_lines(help_text: str) -> list[str]:
    return help_text.split("\nCommands:\n", 1)[1].splitlines()


@pytest.mark.parametrize("path", groups(main), ids=lambda p: " ".join(p) or "okr-jira")
def test_every_command_in_help_has_its_whole_first_sentence(path: tuple[str, ...]) -> None:
    result = run(*path, "--help")
    assert result.exit_code == 0
    listing = command_lines(result.output)
    assert listing and not any("..." in line for line in listing), result.output
    group = main
    for name in path:
        group = group.commands[name]  # type: ignore[assignment]
    # Wrapped or not, each description ends its sentence.
    text = " ".join(line.strip() for line in listing)
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        assert command.short_help and command.short_help.rstrip().endswith((".", ")")), name
        assert " ".join(command.short_help.split()) in text, name


def test_tree_at_says_it_reads_the_history() -> None:
    result = run("tree", "--help")
    assert "--at DATE" in result.output
    assert "history" in " ".join(result.output.split())


def test_a_negative_check_in_value_is_a_value_not_an_option(db_env: str) -> None:
    assert run("apply", str(EXAMPLE_OKRS)).exit_code == 0
    result = run("checkin", "CO-1.1", "-5")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "CO-1.1: checked in value -5"
    tree = json.loads(run("tree", "--json").output)
    co1 = tree["objectives"][0]["key_results"][0]
    assert co1["key"] == "CO-1.1" and co1["current"] == -5
    refused = CliRunner().invoke(main, ["checkin", "CO-1.1", "--bogus", "1"])
    assert refused.exit_code == 2 and "No such option '--bogus'" in refused.output


def test_messages_say_an_issues_key_result(tmp_path: object) -> None:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    path = tmp_path / "okrs.yaml"
    path.write_text(
        "cycles: [{key: Q1, name: Q1, start: 2026-01-01, end: 2026-03-31}]\n"
        "teams: [{key: t, name: T}]\n"
        "objectives:\n"
        "  - key: O-1\n    cycle: Q1\n    team: t\n    title: Ship\n    key_results:\n"
        "      - {key: O-1.1, title: Close them, kind: issues}\n"
        "      - {key: O-1.2, title: Count them, kind: issue_count, target: 3}\n"
    )
    out = run("validate", str(path)).output
    assert "an 'issues' key result needs a source" in out
    assert "an 'issue_count' key result needs a source" in out
    assert "a issues" not in out
