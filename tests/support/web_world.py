"""A web app over the example OKRs with a few stored issues, and tokens of every kind."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from flask.testing import FlaskClient
from flask_openapi3 import OpenAPI
from sqlalchemy import Engine

from okr_jira.okrs.file import load_okr_file
from okr_jira.okrs.plan import apply_plan, make_plan
from okr_jira.runtime.tokens import create_token, revoke_token
from okr_jira.settings import load_settings
from okr_jira.storage.db import session_scope
from okr_jira.storage.issues import upsert_snapshots
from tests.support.builders import make_issue
from tests.support.paths import EXAMPLE_OKRS, SESSION_SECRET, WEBHOOK_SECRET
from webhooks import create_app

NOW = dt.datetime(2026, 11, 15, 12, tzinfo=dt.UTC)


@dataclass
class WebWorld:
    engine: Engine
    app: OpenAPI
    admin: str
    read: str
    revoked: str

    def client(self) -> FlaskClient:
        return self.app.test_client()

    def headers(self, who: str | None) -> dict[str, str]:
        token = {"admin": self.admin, "read": self.read, "revoked": self.revoked}.get(who or "")
        return {"Authorization": f"Bearer {token}"} if token else {}


def issues() -> list[Any]:
    """SUP issues: four under epic SUP-12 (two done), three labelled `refunds`."""
    return [
        make_issue("SUP-12", issue_type="Epic"),
        make_issue("SUP-13", epic="SUP-12", status_category="done", labels=["refunds"]),
        make_issue("SUP-14", epic="SUP-12", status_category="done"),
        make_issue("SUP-15", epic="SUP-12", status_category="indeterminate", labels=["refunds"]),
        make_issue("SUP-16", epic="SUP-12", labels=["refunds"]),
        make_issue("SUP-17", status_category="done"),
    ]


def build_web_world(engine: Engine, **settings: Any) -> WebWorld:
    with session_scope(engine) as session:
        apply_plan(session, make_plan(session, load_okr_file(EXAMPLE_OKRS)), actor="setup")
        upsert_snapshots(session=session, snapshots=issues(), now=NOW)
    admin = create_token(engine, "ana", "admin", created_by="test")
    read = create_token(engine, "rob", "read", created_by="test")
    revoked = create_token(engine, "old", "admin", created_by="test")
    revoke_token(engine, "old")
    values = {
        "database_url": str(engine.url), "session_secret": SESSION_SECRET,
        "webhook_secret": WEBHOOK_SECRET, **settings,
    }  # fmt: skip
    app = create_app(load_settings(None, **values), engine=engine)
    return WebWorld(engine, app, admin, read, revoked)
