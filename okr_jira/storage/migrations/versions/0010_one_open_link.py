"""At most one open link per (KR, issue)

A sync and a webhook worker that both saw an issue outside a KR could each open a link for it;
a later leave closed one and the issue kept counting. Duplicates already stored are the same
join written twice: the newer copies are dropped, the oldest open link stays.

Revision ID: 0010
Revises: 0006
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "DELETE FROM kr_issue_link WHERE left_at IS NULL AND EXISTS ("
        " SELECT 1 FROM kr_issue_link older WHERE older.kr = kr_issue_link.kr"
        " AND older.issue_key = kr_issue_link.issue_key AND older.left_at IS NULL"
        " AND older.id < kr_issue_link.id)"
    )
    op.create_index(
        "ux_kr_issue_link_open_once", "kr_issue_link", ["kr", "issue_key"], unique=True,
        sqlite_where=sa.text("left_at IS NULL"), postgresql_where=sa.text("left_at IS NULL"),
    )  # fmt: skip


def downgrade() -> None:
    op.drop_index("ux_kr_issue_link_open_once", table_name="kr_issue_link")
