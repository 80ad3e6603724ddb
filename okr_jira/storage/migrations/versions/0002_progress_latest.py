"""progress_latest: the newest progress snapshot of each subject, kept in place

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "progress_latest",
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("snapshot_id", sa.Integer(), nullable=False),
        sa.Column("taken_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "subject"),
        sa.UniqueConstraint("snapshot_id", name="uq_progress_latest_snapshot"),
        sa.ForeignKeyConstraint(
            ["snapshot_id"],
            ["progress_snapshot.id"],
            name="fk_progress_latest_snapshot",
            ondelete="CASCADE",
        ),
    )
    # The history's newest row per subject (largest id: the order rows were recorded in).
    op.execute(
        "INSERT INTO progress_latest (kind, subject, snapshot_id, taken_at) "
        "SELECT p.kind, p.subject, p.id, p.taken_at FROM progress_snapshot p "
        "JOIN (SELECT kind, subject, MAX(id) AS id FROM progress_snapshot "
        "GROUP BY kind, subject) m ON m.id = p.id"
    )


def downgrade() -> None:
    op.drop_table("progress_latest")
