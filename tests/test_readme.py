"""The README's first screen stays true: its test command is what CI runs."""

from __future__ import annotations

import re

from tests.conftest import ROOT


def fenced_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    block = re.search(r"```bash\n(.*?)```", text, re.S)
    assert block, "README has no bash block on its first screen"
    return [line for line in block.group(1).splitlines() if line and not line.startswith("#")]


def test_readme_has_exactly_two_setup_commands() -> None:
    assert len(fenced_commands()) == 2


def test_ci_runs_the_readme_test_command() -> None:
    test_cmd = fenced_commands()[1].split("&&")[-1].strip()
    ci = (ROOT / ".ci" / "run").read_text()
    assert test_cmd in ci
