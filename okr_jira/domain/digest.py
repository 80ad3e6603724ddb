"""A weekly message as plain values: a digest or a check-in reminder, before any channel's format.

Built from storage by `okr_jira.report.digest`, rendered per channel by `okr_jira.render.digest`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

MessageKind = Literal["digest", "reminder"]
TREE = "tree"  # the subject of the digest of the whole tree


@dataclass(frozen=True, slots=True)
class Line:
    """One line; `url` links it to its page (an objective's Confluence page) when known."""

    text: str
    url: str | None = None


@dataclass(frozen=True, slots=True)
class Section:
    title: str
    lines: tuple[Line, ...]


@dataclass(frozen=True, slots=True)
class Message:
    kind: MessageKind
    subject: str  # TREE or a team key
    period: str  # ISO week, e.g. 2026-W46
    title: str
    intro: str
    sections: tuple[Section, ...]
    url: str | None = None  # the cycle's root page

    @property
    def empty(self) -> bool:
        return not any(section.lines for section in self.sections)
