"""Small named state in the sync_state table: every key okr-jira keeps is named here, typed.

An empty value means "not set" (how a key is cleared), so a reader never tells "" from None.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from okr_jira.storage.tables import SyncStateRow, utcnow

DURATION_SUFFIX = ".last_duration_seconds"


def _get(session: Session, name: str) -> str | None:
    row = session.get(SyncStateRow, name)
    return row.value if row and row.value else None


def _set(session: Session, name: str, value: str) -> None:
    row = session.get(SyncStateRow, name) or SyncStateRow(name=name, value=value)
    row.value = value
    row.updated_at = utcnow()
    session.add(row)


@dataclass(frozen=True)
class TextKey:
    name: str

    def get(self, *, session: Session) -> str | None:
        return _get(session, self.name)

    def set(self, value: str | None, *, session: Session) -> None:
        _set(session, self.name, value or "")


@dataclass(frozen=True)
class TimeKey:
    """A timezone-aware moment, stored as ISO 8601."""

    name: str

    def get(self, *, session: Session) -> dt.datetime | None:
        raw = _get(session, self.name)
        return dt.datetime.fromisoformat(raw) if raw else None

    def set(self, value: dt.datetime | None, *, session: Session) -> None:
        _set(session, self.name, value.isoformat() if value else "")


@dataclass(frozen=True)
class JsonKey:
    name: str

    def get(self, *, session: Session) -> Any:
        raw = _get(session, self.name)
        return json.loads(raw) if raw else None

    def set(self, value: Any, *, session: Session) -> None:
        _set(session, self.name, json.dumps(value) if value is not None else "")


# Sync: Jira's clock at the start of the last complete read (the next incremental reads from it).
WATERMARK = TimeKey("jira.watermark")
# Set while a full sync runs: the next sync resumes with a full one.
FULL_SYNC_STARTED = TimeKey("jira.full_sync_started")
# The site's flavor, fields and clock skew, as the last full sync learned them.
SITE_FACTS = JsonKey("jira.site")
# The site's time zone (an IANA name) days are counted in: OKR_JIRA_TIME_ZONE, else the Jira
# account's zone, as the last full sync saw it (unset: UTC).
SITE_TIME_ZONE = TextKey("jira.time_zone")
# The site's fields as /field lists them, for webhook workers that have no Jira adapter.
JIRA_FIELDS = JsonKey("jira.fields")
# Debounced publishing: the first change not yet published, and the latest one.
PUBLISH_REQUESTED = TimeKey("publish.requested")
PUBLISH_LAST_CHANGE = TimeKey("publish.last_change")
# Changes with every write of the declaration (apply, web and API edits): readers that keep the
# declaration in memory (the web tree) read it again when this differs.
DECLARATION_VERSION = TextKey("okrs.version")
# The Confluence base URL pages were last published to (remote links in Jira point there).
CONFLUENCE_BASE_URL = TextKey("confluence.base_url")
# Remote links in Jira to bring in step with the scope (set by whatever may change it).
REMOTE_LINKS_REQUESTED = TimeKey("jira.remote_links.requested")
# The configured Confluence parent page, resolved once: {"key": site/space/parent, "id": ...}.
CONFLUENCE_PARENT = JsonKey("confluence.parent")


def job_last_run(job: str) -> TimeKey:
    """When the scheduler last finished `job` (missed jobs catch up from it)."""
    return TimeKey(f"job.last_run.{job}")


def job_duration(job: str) -> TextKey:
    """Seconds the last `job` took (sync_full, sync_incremental, publish), for /metrics."""
    return TextKey(f"{job}{DURATION_SUFFIX}")


def durations(*, session: Session) -> dict[str, float]:
    """job -> seconds of its last run, for every job that recorded one."""
    rows = session.exec(
        select(SyncStateRow.name, SyncStateRow.value).where(
            col(SyncStateRow.name).endswith(DURATION_SUFFIX)
        )
    )
    out: dict[str, float] = {}
    for name, raw in rows:
        try:
            out[name[: -len(DURATION_SUFFIX)]] = float(raw)
        except ValueError:
            continue
    return out


def digest_last_built(subject: str) -> TimeKey:
    """When the last weekly digest of `subject` ("tree" or a team) was built: the next one says
    what moved since then."""
    return TimeKey(f"digest.last_built.{subject}")
