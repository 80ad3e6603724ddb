"""The Confluence simulator's records: spaces, pages with their version history, attachments.

Plain data; ConfluenceSim (okr_jira.simulator.confluence) owns them and guards them with its lock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class SimVersion:
    number: int
    when: datetime
    title: str
    body: str
    minor_edit: bool = False
    message: str = ""
    by_hand: bool = False


@dataclass
class SimPage:
    id: str
    space_key: str
    title: str
    body: str
    parent_id: str | None
    created: datetime
    versions: list[SimVersion] = field(default_factory=list)
    status: str = "current"  # "current" | "trashed"
    position: int = 0

    @property
    def version(self) -> int:
        return self.versions[-1].number

    @property
    def updated(self) -> datetime:
        return self.versions[-1].when


@dataclass
class SimAttachment:
    id: str
    page_id: str
    filename: str
    media_type: str
    data: bytes
    version: int
    created: datetime
    updated: datetime
    comment: str = ""

    @property
    def shows_as_image(self) -> bool:
        """Whether Confluence shows it in an <ac:image>: an image media type, and for SVG the XML
        declaration (without it Confluence renders a corrupted image, FACTS.md)."""
        if self.media_type == "image/svg+xml":
            return self.data.lstrip(b"\xef\xbb\xbf").startswith(b"<?xml")
        return self.media_type in ("image/png", "image/jpeg", "image/gif")


@dataclass
class SimSpace:
    id: int
    key: str
    name: str
