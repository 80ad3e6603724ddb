"""A digest or reminder for each channel, within each service's documented limits (pure).

- Slack incoming webhook, Block Kit: at most 50 blocks, a header's text at most 150 characters,
  a section's text at most 3,000; `text` is the notification fallback.
- Microsoft Teams workflow webhook: an Adaptive Card 1.4 (1.5 is reported to fail) in a
  `message` attachment, about 28 KB at most: lines are dropped from the end until it fits.
- E-mail: the same content as plain text and as HTML.
Every line that is dropped to fit is counted in an "... and N more" line.
"""

from __future__ import annotations

import json
from typing import Any

from okr_jira.domain.digest import Line, Message, Section
from okr_jira.render.markup import Safe, el, join

SLACK_MAX_BLOCKS = 50
SLACK_HEADER_MAX = 150
SLACK_SECTION_MAX = 3000
SLACK_TEXT_MAX = 3000  # the fallback text: shown in notifications, keep it short
TEAMS_MAX_BYTES = 27 * 1024  # under the ~28 KB the Workflows webhook accepts
LINES_PER_SECTION = 25  # beyond this a digest stops being read


def _fit(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _capped(section: Section, limit: int = LINES_PER_SECTION) -> list[Line]:
    lines = list(section.lines[:limit])
    if len(section.lines) > limit:
        lines.append(Line(f"… and {len(section.lines) - limit} more"))
    return lines


# ----- plain text and HTML (e-mail, the CLI's --dry-run) -----------------------------------------


def message_text(message: Message) -> str:
    out = [message.title, "", message.intro]
    if message.url:
        out.append(f"Pages: {message.url}")
    for section in message.sections:
        if not section.lines:
            continue
        out += ["", section.title]
        for line in _capped(section):
            out.append(f"  - {line.text}" + (f"\n    {line.url}" if line.url else ""))
    return "\n".join(out) + "\n"


def message_html(message: Message) -> str:
    parts: list[Safe] = [el("h2", None, message.title), el("p", None, message.intro)]
    if message.url:
        parts.append(el("p", None, el("a", {"href": message.url}, "Open the OKR pages")))
    for section in message.sections:
        if not section.lines:
            continue
        parts.append(el("h3", None, section.title))
        items = [
            el("li", None, el("a", {"href": line.url}, line.text) if line.url else line.text)
            for line in _capped(section)
        ]
        parts.append(el("ul", None, *items))
    body = el("body", {"style": "font-family:sans-serif;color:#172b4d"}, join(parts))
    head = el("head", None, Safe('<meta charset="utf-8"/>'), el("title", None, message.title))
    return "<!DOCTYPE html>\n" + el("html", None, head, body)


def email_payload(message: Message, recipients: tuple[str, ...]) -> dict[str, Any]:
    """What the mailer sends: multipart text + HTML."""
    return {
        "to": list(recipients),
        "subject": _fit(message.title.replace("\n", " "), 200),
        "text": message_text(message),
        "html": message_html(message),
    }


# ----- Slack -------------------------------------------------------------------------------------


def _slack_escape(text: str) -> str:
    """Slack's mrkdwn control characters as entities (its documented escaping)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slack_line(line: Line) -> str:
    text = _slack_escape(line.text)
    if line.url:
        # The link text may not contain '|' or '>' (escaped above / replaced here).
        return f"• <{line.url}|{text.replace('|', '¦')}>"
    return f"• {text}"


def slack_payload(message: Message) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": _fit(message.title, SLACK_HEADER_MAX)},
        },
        {
            "type": "context",
            "elements": [
                {"type": "mrkdwn", "text": _fit(_slack_escape(message.intro), SLACK_SECTION_MAX)}
            ],
        },
    ]
    for section in message.sections:
        if not section.lines:
            continue
        chunk = f"*{_slack_escape(section.title)}*"
        for line in _capped(section):
            item = _fit(_slack_line(line), SLACK_SECTION_MAX - 50)
            if len(chunk) + 1 + len(item) > SLACK_SECTION_MAX:
                blocks.append(_slack_section(chunk))
                chunk = item
            else:
                chunk += "\n" + item
        blocks.append(_slack_section(chunk))
    if message.url:
        blocks.append(_slack_section(f"<{message.url}|Open the OKR pages>"))
    if len(blocks) > SLACK_MAX_BLOCKS:
        dropped = len(blocks) - (SLACK_MAX_BLOCKS - 1)
        blocks = blocks[: SLACK_MAX_BLOCKS - 1]
        blocks.append(_slack_section(f"… {dropped} more part(s) left out; see the OKR pages"))
    fallback = f"{message.title}: {message.intro}"
    return {"text": _fit(fallback, SLACK_TEXT_MAX), "blocks": blocks}


def _slack_section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


# ----- Microsoft Teams ---------------------------------------------------------------------------


def _teams_escape(text: str) -> str:
    """Adaptive Card TextBlocks read a subset of Markdown: keep user text literal."""
    for ch in ("\\", "[", "]", "*", "_", "`"):
        text = text.replace(ch, "\\" + ch)
    return text


def _teams_line(line: Line) -> str:
    text = _teams_escape(line.text)
    return f"- [{text}]({line.url})" if line.url else f"- {text}"


def teams_payload(message: Message) -> dict[str, Any]:
    sections = [
        (section.title, [_teams_line(line) for line in section.lines])
        for section in message.sections
        if section.lines
    ]
    cap = LINES_PER_SECTION
    while True:
        payload = _teams_card(message, sections, cap)
        if len(json.dumps(payload).encode("utf-8")) <= TEAMS_MAX_BYTES or cap == 0:
            return payload
        cap = max(0, cap // 2 if cap > 4 else cap - 1)


def _teams_card(
    message: Message, sections: list[tuple[str, list[str]]], cap: int
) -> dict[str, Any]:
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": _teams_escape(message.title), "size": "Large",
         "weight": "Bolder", "wrap": True},
        {"type": "TextBlock", "text": _teams_escape(message.intro), "wrap": True,
         "isSubtle": True},
    ]  # fmt: skip
    for title, lines in sections:
        shown = lines[:cap]
        if len(lines) > cap:
            shown.append(f"- … and {len(lines) - cap} more")
        body.append(
            {"type": "TextBlock", "text": _teams_escape(title), "weight": "Bolder",
             "wrap": True, "spacing": "Medium"}
        )  # fmt: skip
        body.append({"type": "TextBlock", "text": "\n".join(shown), "wrap": True})
    card: dict[str, Any] = {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": "1.4",
        "body": body,
    }
    if message.url:
        card["actions"] = [
            {"type": "Action.OpenUrl", "title": "Open the OKR pages", "url": message.url}
        ]
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card,
            }
        ],
    }
