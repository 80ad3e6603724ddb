"""The Jira remote links okr-jira wrote: one row per (issue, KR), with the hash of what it says."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import delete, tuple_
from sqlmodel import Session, select

from okr_jira.storage.chunks import chunked
from okr_jira.storage.tables import JiraRemoteLinkRow

Pair = tuple[str, str]  # (issue key, KR key)


def written_links(*, session: Session) -> dict[Pair, JiraRemoteLinkRow]:
    """(issue, KR) -> the link as last written."""
    return {(row.issue_key, row.kr): row for row in session.exec(select(JiraRemoteLinkRow))}


def save_link(
    *,
    session: Session,
    issue: str,
    kr: str,
    global_id: str,
    content_hash: str,
    link_id: str | None,
    at: dt.datetime,
) -> None:
    row = session.get(JiraRemoteLinkRow, (issue, kr))
    if row is None:
        row = JiraRemoteLinkRow(issue_key=issue, kr=kr, global_id=global_id, content_hash="")
    row.global_id, row.content_hash, row.written_at = global_id, content_hash, at
    row.link_id = link_id or row.link_id
    session.add(row)


def forget_links(*, session: Session, pairs: Iterable[Pair]) -> None:
    table = JiraRemoteLinkRow.__table__  # type: ignore[attr-defined]
    for chunk in chunked(list(pairs), 400):
        session.connection().execute(
            delete(table).where(tuple_(table.c.issue_key, table.c.kr).in_(chunk))
        )
