"""Backfilled history, scope in the progress history, and Jira remote links written

- issue_snapshot.status_changed: Cloud's status category change date, when a done issue without
  a resolution was done (the history reconstructed on a mapping's first sync reads it);
- progress_snapshot.scope: a KR's total weight (an objective's issues) at each point, the
  charts' second series;
- jira_remote_link: the remote links okr-jira wrote on Jira issues and what each says.

Revision ID: 0006
Revises: 0004
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0006"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("issue_snapshot") as batch:
        batch.add_column(
            sa.Column("status_changed", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
    with op.batch_alter_table("progress_snapshot") as batch:
        batch.add_column(sa.Column("scope", sa.Float(), nullable=True))
    op.create_table(
        "jira_remote_link",
        sa.Column("issue_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("kr", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("global_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("content_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("link_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("written_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("issue_key", "kr"),
    )


def downgrade() -> None:
    op.drop_table("jira_remote_link")
    with op.batch_alter_table("progress_snapshot") as batch:
        batch.drop_column("scope")
    with op.batch_alter_table("issue_snapshot") as batch:
        batch.drop_column("status_changed")
