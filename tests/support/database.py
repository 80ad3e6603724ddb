"""Database fixtures: a fresh, migrated database per test.

SQLite by default; PostgreSQL when OKR_JIRA_TEST_DATABASE_URL is set (each test then gets its own
schema, so parallel workers never see each other's rows).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from okr_jira.storage.db import make_engine, upgrade

PG_URL_ENV = "OKR_JIRA_TEST_DATABASE_URL"
_counter = itertools.count()


@contextlib.contextmanager
def fresh_database(tmp_path: Path, worker_id: str, name: str = "okr") -> Iterator[str]:
    """URL of an empty database (no schema yet), dropped afterwards on PostgreSQL."""
    pg = os.environ.get(PG_URL_ENV)
    if not pg:
        yield f"sqlite:///{tmp_path / f'{name}.db'}"
        return
    schema = f"t_{worker_id}_{os.getpid()}_{next(_counter)}".lower()
    admin = make_engine(pg)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in pg else "?"
    yield pg + sep + "options=" + urllib.parse.quote(f"-csearch_path={schema}")
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


@contextlib.contextmanager
def fresh_engine(tmp_path: Path, worker_id: str, name: str) -> Iterator[Engine]:
    """A second migrated database in one test (`name` tells it from the first on SQLite)."""
    with fresh_database(tmp_path, worker_id, name) as url:
        eng = make_engine(url)
        upgrade(eng)
        yield eng
        eng.dispose()


@pytest.fixture
def database_url(tmp_path: Path, worker_id: str) -> Iterator[str]:
    """URL of an empty database (no schema yet)."""
    with fresh_database(tmp_path, worker_id) as url:
        yield url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A migrated database."""
    eng = make_engine(database_url)
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def db_env(database_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point the CLI at the test database through the environment, as a user would."""
    monkeypatch.setenv("OKR_JIRA_DATABASE_URL", database_url)
    monkeypatch.delenv("OKR_JIRA_CONFIG", raising=False)
    return database_url
