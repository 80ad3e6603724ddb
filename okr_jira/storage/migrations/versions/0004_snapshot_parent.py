"""issue_snapshot.parent: the issue's direct parent, what JQL's `parent` means

Cloud's `parent` of a sub-task is its story, and Data Center's is a sub-task's parent: with the
direct parent stored, `parent = X` is answered locally and exactly on both flavors. Snapshots
stored before hold no parent, so the sync watermark is dropped: the next sync is a full one and
fills the column.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("issue_snapshot") as batch:
        batch.add_column(
            sa.Column("parent", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
    op.execute("DELETE FROM sync_state WHERE name = 'jira.watermark'")


def downgrade() -> None:
    with op.batch_alter_table("issue_snapshot") as batch:
        batch.drop_column("parent")
