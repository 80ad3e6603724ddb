"""Partial indexes of the mappings in error and the mappings no sync has resolved yet

Every webhook batch reads both (the KRs in error keep their scope; an unsynced KR shows no
progress yet): with 20,000 KRs, a scan of kr_mapping each time made one webhook's cost grow with
the site. Both sets are a few rows, or none, once a sync has run.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_ERROR = sa.text("error IS NOT NULL")
_UNRESOLVED = sa.text("resolved_at IS NULL")


def upgrade() -> None:
    op.create_index(
        "ix_kr_mapping_in_error", "kr_mapping", ["kr"],
        postgresql_where=_ERROR, sqlite_where=_ERROR,
    )  # fmt: skip
    op.create_index(
        "ix_kr_mapping_unresolved", "kr_mapping", ["kr"],
        postgresql_where=_UNRESOLVED, sqlite_where=_UNRESOLVED,
    )  # fmt: skip


def downgrade() -> None:
    op.drop_index("ix_kr_mapping_unresolved", table_name="kr_mapping")
    op.drop_index("ix_kr_mapping_in_error", table_name="kr_mapping")
