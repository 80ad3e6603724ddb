"""Indexes for the hot queries of the largest sites (benchmarks/explain_plans.py)

- kr_issue_link: the open links of an issue (every webhook event, every relink) from a partial
  index of open links only, holding the KR and the id too, so PostgreSQL answers from the index
  alone instead of visiting the links each issue ever had;
- webhook_event: the pending events the workers claim from a partial index of pending events,
  which stays a few pages long however many million events have been applied;
- progress_snapshot (PostgreSQL): the tree's latest points (progress_latest joined to the
  history by id) from an index that holds what the tree reads, so the join looks up 4,000
  objectives in the index instead of scanning a history of a million points. SQLite finds
  rows by id in the table's own B-tree already.

Revision ID: 0009
Revises: 0010
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0010"
branch_labels = None
depends_on = None

_OPEN = sa.text("left_at IS NULL")
_PENDING = sa.text("status = 'pending'")
# What storage.progress.latest_points reads of each point.
POINT_COLUMNS = (
    "subject",
    "progress",
    "current",
    "issues_total",
    "issues_done",
    "issues_in_progress",
)


def upgrade() -> None:
    op.create_index(
        "ix_kr_issue_link_open_by_issue",
        "kr_issue_link",
        ["issue_key", "kr", "id"],
        postgresql_where=_OPEN,
        sqlite_where=_OPEN,
    )
    op.create_index(
        "ix_webhook_event_pending_only",
        "webhook_event",
        ["id"],
        postgresql_where=_PENDING,
        sqlite_where=_PENDING,
    )

    if op.get_bind().dialect.name == "postgresql":
        op.create_index(
            "ix_progress_snapshot_point",
            "progress_snapshot",
            ["id"],
            postgresql_include=list(POINT_COLUMNS),
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_progress_snapshot_point", table_name="progress_snapshot")
    op.drop_index("ix_webhook_event_pending_only", table_name="webhook_event")
    op.drop_index("ix_kr_issue_link_open_by_issue", table_name="kr_issue_link")
