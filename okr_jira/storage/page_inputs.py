"""Change marks of what the published pages show, read in a few aggregate queries: planning a
publish compares them (hashed per page) with what each page was last written from, instead of
reading every linked issue and rendering every page.

A KR's scope mark is (open links, the newest open link's id, the newest `seen_at` of their
snapshots): a join makes a new link row, a leave closes one, and every stored change of a
snapshot (new values, deleted) sets its `seen_at`, so any change of the issues a KR lists
moves the mark. A subject's history mark is (points, the newest point's id): it moves with every
point recorded, also one equal to the last (a sync records every KR), so it can only say that a
chart may have changed; the page is then rendered and compared when it is published.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable

from sqlalchemy import Table, func
from sqlalchemy import select as sa_select
from sqlmodel import Session

from okr_jira.storage.chunks import rows_in
from okr_jira.storage.tables import IssueSnapshotRow, KrIssueLinkRow, ProgressSnapshotRow

_LINKS: Table = KrIssueLinkRow.__table__  # type: ignore[attr-defined]
_SNAPSHOTS: Table = IssueSnapshotRow.__table__  # type: ignore[attr-defined]
_HISTORY: Table = ProgressSnapshotRow.__table__  # type: ignore[attr-defined]

ScopeMark = tuple[int, int, dt.datetime | None]


def scope_marks(*, session: Session, krs: Iterable[str]) -> dict[str, ScopeMark]:
    """KR -> its scope mark, for the KRs of `krs` with at least one open link."""
    query = (
        sa_select(_LINKS.c.kr, func.count(), func.max(_LINKS.c.id), func.max(_SNAPSHOTS.c.seen_at))
        .select_from(_LINKS.outerjoin(_SNAPSHOTS, _SNAPSHOTS.c.key == _LINKS.c.issue_key))
        .where(_LINKS.c.left_at.is_(None))
        .group_by(_LINKS.c.kr)
    )
    conn = session.connection()
    return {kr: (n, last, seen) for kr, n, last, seen in rows_in(conn, query, _LINKS.c.kr, krs)}


def history_marks(
    *, session: Session, subjects: Collection[str]
) -> dict[tuple[str, str], tuple[int, int]]:
    """(kind, subject) -> (points, newest point's id) of its progress history, for `subjects`
    (objective and KR keys) with any. Read from the (kind, subject, taken_at) index alone."""
    query = sa_select(
        _HISTORY.c.kind, _HISTORY.c.subject, func.count(), func.max(_HISTORY.c.id)
    ).group_by(_HISTORY.c.kind, _HISTORY.c.subject)
    wanted = set(subjects)
    return {
        (kind, subject): (n, last)
        for kind, subject, n, last in session.connection().execute(query)
        if subject in wanted
    }
