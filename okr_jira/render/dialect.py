"""The two outputs of the same pages: Confluence storage format and standalone preview HTML.

Pages are composed once (see `pages.py`); a dialect turns each Confluence-only construct (status
lozenge, page link, Jira issues macro, expand, panel, chart) into its markup.
"""

from __future__ import annotations

from typing import Literal, Protocol
from urllib.parse import quote

from okr_jira.render.markup import Safe, el, join

Colour = Literal["Grey", "Red", "Yellow", "Green", "Blue"]
BAR_CELLS = 10
# The lozenge colours as ink: a progress bar is coloured by its pace like its lozenge.
INK: dict[str, str] = {
    "Grey": "#97a0af",
    "Red": "#de350b",
    "Yellow": "#ff991f",
    "Green": "#36b37e",
    "Blue": "#0065ff",
}
# No assignee column: the pages show teams' work, never who did it (privacy by design).
JIRA_COLUMNS = "key,summary,type,status,updated"


class Dialect(Protocol):
    def lozenge(self, text: str, colour: Colour) -> Safe: ...
    def bar(self, progress: float, colour: Colour = "Blue") -> Safe: ...
    def page_link(self, title: str, filename: str, text: str) -> Safe: ...
    def issues_macro(self, jql: str, jira_base_url: str, maximum: int) -> Safe: ...
    def expand(self, title: str, content: Safe) -> Safe: ...
    def panel(self, kind: Literal["info", "note", "warning"], content: Safe) -> Safe: ...
    def chart(self, filename: str, svg: str) -> Safe: ...
    def heading(self, level: int, text: str, anchor: str) -> Safe: ...


def percent(progress: float) -> str:
    return f"{min(max(progress, 0.0), 1.0) * 100:.0f}%"


def jira_search_url(jira_base_url: str, jql: str) -> str:
    return f"{jira_base_url.rstrip('/')}/issues/?jql={quote(jql, safe='')}"


class StorageDialect:
    """Confluence storage XHTML using only built-in macros."""

    def __init__(self, space_key: str, server_id: str | None) -> None:
        self.space_key = space_key
        self.server_id = server_id

    def _macro(self, name: str, params: dict[str, str | None], body: Safe | None = None) -> Safe:
        children = [
            el("ac:parameter", {"ac:name": key}, value)
            for key, value in params.items()
            if value is not None
        ]
        if body is not None:
            children.append(el("ac:rich-text-body", None, body))
        return el("ac:structured-macro", {"ac:name": name, "ac:schema-version": "1"}, *children)

    def lozenge(self, text: str, colour: Colour) -> Safe:
        return self._macro("status", {"colour": colour, "title": text})

    def bar(self, progress: float, colour: Colour = "Blue") -> Safe:
        filled = round(min(max(progress, 0.0), 1.0) * BAR_CELLS)
        cells = el("code", None, "█" * filled + "░" * (BAR_CELLS - filled))
        # Storage format keeps text colour as an inline style on a span.
        return join(
            [el("span", {"style": f"color: {INK[colour]};"}, cells), " ", percent(progress)]
        )

    def page_link(self, title: str, filename: str, text: str) -> Safe:
        return el(
            "ac:link",
            None,
            el("ri:page", {"ri:content-title": title, "ri:space-key": self.space_key}),
            el("ac:link-body", None, text),
        )

    def issues_macro(self, jql: str, jira_base_url: str, maximum: int) -> Safe:
        return self._macro(
            "jira",
            {
                "jqlQuery": jql,
                "serverId": self.server_id,
                "columns": JIRA_COLUMNS,
                "maximumIssues": str(maximum),
            },
        )

    def expand(self, title: str, content: Safe) -> Safe:
        return self._macro("expand", {"title": title}, content)

    def panel(self, kind: Literal["info", "note", "warning"], content: Safe) -> Safe:
        return self._macro(kind, {}, content)

    def chart(self, filename: str, svg: str) -> Safe:
        return el(
            "ac:image",
            {"ac:alt": "Progress over time", "ac:width": "640"},
            el("ri:attachment", {"ri:filename": filename}),
        )

    def heading(self, level: int, text: str, anchor: str) -> Safe:
        return el(f"h{level}", None, text)  # Confluence makes its own heading anchors


class PreviewDialect:
    """Standalone HTML with the same look: coloured spans, CSS bars, inline SVG."""

    def lozenge(self, text: str, colour: Colour) -> Safe:
        return el("span", {"class": f"lozenge {colour.lower()}"}, text)

    def bar(self, progress: float, colour: Colour = "Blue") -> Safe:
        width = f"width:{min(max(progress, 0.0), 1.0) * 100:.0f}%;background:{INK[colour]}"
        fill = el("span", {"class": f"fill {colour.lower()}", "style": width}, "")
        return join([el("span", {"class": "bar"}, fill), " ", percent(progress)])

    def page_link(self, title: str, filename: str, text: str) -> Safe:
        return el("a", {"href": filename, "title": title}, text)

    def issues_macro(self, jql: str, jira_base_url: str, maximum: int) -> Safe:
        return el(
            "p",
            None,
            el("a", {"href": jira_search_url(jira_base_url, jql)}, "Open these issues in Jira"),
            " (JQL: ",
            el("code", None, jql),
            ")",
        )

    def expand(self, title: str, content: Safe) -> Safe:
        return el("details", None, el("summary", None, title), content)

    def panel(self, kind: Literal["info", "note", "warning"], content: Safe) -> Safe:
        return el("div", {"class": f"panel {kind}"}, content)

    def chart(self, filename: str, svg: str) -> Safe:
        return el("div", {"class": "chart"}, Safe(svg))

    def heading(self, level: int, text: str, anchor: str) -> Safe:
        return el(f"h{level}", {"id": anchor}, text)
