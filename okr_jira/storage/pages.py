"""What okr-jira last wrote to Confluence: one row per page (cycle, subject)."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session, col, select

from okr_jira.storage.tables import PublishedPageRow


def page_rows(*, session: Session, cycle: str) -> dict[str, PublishedPageRow]:
    """subject ("root", "archived", "review" or an objective key) -> its row, detached."""
    rows = {
        row.subject: row
        for row in session.exec(
            select(PublishedPageRow).where(col(PublishedPageRow.cycle) == cycle)
        )
    }
    for row in rows.values():
        session.expunge(row)
    return rows


def save_page(
    *,
    session: Session,
    cycle: str,
    subject: str,
    page_id: str,
    parent_page_id: str | None,
    version: int,
    at: dt.datetime,
    title: str | None,
    content_hash: str | None,
    inputs_hash: str | None = None,
) -> PublishedPageRow:
    """Record a page Confluence accepted; `title`, `content_hash` and `inputs_hash` None keep
    the stored ones (a page moved to the archive keeps what it showed). Returns the row,
    detached."""
    row = session.exec(
        select(PublishedPageRow).where(
            col(PublishedPageRow.cycle) == cycle, col(PublishedPageRow.subject) == subject
        )
    ).first() or PublishedPageRow(
        cycle=cycle, subject=subject, page_id=page_id, title=title or "", content_hash=""
    )
    row.page_id = page_id
    row.parent_page_id = parent_page_id
    row.version = version
    row.published_at = at
    if title is not None:
        row.title = title
    if content_hash is not None:
        row.content_hash = content_hash
    if inputs_hash is not None:
        row.inputs_hash = inputs_hash
    session.add(row)
    session.flush()
    session.expunge(row)
    return row


def save_inputs_hash(*, session: Session, cycle: str, subject: str, inputs_hash: str) -> None:
    """Remember what an unchanged page was made from (it was rendered and found the same)."""
    row = session.exec(
        select(PublishedPageRow).where(
            col(PublishedPageRow.cycle) == cycle, col(PublishedPageRow.subject) == subject
        )
    ).first()
    if row is not None:
        row.inputs_hash = inputs_hash
        session.add(row)
