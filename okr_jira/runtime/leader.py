"""Exactly one scheduler leads at a time.

PostgreSQL: a session-level advisory lock held on a dedicated connection; when the leader dies its
connection closes, the lock is released, and the next follower to try takes over (schedulers try
every few seconds). SQLite is single-node: a lease row refuses a second live scheduler and says so.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import socket
from typing import Any

from sqlalchemy import Engine, text

from okr_jira.errors import OkrJiraError
from okr_jira.storage import state
from okr_jira.storage.db import is_sqlite, session_scope
from okr_jira.storage.tables import utcnow

log = logging.getLogger(__name__)

LOCK_KEY = 0x6F6B726A  # "okrj": the advisory lock id of the scheduler leader
# Advisory locks are per database, okr-jira's tables per schema: the schema is the lock's first
# key, so deployments in two schemas of one database do not elect one leader between them.
_TRY_LOCK = "SELECT pg_try_advisory_lock(hashtext(current_schema()), :k)"


class SingleNodeError(OkrJiraError):
    """A second scheduler was asked for on SQLite."""


class Leadership:
    def __init__(self, engine: Engine, *, lease_seconds: float = 30.0) -> None:
        self.engine = engine
        self.lease = dt.timedelta(seconds=lease_seconds)
        self.identity = f"{socket.gethostname()}:{os.getpid()}"
        self._conn: Any = None
        self.is_leader = False

    def try_acquire(self) -> bool:
        """Become (or stay) the leader if possible; returns whether this process leads."""
        if is_sqlite(self.engine):
            return self._sqlite_lease()
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT 1"))
                return True
            except Exception:
                log.warning("leader.connection_lost")
                self._drop()
        conn = self.engine.connect()
        got = bool(conn.execute(text(_TRY_LOCK), {"k": LOCK_KEY}).scalar())
        conn.commit()
        if got:
            self._conn = conn
            if not self.is_leader:
                log.info("leader.elected", extra={"identity": self.identity})
            self.is_leader = True
        else:
            conn.close()
            self.is_leader = False
        return self.is_leader

    def _sqlite_lease(self) -> bool:
        now = utcnow()
        with session_scope(self.engine) as session:
            lease = state.SCHEDULER_LEASE.get(session=session)
            if lease:
                expires = dt.datetime.fromisoformat(lease["expires"])
                if lease["holder"] != self.identity and expires > now:
                    raise SingleNodeError(
                        f"another scheduler ({lease['holder']}) is running on this SQLite "
                        "database; SQLite is single-node: use PostgreSQL "
                        "(OKR_JIRA_DATABASE_URL=postgresql+psycopg://...) to run several processes"
                    )
            value = {"holder": self.identity, "expires": (now + self.lease).isoformat()}
            state.SCHEDULER_LEASE.set(value, session=session)
        if not self.is_leader:
            log.info("leader.elected", extra={"identity": self.identity})
        self.is_leader = True
        return True

    def release(self) -> None:
        if is_sqlite(self.engine) and self.is_leader:
            with session_scope(self.engine) as session:
                state.SCHEDULER_LEASE.set(None, session=session)
        self._drop()
        self.is_leader = False

    def _drop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None
