"""api_token (named tokens with a role, stored hashed) and queued_job (sync/publish asked for
over the API, run by the scheduler's leader)

Revision ID: 0005
Revises: 0007
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0005"
down_revision = "0007"
branch_labels = None
depends_on = None

_STR = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", _STR(length=64), nullable=False),
        sa.Column("role", _STR(length=16), nullable=False),
        sa.Column("prefix", _STR(length=16), nullable=False),
        sa.Column("token_hash", _STR(length=64), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("created_by", _STR(length=200), nullable=True),
        sa.Column("revoked_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.UniqueConstraint("name", name="uq_api_token_name"),
    )
    op.create_index("ix_api_token_prefix", "api_token", ["prefix"])
    op.create_table(
        "queued_job",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", _STR(length=32), nullable=False),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("status", _STR(length=16), nullable=False),
        sa.Column("requested_by", _STR(length=200), nullable=False),
        sa.Column("requested_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("started_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("finished_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
    )
    op.create_index("ix_queued_job_status", "queued_job", ["status", "id"])


def downgrade() -> None:
    op.drop_index("ix_queued_job_status", table_name="queued_job")
    op.drop_table("queued_job")
    op.drop_index("ix_api_token_prefix", table_name="api_token")
    op.drop_table("api_token")
