"""The README's first screen stays true: its test command is what CI runs; settings do not drift."""

from __future__ import annotations

import re

from okr_jira.settings import reference_markdown
from tests.support.paths import ROOT

README = ROOT / "README.md"


def fenced_commands() -> list[str]:
    text = README.read_text()
    block = re.search(r"```bash\n(.*?)```", text, re.S)
    assert block, "README has no bash block on its first screen"
    return [line for line in block.group(1).splitlines() if line and not line.startswith("#")]


def test_readme_has_exactly_two_setup_commands_first() -> None:
    commands = fenced_commands()
    assert len(commands) == 2
    assert commands[0].endswith("okr-jira demo")
    first_screen = README.read_text().splitlines()[:25]
    assert any("okr-jira demo" in line for line in first_screen)


def test_ci_runs_the_readme_test_command() -> None:
    test_cmd = fenced_commands()[1].split("&&")[-1].strip()
    ci = (ROOT / ".ci" / "run").read_text()
    assert test_cmd in ci


def test_configuration_reference_matches_the_settings_code() -> None:
    text = README.read_text()
    block = text.split("<!-- settings-reference:start -->\n")[1].split("<!-- settings-reference")[0]
    assert block.strip() == reference_markdown().strip()


def layout_paths() -> list[str]:
    text = README.read_text()
    section = text.split("## Layout", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```\n(.*?)```", section, re.S)
    assert block, "README's Layout section has no tree"
    return [m.group(1) for m in re.finditer(r"^(\S+/\S*)\s", block.group(1), re.M)]


def test_readme_layout_names_every_package_and_nothing_that_is_gone() -> None:
    listed = layout_paths()
    missing = [path for path in listed if not (ROOT / path.split()[0]).exists()]
    assert missing == [], f"README's Layout names what does not exist: {missing}"
    packages = sorted(
        f"okr_jira/{p.parent.name}/" for p in (ROOT / "okr_jira").glob("*/__init__.py")
    )
    unlisted = [p for p in packages if p not in listed]
    assert unlisted == [], f"packages missing from README's Layout: {unlisted}"
