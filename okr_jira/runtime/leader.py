"""Exactly one scheduler leads at a time, and a dead leader never blocks the next one.

PostgreSQL: whoever holds the advisory lock leads; followers try every few seconds, so a leader
that dies is replaced within one election period. SQLite is single-node: the lock is a file beside
the database, released by the kernel when its holder dies, so a restart after kill -9 starts at
once while a second live scheduler is refused, saying who holds it.
"""

from __future__ import annotations

import logging
import os
import socket

from sqlalchemy import Engine

from okr_jira.errors import OkrJiraError
from okr_jira.storage.db import is_sqlite
from okr_jira.storage.locks import AdvisoryLock, FileLock, sqlite_lock_path

log = logging.getLogger(__name__)

LOCK_KEY = 0x6F6B726A  # "okrj": the advisory lock id of the scheduler leader


class SingleNodeError(OkrJiraError):
    """A second scheduler was asked for on SQLite."""


class Leadership:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.identity = f"{socket.gethostname()}:{os.getpid()}"
        self.is_leader = False
        self._advisory: AdvisoryLock | None = None
        self._file: FileLock | None = None
        if not is_sqlite(engine):
            self._advisory = AdvisoryLock(engine, LOCK_KEY)
        elif (path := sqlite_lock_path(engine, "scheduler")) is not None:
            self._file = FileLock(path, self.identity)

    def try_acquire(self) -> bool:
        """Become (or stay) the leader if possible; returns whether this process leads.

        On SQLite a second live scheduler is refused with SingleNodeError, saying why."""
        if self._advisory is not None:
            got = self._advisory.try_acquire()
        elif self._file is not None:
            if not self._file.try_acquire():
                holder = self._file.holder() or "another process"
                raise SingleNodeError(
                    f"another scheduler ({holder}) is running on this SQLite database; SQLite "
                    "is single-node: use PostgreSQL (OKR_JIRA_DATABASE_URL="
                    "postgresql+psycopg://...) to run several processes"
                )
            got = True
        else:
            got = True  # an in-memory database: nobody else can reach it
        if got and not self.is_leader:
            log.info("leader.elected", extra={"identity": self.identity})
        self.is_leader = got
        return got

    def release(self) -> None:
        for lock in (self._advisory, self._file):
            if lock is not None:
                lock.release()
        self.is_leader = False
