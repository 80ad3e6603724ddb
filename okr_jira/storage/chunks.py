"""Bounded IN lists: the one place a long list of keys or ids is cut into chunks.

SQLite builds before 3.32 allow 999 host parameters and PostgreSQL plans a list of thousands slower
than a few short ones, so every `IN (...)` okr-jira sends holds at most IN_MAX values.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar

from sqlalchemy import Connection, Select

T = TypeVar("T")
IN_MAX = 500


def chunked(values: Iterable[T], size: int = IN_MAX) -> Iterator[list[T]]:
    """`values` in lists of at most `size`, in order."""
    items: Sequence[T] = values if isinstance(values, Sequence) else list(values)
    for i in range(0, len(items), size):
        yield list(items[i : i + size])


def rows_in(
    conn: Connection, query: Select[Any], column: Any, values: Iterable[Any]
) -> Iterator[Any]:
    """The rows of `query` restricted to `column IN values`, one statement per chunk."""
    for chunk in chunked(values):
        yield from conn.execute(query.where(column.in_(chunk)))
