"""SQLModel tables: the one place the schema is declared (Alembic migrations follow it).

Lists (labels, selectors, ...) are JSON text so the same schema runs on SQLite and PostgreSQL.
Times are timezone-aware UTC datetimes (SQLModel's UTCDateTime refuses naive ones).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKeyConstraint,
    Index,
    Text,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class CycleRow(SQLModel, table=True):
    __tablename__ = "cycle"
    key: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    start: dt.date
    end: dt.date
    archived_at: dt.datetime | None = None
    # Set at the end-of-cycle review: scores are frozen from then on.
    frozen_at: dt.datetime | None = None


class TeamRow(SQLModel, table=True):
    __tablename__ = "team"
    key: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    parent: str | None = Field(default=None, max_length=64)
    jira_projects: str = Field(default="[]", sa_column=Column(Text, nullable=False))
    # JSON of where digests and reminders go: {"slack": {"webhook_env": NAME}, ...}; no secrets.
    notify: str = Field(default="{}", sa_column=Column(Text, nullable=False, server_default="{}"))
    archived_at: dt.datetime | None = None


class ObjectiveRow(SQLModel, table=True):
    __tablename__ = "objective"
    key: str = Field(primary_key=True, max_length=64)
    cycle: str = Field(index=True, max_length=64)
    team: str = Field(max_length=64)
    title: str = Field(sa_column=Column(Text, nullable=False))
    parent: str | None = Field(default=None, max_length=64, index=True)
    weight: float = 1.0
    rollup: str = Field(default="both", max_length=16)
    description: str | None = Field(default=None, sa_column=Column(Text))
    cross_cycle: bool = False
    carried_from: str | None = Field(default=None, max_length=64)
    position: int = 0
    archived_at: dt.datetime | None = None


class KeyResultRow(SQLModel, table=True):
    __tablename__ = "key_result"
    key: str = Field(primary_key=True, max_length=64)
    objective: str = Field(index=True, max_length=64)
    position: int = 0
    title: str = Field(sa_column=Column(Text, nullable=False))
    kind: str = Field(max_length=16)
    start: float | None = None
    target: float | None = None
    unit: str | None = Field(default=None, max_length=32)
    weight: float = 1.0
    indicator: str | None = Field(default=None, max_length=16)
    weight_by: str = Field(default="count", max_length=16)
    in_progress_credit: float = 0.0
    default_weight: float = 1.0
    field: str | None = Field(default=None, max_length=200)
    done_only: bool = False
    carried_from: str | None = Field(default=None, max_length=64)
    archived_at: dt.datetime | None = None


class MappingRow(SQLModel, table=True):
    """How a KR selects its issues (the `source` of the OKR file), and its last resolution error."""

    __tablename__ = "kr_mapping"
    # What every webhook batch reads, a few rows whatever the KRs (migration 0012).
    __table_args__ = (
        Index(
            "ix_kr_mapping_in_error", "kr",
            postgresql_where=text("error IS NOT NULL"), sqlite_where=text("error IS NOT NULL"),
        ),
        Index(
            "ix_kr_mapping_unresolved", "kr",
            postgresql_where=text("resolved_at IS NULL"), sqlite_where=text("resolved_at IS NULL"),
        ),
    )  # fmt: skip
    kr: str = Field(primary_key=True, max_length=64)
    source: str = Field(sa_column=Column(Text, nullable=False))  # JSON of domain Source
    error: str | None = Field(default=None, sa_column=Column(Text))
    error_at: dt.datetime | None = None
    resolved_at: dt.datetime | None = None
    # The first sync after the mapping was added or changed: its scope then is the baseline
    # scope changes are measured against, and what joined then was never a backfill.
    baseline_at: dt.datetime | None = None


class IssueSnapshotRow(SQLModel, table=True):
    __tablename__ = "issue_snapshot"
    key: str = Field(primary_key=True, max_length=64)
    jira_id: str | None = Field(default=None, max_length=32, index=True)
    project: str = Field(max_length=64, index=True)
    issue_type: str = Field(max_length=100)
    status: str = Field(max_length=100)
    status_category: str = Field(max_length=16)
    summary: str = Field(default="", sa_column=Column(Text, nullable=False))
    priority: str | None = Field(default=None, max_length=100)
    labels: str = Field(default="[]", sa_column=Column(Text, nullable=False))
    components: str = Field(default="[]", sa_column=Column(Text, nullable=False))
    fix_versions: str = Field(default="[]", sa_column=Column(Text, nullable=False))
    epic: str | None = Field(default=None, max_length=64, index=True)
    parent: str | None = Field(default=None, max_length=64)
    story_points: float | None = None
    estimate_seconds: float | None = None
    numbers: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    created: dt.datetime | None = None
    updated: dt.datetime | None = Field(default=None, index=True)
    resolved: dt.datetime | None = None
    status_changed: dt.datetime | None = None  # Cloud's statuscategorychangedate
    deleted: bool = False
    seen_at: dt.datetime = Field(default_factory=utcnow)


class KrIssueLinkRow(SQLModel, table=True):
    """Scope history: when an issue joined and left a KR, and whether it was done then."""

    __tablename__ = "kr_issue_link"
    __table_args__ = (
        Index("ix_kr_issue_link_open", "kr", "issue_key", "left_at"),
        # At most one open link per (KR, issue): two writers that both saw the issue outside the
        # KR (a sync and a webhook worker) must not open it twice, or a leave closes only one.
        Index(
            "ux_kr_issue_link_open_once", "kr", "issue_key", unique=True,
            sqlite_where=text("left_at IS NULL"), postgresql_where=text("left_at IS NULL"),
        ),
        # The open links of an issue, answered from the index alone (migration 0009).
        Index(
            "ix_kr_issue_link_open_by_issue", "issue_key", "kr", "id",
            postgresql_where=text("left_at IS NULL"), sqlite_where=text("left_at IS NULL"),
        ),
    )  # fmt: skip
    id: int | None = Field(default=None, primary_key=True)
    kr: str = Field(max_length=64, index=True)
    issue_key: str = Field(max_length=64, index=True)
    joined_at: dt.datetime = Field(default_factory=utcnow)
    done_when_joined: bool = False
    left_at: dt.datetime | None = None
    done_when_left: bool | None = None
    reason: str | None = Field(default=None, max_length=200)


class ProgressSnapshotRow(SQLModel, table=True):
    """Time series of KR and objective progress (kind = 'kr' | 'objective')."""

    __tablename__ = "progress_snapshot"
    # On PostgreSQL, migration 0009 adds ix_progress_snapshot_point: (id) INCLUDE the columns the
    # tree reads, for an index-only join from progress_latest (not declared here: INCLUDE is
    # PostgreSQL's, and SQLite finds a row by id in the table itself).
    __table_args__ = (Index("ix_progress_snapshot_subject", "kind", "subject", "taken_at"),)
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)
    subject: str = Field(max_length=64)
    cycle: str = Field(max_length=64, index=True)
    taken_at: dt.datetime = Field(default_factory=utcnow)
    progress: float
    current: float | None = None
    status: str | None = Field(default=None, max_length=16)
    issues_total: int = 0
    issues_done: int = 0
    issues_in_progress: int = 0
    # KRs: total weight in scope (KrProgress.scope); objectives: issues in their KRs' scope.
    scope: float | None = None
    # sync | webhook | daily | weekly | final | backfill (reconstructed on a mapping's first sync)
    reason: str = Field(default="sync", max_length=16)


class ProgressLatestRow(SQLModel, table=True):
    """The newest progress_snapshot row of each subject, moved forward with every record.

    "Latest progress" is then a primary-key lookup, never a scan of the growing history. Deleting
    the history row (a KR removed from the OKR file) deletes this pointer with it.
    """

    __tablename__ = "progress_latest"
    __table_args__ = (
        UniqueConstraint("snapshot_id", name="uq_progress_latest_snapshot"),
        ForeignKeyConstraint(
            ["snapshot_id"],
            ["progress_snapshot.id"],
            name="fk_progress_latest_snapshot",
            ondelete="CASCADE",
        ),
    )
    kind: str = Field(primary_key=True, max_length=16)
    subject: str = Field(primary_key=True, max_length=64)
    snapshot_id: int
    taken_at: dt.datetime


class CheckinRow(SQLModel, table=True):
    """A team's check-in on an objective, or on one of its key results (`kr` set).

    History is kept: rows are only added. `author` is who typed it, for the audit trail only.
    """

    __tablename__ = "checkin"
    id: int | None = Field(default=None, primary_key=True)
    objective: str | None = Field(default=None, max_length=64, index=True)
    kr: str | None = Field(default=None, max_length=64, index=True)
    value: float | None = None  # a manual KR's value
    confidence: int | None = None  # 0..10
    note: str | None = Field(default=None, sa_column=Column(Text))
    blockers: str | None = Field(default=None, sa_column=Column(Text))
    retro: str | None = Field(default=None, sa_column=Column(Text))  # what we learned
    author: str | None = Field(default=None, max_length=200)
    created_at: dt.datetime = Field(default_factory=utcnow)


class AuditRow(SQLModel, table=True):
    """Who changed what, when, from what to what: targets, weights, mappings, parents, archives."""

    __tablename__ = "audit_log"
    id: int | None = Field(default=None, primary_key=True)
    at: dt.datetime = Field(default_factory=utcnow, index=True)
    actor: str = Field(max_length=200)
    entity: str = Field(max_length=32)  # cycle | team | objective | key_result | mapping
    entity_key: str = Field(max_length=64, index=True)
    action: str = Field(max_length=16)  # add | change | archive | restore | delete
    field: str | None = Field(default=None, max_length=64)
    old: str | None = Field(default=None, sa_column=Column(Text))
    new: str | None = Field(default=None, sa_column=Column(Text))


class PublishedPageRow(SQLModel, table=True):
    __tablename__ = "published_page"
    __table_args__ = (UniqueConstraint("cycle", "subject", name="uq_published_page_subject"),)
    id: int | None = Field(default=None, primary_key=True)
    cycle: str = Field(max_length=64)
    subject: str = Field(max_length=64)  # "root", "archived", "review" or an objective key
    page_id: str = Field(max_length=64)
    title: str = Field(sa_column=Column(Text, nullable=False))
    parent_page_id: str | None = Field(default=None, max_length=64)
    content_hash: str = Field(max_length=64)
    # Fingerprint of what the page was made from (publish/fingerprint.py); "" when unknown.
    inputs_hash: str = Field(default="", max_length=64, sa_column_kwargs={"server_default": ""})
    version: int = 1
    published_at: dt.datetime = Field(default_factory=utcnow)


class WebhookEventRow(SQLModel, table=True):
    """The webhook inbox: raw events committed before Jira gets its 2xx."""

    __tablename__ = "webhook_event"
    __table_args__ = (
        UniqueConstraint("delivery_id", name="uq_webhook_event_delivery"),
        # What the workers claim: a few pages whatever the applied history (migration 0009).
        Index(
            "ix_webhook_event_pending_only",
            "id",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
        # What pruning and the dead letters read. Partial, so the receiver's insert (a pending
        # event) never writes to it: only the worker's update does (migration 0011).
        Index(
            "ix_webhook_event_settled",
            "status",
            "id",
            postgresql_where=text("status <> 'pending'"),
            sqlite_where=text("status <> 'pending'"),
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    delivery_id: str = Field(max_length=200)
    received_at: dt.datetime = Field(default_factory=utcnow)
    event_type: str = Field(max_length=64)
    # Not indexed: no query looks events up by issue (the claim reads it), and every insert
    # would pay for it (migration 0011).
    issue_key: str | None = Field(default=None, max_length=64)
    issue_id: str | None = Field(default=None, max_length=32)
    event_ts: int | None = Field(default=None, sa_column=Column(BigInteger))  # epoch ms
    body: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(default="pending", max_length=16)  # pending | applied | ignored | failed
    attempts: int = 0
    error: str | None = Field(default=None, sa_column=Column(Text))
    processed_at: dt.datetime | None = None


class CycleHealthRow(SQLModel, table=True):
    """A cycle's guardrail signals and calibration report, as the last sync computed them (JSON)."""

    __tablename__ = "cycle_health"
    cycle: str = Field(primary_key=True, max_length=64)
    computed_at: dt.datetime
    body: str = Field(sa_column=Column(Text, nullable=False))


class SyncStateRow(SQLModel, table=True):
    """Small key/value state: the sync watermark, site facts, ... (named in storage/state.py)."""

    __tablename__ = "sync_state"
    name: str = Field(primary_key=True, max_length=64)
    value: str = Field(sa_column=Column(Text, nullable=False))
    updated_at: dt.datetime = Field(default_factory=utcnow)


class OutboxRow(SQLModel, table=True):
    """A message to deliver: one row per (message, period, channel), whoever enqueues it.

    `dedupe_key` is unique, so two schedulers (or a restart) enqueueing the same weekly digest
    for the same channel make one row; a sender claims a row by moving it from pending to
    sending in one UPDATE, so one sender sends it. The payload is what is sent, rendered once;
    channel targets (webhook URLs) are never stored: they are read from the environment.
    """

    __tablename__ = "notify_outbox"
    __table_args__ = (
        UniqueConstraint("dedupe_key", name="uq_notify_outbox_dedupe"),
        Index("ix_notify_outbox_due", "status", "next_attempt_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str = Field(max_length=400)
    kind: str = Field(max_length=16)  # digest | reminder
    subject: str = Field(max_length=64)  # "tree" or a team key
    period: str = Field(max_length=16)  # ISO week, e.g. 2026-W46
    channel: str = Field(max_length=200)  # slack:ENV_NAME | teams:ENV_NAME | email:TEAM
    payload: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(default="pending", max_length=16)  # pending | sending | sent | failed
    attempts: int = 0
    next_attempt_at: dt.datetime = Field(default_factory=utcnow)
    claimed_at: dt.datetime | None = None
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    created_at: dt.datetime = Field(default_factory=utcnow)
    sent_at: dt.datetime | None = None


class ChannelRow(SQLModel, table=True):
    """A notification channel's health, where check-config and /metrics show it.

    `dead` after a permanent failure (Slack 404/410, a refused recipient): nothing more is sent
    until its target changes (`fingerprint`, a hash of the URL or recipients, differs).
    """

    __tablename__ = "notify_channel"
    channel: str = Field(primary_key=True, max_length=200)
    state: str = Field(default="ok", max_length=16)  # ok | retrying | degraded | dead
    fingerprint: str | None = Field(default=None, max_length=64)
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    last_error_at: dt.datetime | None = None
    last_ok_at: dt.datetime | None = None
    failures: int = 0  # consecutive


class ApiTokenRow(SQLModel, table=True):
    """A named API token: only its SHA-256 is stored; `prefix` finds the row to compare with."""

    __tablename__ = "api_token"
    __table_args__ = (UniqueConstraint("name", name="uq_api_token_name"),)
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64)
    role: str = Field(max_length=16)  # read | admin
    prefix: str = Field(max_length=16, index=True)
    token_hash: str = Field(max_length=64)
    created_at: dt.datetime = Field(default_factory=utcnow)
    created_by: str | None = Field(default=None, max_length=200)
    revoked_at: dt.datetime | None = None


class QueuedJobRow(SQLModel, table=True):
    """Work asked for over the API (sync, publish), run by the scheduler's leader."""

    __tablename__ = "queued_job"
    __table_args__ = (Index("ix_queued_job_status", "status", "id"),)
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)  # sync | publish
    params: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    status: str = Field(default="queued", max_length=16)  # queued | running | done | failed
    requested_by: str = Field(max_length=200)
    requested_at: dt.datetime = Field(default_factory=utcnow)
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    message: str | None = Field(default=None, sa_column=Column(Text))


class JiraRemoteLinkRow(SQLModel, table=True):
    """A remote link okr-jira wrote on a Jira issue (OKR_JIRA_JIRA_REMOTE_LINKS): one per issue
    and KR it counts toward, with the hash of what it says, so only changes are written again."""

    __tablename__ = "jira_remote_link"
    issue_key: str = Field(primary_key=True, max_length=64)
    kr: str = Field(primary_key=True, max_length=64)
    global_id: str = Field(max_length=255)
    content_hash: str = Field(max_length=64)
    link_id: str | None = Field(default=None, max_length=32)  # Jira's id of the link
    written_at: dt.datetime = Field(default_factory=utcnow)
