"""Named API tokens: created once, stored as a SHA-256 hash, found by a short prefix, revoked.

The token itself is never stored: `prefix` (the first characters, not secret enough to use alone)
picks the candidate rows and the hashes are compared in constant time by the caller.
"""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session, col, select

from okr_jira.storage.tables import ApiTokenRow


def add_token(
    *,
    session: Session,
    name: str,
    role: str,
    prefix: str,
    token_hash: str,
    created_by: str | None,
    at: dt.datetime,
) -> ApiTokenRow:
    row = ApiTokenRow(
        name=name, role=role, prefix=prefix, token_hash=token_hash, created_by=created_by,
        created_at=at,
    )  # fmt: skip
    session.add(row)
    session.flush()
    return row


def token_named(*, session: Session, name: str) -> ApiTokenRow | None:
    return session.exec(select(ApiTokenRow).where(col(ApiTokenRow.name) == name)).first()


def tokens_with_prefix(*, session: Session, prefix: str) -> list[ApiTokenRow]:
    """Live (unrevoked) tokens whose prefix is `prefix`."""
    query = select(ApiTokenRow).where(
        col(ApiTokenRow.prefix) == prefix, col(ApiTokenRow.revoked_at).is_(None)
    )
    return list(session.exec(query))


def all_tokens(*, session: Session) -> list[ApiTokenRow]:
    return list(session.exec(select(ApiTokenRow).order_by(col(ApiTokenRow.name))))


def revoke_token(*, session: Session, name: str, at: dt.datetime) -> bool:
    """Revoke the live token `name`; False when there is none."""
    row = token_named(session=session, name=name)
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = at
    session.add(row)
    return True
