"""Digests rendered for each channel stay within the services' documented limits, escape what
teams typed, and link each line to its page; the OKR file names channels, never their URLs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from okr_jira.domain.digest import Line, Message, Section
from okr_jira.errors import OkrFileError
from okr_jira.okrs.file import parse_okr_text
from okr_jira.render.digest import (
    SLACK_MAX_BLOCKS,
    TEAMS_MAX_BYTES,
    email_payload,
    message_text,
    slack_payload,
    teams_payload,
)
from tests.support.paths import EXAMPLE_OKRS


def message(lines: int, text: str = "KR moved", sections: int = 5) -> Message:
    return Message(
        kind="digest", subject="tree", period="2026-W47", title="OKR digest " + "x" * 200,
        intro="Q4 2026: 50% elapsed.",
        sections=tuple(
            Section(f"Section {s}", tuple(
                Line(f"{text} {s}.{i} " + "y" * 120, f"https://wiki.example/pages/{s}{i}")
                for i in range(lines)
            ))
            for s in range(sections)
        ),
        url="https://wiki.example/pages/root",
    )  # fmt: skip


def test_a_huge_digest_fits_slack_blocks_and_text_limits() -> None:
    payload = slack_payload(message(400, sections=12))
    blocks = payload["blocks"]
    assert len(blocks) <= SLACK_MAX_BLOCKS
    assert len(blocks[0]["text"]["text"]) <= 150 and blocks[0]["type"] == "header"
    assert all(len(b["text"]["text"]) <= 3000 for b in blocks if b["type"] == "section")
    assert "… and 375 more" in json.dumps(payload, ensure_ascii=False)
    assert len(payload["text"]) <= 3000


def test_a_huge_digest_fits_a_teams_card() -> None:
    payload = teams_payload(message(400, sections=12))
    assert len(json.dumps(payload).encode()) <= TEAMS_MAX_BYTES
    card = payload["attachments"][0]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert card["contentUrl"] is None and card["content"]["version"] == "1.4"
    assert "more" in json.dumps(payload)


def test_team_text_is_escaped_for_every_channel_and_lines_link_to_pages() -> None:
    sneaky = "<!channel> *bold* [x](http://evil) & <script>"
    m = message(1, text=sneaky, sections=1)
    slack = json.dumps(slack_payload(m))
    assert "<!channel>" not in slack and "&lt;!channel&gt;" in slack
    assert "<https://wiki.example/pages/00|" in slack
    teams = json.dumps(teams_payload(m))
    assert "\\\\[x\\\\](http://evil)" in teams and "(https://wiki.example/pages/00)" in teams
    mail = email_payload(m, ("a@acme.example",))
    assert "&lt;script&gt;" in mail["html"] and "<script>" not in mail["html"]
    assert '<a href="https://wiki.example/pages/00">' in mail["html"]
    assert "https://wiki.example/pages/00" in mail["text"] == message_text(m)


def team_notify(notify: str) -> str:
    return EXAMPLE_OKRS.read_text().replace(
        "  - {key: support, name: Support, parent: cx, jira_projects: [SUP]}",
        f"  - key: support\n    name: Support\n    notify: {notify}",
    )


@pytest.mark.parametrize(
    ("notify", "field", "message"),
    [
        ("{slack: 'https://hooks.slack.com/services/T/B/X'}", "teams[2].notify.slack",
         "a webhook URL is a secret and never goes in the OKR file"),
        ("{slack: {webhook_env: 'https://hooks.slack.com/x'}}",
         "teams[2].notify.slack.webhook_env", "a webhook URL is a secret"),
        ("{teams: {webhook_env: 'not a name'}}", "teams[2].notify.teams.webhook_env",
         "must be the name of an environment variable"),
        ("{teams: {url: X}}", "teams[2].notify.teams.url", "unknown field"),
        ("{email: [ops@acme.example, not-an-address]}", "teams[2].notify.email[1]",
         "must be an e-mail address"),
        ("{sms: {webhook_env: X}}", "teams[2].notify.sms", "unknown field"),
    ],
)  # fmt: skip
def test_channels_in_the_okr_file_are_checked_and_urls_refused(
    notify: str, field: str, message: str
) -> None:
    with pytest.raises(OkrFileError) as raised:
        parse_okr_text(team_notify(notify), "okrs.yaml")
    problems = [(p.field, p.message) for p in raised.value.problems]
    assert any(f == field and message in m for f, m in problems), problems
    assert all(p.line > 1 for p in raised.value.problems)


def test_valid_channels_are_read(tmp_path: Path) -> None:
    okrs = parse_okr_text(team_notify(
        "{slack: {webhook_env: SUPPORT_SLACK}, teams: {webhook_env: SUPPORT_TEAMS}, "
        "email: [ops@acme.example]}"
    ))  # fmt: skip
    support = next(t for t in okrs.teams if t.key == "support")
    assert support.notify.slack_env == "SUPPORT_SLACK"
    assert support.notify.teams_env == "SUPPORT_TEAMS"
    assert support.notify.email == ("ops@acme.example",)
