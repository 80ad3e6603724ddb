"""The receiver's insert writes to fewer inbox indexes

Every webhook event is one INSERT, and each index of webhook_event is written by it inside the
request, before Jira gets its 2xx (benchmarks/bench_webhooks.py). Two of them gave the insert
work for nothing:

- ix_webhook_event_issue_key: no query looks events up by issue (the claim reads the column), and
  its entries land at random places of the tree, a page read at size;
- ix_webhook_event_pending (status, id): the claim reads the partial index of pending events
  (0009); pruning and the dead letters read the other statuses. It becomes a partial index of the
  settled events (status <> 'pending'), which an insert (a pending event) never writes to: the
  worker's update does, and that update writes every index anyway (status is indexed).

What is left on the insert: the primary key, the delivery id (duplicates) and the pending events.

Revision ID: 0011
Revises: 0009
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0009"
branch_labels = None
depends_on = None

_SETTLED = sa.text("status <> 'pending'")


def upgrade() -> None:
    op.create_index(
        "ix_webhook_event_settled",
        "webhook_event",
        ["status", "id"],
        postgresql_where=_SETTLED,
        sqlite_where=_SETTLED,
    )
    op.drop_index("ix_webhook_event_pending", table_name="webhook_event")
    op.drop_index("ix_webhook_event_issue_key", table_name="webhook_event")


def downgrade() -> None:
    op.create_index("ix_webhook_event_issue_key", "webhook_event", ["issue_key"])
    op.create_index("ix_webhook_event_pending", "webhook_event", ["status", "id"])
    op.drop_index("ix_webhook_event_settled", table_name="webhook_event")
