"""check-ins on objectives, where teams are notified, the notification outbox, carried objectives

- checkin: a team's check-in on an objective or one of its KRs: `objective` (filled in for the
  existing KR check-ins from their KR), `confidence` (0..10), `blockers`, `retro`; `kr` and
  `value` become optional (an objective check-in has neither).
- team.notify: JSON naming the environment variables of a team's Slack / Teams webhooks and its
  e-mail recipients.
- objective.carried_from, key_result.carried_from: the earlier cycle's keys a rollover carried.
- notify_outbox (one row per message, period and channel) and notify_channel (channel health).

Revision ID: 0007
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0007"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("checkin") as batch:
        batch.add_column(
            sa.Column("objective", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch.add_column(sa.Column("confidence", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("blockers", sa.Text(), nullable=True))
        batch.add_column(sa.Column("retro", sa.Text(), nullable=True))
        batch.alter_column(
            "kr", existing_type=sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True
        )
        batch.alter_column("value", existing_type=sa.Float(), nullable=True)
        batch.create_index("ix_checkin_objective", ["objective"], unique=False)
    op.execute(
        "UPDATE checkin SET objective = "
        "(SELECT key_result.objective FROM key_result WHERE key_result.key = checkin.kr) "
        "WHERE objective IS NULL"
    )
    with op.batch_alter_table("team") as batch:
        batch.add_column(sa.Column("notify", sa.Text(), nullable=False, server_default="{}"))
    with op.batch_alter_table("objective") as batch:
        batch.add_column(
            sa.Column("carried_from", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
    with op.batch_alter_table("key_result") as batch:
        batch.add_column(
            sa.Column("carried_from", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
    op.create_table(
        "notify_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dedupe_key", sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("period", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("claimed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("sent_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedupe_key", name="uq_notify_outbox_dedupe"),
    )
    op.create_index("ix_notify_outbox_due", "notify_outbox", ["status", "next_attempt_at"])
    op.create_table(
        "notify_channel",
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("fingerprint", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("last_ok_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("channel"),
    )


def downgrade() -> None:
    op.drop_table("notify_channel")
    op.drop_index("ix_notify_outbox_due", table_name="notify_outbox")
    op.drop_table("notify_outbox")
    with op.batch_alter_table("key_result") as batch:
        batch.drop_column("carried_from")
    with op.batch_alter_table("objective") as batch:
        batch.drop_column("carried_from")
    with op.batch_alter_table("team") as batch:
        batch.drop_column("notify")
    op.execute("DELETE FROM checkin WHERE kr IS NULL OR value IS NULL")
    with op.batch_alter_table("checkin") as batch:
        batch.drop_index("ix_checkin_objective")
        batch.drop_column("retro")
        batch.drop_column("blockers")
        batch.drop_column("confidence")
        batch.drop_column("objective")
        batch.alter_column(
            "kr", existing_type=sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False
        )
        batch.alter_column("value", existing_type=sa.Float(), nullable=False)
