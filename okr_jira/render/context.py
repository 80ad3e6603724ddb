"""What the renderers need, assembled by publish from storage; and the rendered result."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from okr_jira.domain.checkins import CheckIn
from okr_jira.domain.health import HealthReport
from okr_jira.domain.models import (
    Cycle,
    IssueSnapshot,
    Objective,
    ObjectiveNode,
    PaceThresholds,
)
from okr_jira.domain.rollup import walk

# Confluence refuses titles longer than 255 characters.
MAX_TITLE = 255


@dataclass(frozen=True, slots=True)
class ChartPoint:
    """A day's last recorded point: progress (0..1), scope, and whether it was reconstructed."""

    day: date
    progress: float
    scope: float | None = None
    backfilled: bool = False


History = tuple[ChartPoint, ...]


@dataclass(frozen=True, slots=True)
class RenderContext:
    """One cycle's OKR tree with everything shown next to it.

    ``issues``, ``jql``, ``kr_history`` are keyed by KR key; ``history`` and ``last_change`` by
    objective key; histories oldest first, one point per day. ``today`` decides pace and the
    share of the cycle elapsed, ``as_of`` is when the data was read (shown, not hashed): nothing
    here reads a clock.
    """

    cycle: Cycle
    space_key: str
    roots: tuple[ObjectiveNode, ...]
    today: date
    thresholds: PaceThresholds
    teams: Mapping[str, str] = field(default_factory=dict)  # team key -> display name
    issues: Mapping[str, tuple[IssueSnapshot, ...]] = field(default_factory=dict)
    jql: Mapping[str, str] = field(default_factory=dict)
    history: Mapping[str, History] = field(default_factory=dict)
    # objective key -> its check-ins (on it and its KRs), oldest first
    checkins: Mapping[str, tuple[CheckIn, ...]] = field(default_factory=dict)
    # objective key -> the page title of the earlier objective it was carried from
    carried: Mapping[str, str] = field(default_factory=dict)
    kr_history: Mapping[str, History] = field(default_factory=dict)
    jira_base_url: str = ""
    jira_server_id: str | None = None
    last_sync: datetime | None = None
    as_of: datetime | None = None
    # When an objective's progress (or one of its KRs') last moved.
    last_change: Mapping[str, datetime] = field(default_factory=dict)
    time_zone: str = "UTC"  # the site's: how times are shown
    health: HealthReport | None = None  # as the last sync computed it
    max_issues_listed: int = 50
    max_issues_macro: int = 50

    def team_name(self, key: str) -> str:
        return self.teams.get(key, key)

    def walk(self) -> Iterator[tuple[ObjectiveNode, ObjectiveNode | None, int]]:
        """Every node depth-first with its parent and depth, roots at depth 0."""
        return walk(self.roots)


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    data: bytes
    media_type: str


@dataclass(frozen=True, slots=True)
class RenderedPage:
    """One Confluence page. ``parent_title`` None means the configured parent page."""

    key: str  # "root" or the objective key
    title: str
    body: str
    attachments: tuple[Attachment, ...] = ()
    parent_title: str | None = None
    # Hash of what changes the page's meaning; the root page's last-sync stamp is left out so an
    # unchanged tree is not rewritten at every sync.
    content_hash: str = ""


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _fit(title: str, suffix: str) -> str:
    room = MAX_TITLE - len(suffix)
    return (title if len(title) <= room else title[: room - 1].rstrip() + "…") + suffix


def root_title(cycle: Cycle) -> str:
    return _fit(f"OKRs - {_squash(cycle.name)}", "")


def review_title(cycle: Cycle) -> str:
    """The end-of-cycle review page, under the cycle's root page."""
    return _fit(f"OKRs - {_squash(cycle.name)} - Review", "")


def month_review_title(cycle: Cycle, month: date) -> str:
    """A monthly review page, under the cycle's root page."""
    return _fit(f"OKRs - {_squash(cycle.name)} - Review {month.strftime('%Y-%m')}", "")


def health_title(cycle: Cycle) -> str:
    """The cycle's guardrail signals and calibration report, under the cycle's root page."""
    return _fit(f"OKRs - {_squash(cycle.name)} - Cycle health", "")


def archive_title(cycle: Cycle) -> str:
    """Where pages of objectives removed from the OKR file are moved to."""
    return _fit(f"OKRs - {_squash(cycle.name)} - Archived", "")


def page_title(cycle: Cycle, objective: Objective) -> str:
    """Unique per space: the cycle is part of the title, e.g. "SUP-1 Answer faster (Q4 2026)"."""
    return _fit(f"{objective.key} {_squash(objective.title)}", f" ({_squash(cycle.name)})")


def content_hash(body: str, attachments: tuple[Attachment, ...] | list[Attachment] = ()) -> str:
    """sha256 over the body and every attachment (name, type, bytes), order-independent."""
    digest = hashlib.sha256(b"body\0" + body.encode("utf-8"))
    for attachment in sorted(attachments, key=lambda a: a.filename):
        digest.update(b"\0attachment\0" + attachment.filename.encode("utf-8"))
        digest.update(b"\0" + attachment.media_type.encode("utf-8") + b"\0")
        digest.update(hashlib.sha256(attachment.data).digest())
    return digest.hexdigest()


def chart_filename(key: str, *, kr: bool = False) -> str:
    prefix = "okr-kr-progress-" if kr else "okr-progress-"
    return prefix + re.sub(r"[^A-Za-z0-9._-]+", "_", key) + ".svg"
