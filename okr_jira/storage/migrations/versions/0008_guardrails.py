"""Guardrails: kr_mapping.baseline_at, and cycle_health (each cycle's signals, kept by the sync)

A mapping's baseline is its scope at the first sync after it was added or changed: scope changes
are measured against it and what joined then is never a backfill. resolved_at moves with every
full sync, so the baseline needs its own column; mappings stored before take their last
resolution as their baseline (the best that is known).

Revision ID: 0008
Revises: 0005
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0008"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("kr_mapping") as batch:
        batch.add_column(
            sa.Column("baseline_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
    op.execute("UPDATE kr_mapping SET baseline_at = resolved_at")
    op.create_table(
        "cycle_health",
        sa.Column("cycle", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("computed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("cycle"),
    )


def downgrade() -> None:
    op.drop_table("cycle_health")
    with op.batch_alter_table("kr_mapping") as batch:
        batch.drop_column("baseline_at")
