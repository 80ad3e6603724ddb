"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("entity", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("entity_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("field", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("old", sa.Text(), nullable=True),
        sa.Column("new", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_entity_key"), ["entity_key"], unique=False)

    op.create_table(
        "checkin",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kr", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("author", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("checkin", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_checkin_kr"), ["kr"], unique=False)

    op.create_table(
        "cycle",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("end", sa.Date(), nullable=False),
        sa.Column("archived_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("frozen_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "issue_snapshot",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("jira_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("project", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("issue_type", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("status_category", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("priority", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("labels", sa.Text(), nullable=False),
        sa.Column("components", sa.Text(), nullable=False),
        sa.Column("fix_versions", sa.Text(), nullable=False),
        sa.Column("epic", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("story_points", sa.Float(), nullable=True),
        sa.Column("estimate_seconds", sa.Float(), nullable=True),
        sa.Column("numbers", sa.Text(), nullable=False),
        sa.Column("created", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("updated", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("resolved", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("seen_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("issue_snapshot", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_issue_snapshot_epic"), ["epic"], unique=False)
        batch_op.create_index(batch_op.f("ix_issue_snapshot_jira_id"), ["jira_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_issue_snapshot_project"), ["project"], unique=False)
        batch_op.create_index(batch_op.f("ix_issue_snapshot_updated"), ["updated"], unique=False)

    op.create_table(
        "key_result",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("objective", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("start", sa.Float(), nullable=True),
        sa.Column("target", sa.Float(), nullable=True),
        sa.Column("unit", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("indicator", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("weight_by", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("in_progress_credit", sa.Float(), nullable=False),
        sa.Column("default_weight", sa.Float(), nullable=False),
        sa.Column("field", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("done_only", sa.Boolean(), nullable=False),
        sa.Column("archived_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("key_result", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_key_result_objective"), ["objective"], unique=False)

    op.create_table(
        "kr_issue_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kr", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("issue_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("joined_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("done_when_joined", sa.Boolean(), nullable=False),
        sa.Column("left_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("done_when_left", sa.Boolean(), nullable=True),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("kr_issue_link", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_kr_issue_link_issue_key"), ["issue_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_kr_issue_link_kr"), ["kr"], unique=False)
        batch_op.create_index("ix_kr_issue_link_open", ["kr", "issue_key", "left_at"], unique=False)

    op.create_table(
        "kr_mapping",
        sa.Column("kr", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("error_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("resolved_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("kr"),
    )
    op.create_table(
        "objective",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("cycle", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("team", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("parent", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("rollup", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("cross_cycle", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("archived_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("objective", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_objective_cycle"), ["cycle"], unique=False)
        batch_op.create_index(batch_op.f("ix_objective_parent"), ["parent"], unique=False)

    op.create_table(
        "progress_snapshot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("cycle", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("taken_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("current", sa.Float(), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("issues_total", sa.Integer(), nullable=False),
        sa.Column("issues_done", sa.Integer(), nullable=False),
        sa.Column("issues_in_progress", sa.Integer(), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("progress_snapshot", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_progress_snapshot_cycle"), ["cycle"], unique=False)
        batch_op.create_index(
            "ix_progress_snapshot_subject", ["kind", "subject", "taken_at"], unique=False
        )

    op.create_table(
        "published_page",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cycle", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("page_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("parent_page_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("content_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("published_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("cycle", "subject", name="uq_published_page_subject"),
    )
    op.create_table(
        "sync_state",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "team",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("parent", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("jira_projects", sa.Text(), nullable=False),
        sa.Column("archived_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "webhook_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("received_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("event_type", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("issue_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("issue_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("event_ts", sa.BigInteger(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("processed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("delivery_id", name="uq_webhook_event_delivery"),
    )
    with op.batch_alter_table("webhook_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_webhook_event_issue_key"), ["issue_key"], unique=False)
        batch_op.create_index("ix_webhook_event_pending", ["status", "id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("webhook_event", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_event_pending")
        batch_op.drop_index(batch_op.f("ix_webhook_event_issue_key"))

    op.drop_table("webhook_event")
    op.drop_table("team")
    op.drop_table("sync_state")
    op.drop_table("published_page")
    with op.batch_alter_table("progress_snapshot", schema=None) as batch_op:
        batch_op.drop_index("ix_progress_snapshot_subject")
        batch_op.drop_index(batch_op.f("ix_progress_snapshot_cycle"))

    op.drop_table("progress_snapshot")
    with op.batch_alter_table("objective", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_objective_parent"))
        batch_op.drop_index(batch_op.f("ix_objective_cycle"))

    op.drop_table("objective")
    op.drop_table("kr_mapping")
    with op.batch_alter_table("kr_issue_link", schema=None) as batch_op:
        batch_op.drop_index("ix_kr_issue_link_open")
        batch_op.drop_index(batch_op.f("ix_kr_issue_link_kr"))
        batch_op.drop_index(batch_op.f("ix_kr_issue_link_issue_key"))

    op.drop_table("kr_issue_link")
    with op.batch_alter_table("key_result", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_key_result_objective"))

    op.drop_table("key_result")
    with op.batch_alter_table("issue_snapshot", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_issue_snapshot_updated"))
        batch_op.drop_index(batch_op.f("ix_issue_snapshot_project"))
        batch_op.drop_index(batch_op.f("ix_issue_snapshot_jira_id"))
        batch_op.drop_index(batch_op.f("ix_issue_snapshot_epic"))

    op.drop_table("issue_snapshot")
    op.drop_table("cycle")
    with op.batch_alter_table("checkin", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_checkin_kr"))

    op.drop_table("checkin")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_entity_key"))
        batch_op.drop_index(batch_op.f("ix_audit_log_at"))

    op.drop_table("audit_log")
