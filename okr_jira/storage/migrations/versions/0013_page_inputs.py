"""What each published page was made from: a fingerprint of its inputs

Planning a publish compares it with the fingerprint of the page's inputs now, so a page whose
inputs did not change is known unchanged without rendering it (4,000 pages took minutes to
render at the largest sites). Empty for pages written before: those are rendered once more.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("published_page") as batch:
        batch.add_column(
            sa.Column("inputs_hash", sa.String(length=64), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("published_page") as batch:
        batch.drop_column("inputs_hash")
