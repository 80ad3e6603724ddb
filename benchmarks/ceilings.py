"""The two ceilings bench_webhooks.py measures okr-jira's receiver against, served by the same
gunicorn command line:

    gunicorn --workers 2 --pythonpath benchmarks "ceilings:bare_app()"     # HTTP ceiling
    gunicorn --workers 2 --pythonpath benchmarks "ceilings:durable_app()"  # durable ack

`bare_app` reads the body and answers 200: what Flask under gunicorn costs, nothing more.
`durable_app` stores the raw body in the same database okr-jira uses (the engine okr-jira's
`make_engine` builds: same driver, same SQLite pragmas, same pool) with one INSERT and its commit
per request, straight on the driver connection, then answers: the least any receiver that
acknowledges only what it stored can do. On PostgreSQL the INSERT runs in autocommit mode (one
round trip, committed durably when it returns), as okr-jira's receiver does; on SQLite it waits
for the write lock with SQLite's own busy handler. No signature check, no parsing, no duplicate
detection, no index but the key: a ceiling, not a receiver.
The database URL is read from OKR_JIRA_DATABASE_URL, as okr-jira reads it.
"""

from __future__ import annotations

import os

from flask import Flask, Response, request
from sqlalchemy import Column, Engine, Integer, LargeBinary, MetaData, Table

from okr_jira.storage.db import make_engine

METADATA = MetaData()
CEILING = Table(
    "ceiling_inbox",
    METADATA,
    Column("id", Integer, primary_key=True),
    Column("body", LargeBinary, nullable=False),
)
_OK = b'{"status":"stored"}\n'


def create_table(engine: Engine) -> None:
    """The ceiling's table, beside okr-jira's own in the same database (benchmark only)."""
    METADATA.create_all(engine)


def bare_app() -> Flask:
    app = Flask(__name__)

    @app.post("/webhooks/jira")
    def receive() -> Response:
        request.get_data()
        return Response(_OK, mimetype="application/json")

    return app


def durable_app() -> Flask:
    app = Flask(__name__)
    engine = make_engine(os.environ["OKR_JIRA_DATABASE_URL"], pool_pre_ping=False)
    sqlite = engine.dialect.name == "sqlite"
    sql = f"INSERT INTO {CEILING.name} (body) VALUES ({'?' if sqlite else '%s'})"

    @app.post("/webhooks/jira")
    def receive() -> Response:
        # The pooled driver connection, the driver's own SQL: nothing between Flask and the INSERT.
        raw = engine.raw_connection()
        try:
            if sqlite:
                raw.execute(sql, (request.get_data(),))
                raw.commit()
            else:
                raw.driver_connection.autocommit = True
                try:
                    raw.execute(sql, (request.get_data(),))
                finally:
                    raw.driver_connection.autocommit = False
        finally:
            raw.close()
        return Response(_OK, mimetype="application/json")

    return app
