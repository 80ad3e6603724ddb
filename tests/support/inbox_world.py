"""What the inbox tests share: the example OKRs applied as after a first full sync, and the CLI."""

from __future__ import annotations

import datetime as dt

import click
import pytest
from sqlalchemy import Engine
from sqlmodel import select

from okr_jira.inbox import WorkerOptions
from okr_jira.okrs.file import load_okr_file
from okr_jira.okrs.plan import apply_plan, make_plan
from okr_jira.storage.db import session_scope
from okr_jira.storage.tables import MappingRow
from tests.support.builders import THRESHOLDS
from tests.support.paths import EXAMPLE_OKRS

T0 = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
NOW = dt.datetime(2026, 11, 3, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def okr_engine(engine: Engine) -> Engine:
    """The example OKRs applied, and every mapping resolved as after a first full sync."""
    with session_scope(engine) as session:
        apply_plan(session, make_plan(session, load_okr_file(EXAMPLE_OKRS)), actor="test")
        for m in session.exec(select(MappingRow)):
            m.resolved_at = T0 - dt.timedelta(days=1)
            session.add(m)
    return engine


@pytest.fixture
def cli(db_env: str) -> click.Group:
    """`okr-jira` as a user runs it, against the test database."""
    from okr_jira.cli import main

    return main


# How tests apply events: as a worker with no Jira configured (fields as the sync stored them).
WORKER = WorkerOptions(thresholds=THRESHOLDS)
