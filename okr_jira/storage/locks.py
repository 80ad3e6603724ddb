"""The scheduler leader's lock, released by the operating system when its holder dies.

PostgreSQL: a session-level advisory lock held on a dedicated connection; when the holder dies its
connection closes and the server releases the lock. SQLite (single-node): an exclusive lock on a
file beside the database; when the holder dies, even by kill -9 or the OOM killer, the kernel
releases it, so an immediate restart takes it at once while a live second holder is refused.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path
from typing import IO, Any

import portalocker
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

log = logging.getLogger(__name__)

# Advisory locks are per database, okr-jira's tables per schema: the schema is the lock's first
# key, so deployments in two schemas of one database do not share one lock.
_TRY_LOCK = "SELECT pg_try_advisory_lock(hashtext(current_schema()), :k)"


class AdvisoryLock:
    """A PostgreSQL session-level advisory lock on a connection of its own."""

    def __init__(self, engine: Engine, key: int) -> None:
        self.engine = engine
        self.key = key
        self._conn: Any = None

    def try_acquire(self) -> bool:
        """Take the lock, or check it is still held; False when someone else holds it."""
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT 1"))
                return True
            except Exception:
                log.warning("lock.connection_lost")
                self.release()
        conn = self.engine.connect()
        got = bool(conn.execute(text(_TRY_LOCK), {"k": self.key}).scalar())
        conn.commit()
        if got:
            self._conn = conn
        else:
            conn.close()
        return got

    def release(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()  # the server releases a session lock with its session
            self._conn = None


class FileLock:
    """An exclusive lock (flock) on `path`, which names its holder while it is held."""

    def __init__(self, path: Path, identity: str) -> None:
        self.path = path
        self.identity = identity
        self._file: IO[str] | None = None

    def try_acquire(self) -> bool:
        """Take the lock (or keep it); False when another live process holds it."""
        if self._file is not None:
            return True
        handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held until release
        try:
            portalocker.lock(
                handle, portalocker.LockFlags.EXCLUSIVE | portalocker.LockFlags.NON_BLOCKING
            )
        except portalocker.exceptions.LockException:
            handle.close()
            return False
        handle.seek(0)
        handle.truncate()
        handle.write(self.identity)
        handle.flush()
        self._file = handle
        return True

    def holder(self) -> str:
        """Who holds the lock, as the holder wrote it ("" when unknown)."""
        try:
            return self.path.read_text(encoding="utf-8").strip()
        except OSError:
            return ""

    def release(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.truncate(0)
                portalocker.unlock(self._file)
            self._file.close()
            self._file = None


def sqlite_lock_path(engine: Engine, name: str) -> Path | None:
    """`<database file>.<name>.lock` beside an SQLite file database; None in memory."""
    database = make_url(str(engine.url)).database
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        return None
    return Path(os.path.abspath(database)).with_name(f"{Path(database).name}.{name}.lock")


_DECLARATION_LOCK = 0x0C12  # second key of the advisory lock serialising declaration edits


def lock_declaration(session: Session) -> None:
    """Serialise edits of the declaration until this transaction ends: each edit reads the stored
    OKRs and writes a plan against them, so two at once must not interleave.

    PostgreSQL: a transaction-level advisory lock. SQLite: taking the database's write lock now
    (a write to a state row) instead of at the edit's first write.
    """
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        conn.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(current_schema()), :k)"),
            {"k": _DECLARATION_LOCK},
        )
        return
    conn.execute(
        text("UPDATE sync_state SET updated_at = updated_at WHERE name = :n"),
        {"n": "okrs.edit_lock"},
    )
