"""The webhook receiver: a Flask app factory served by `okr-jira serve` or gunicorn.

    gunicorn --workers 2 --bind 127.0.0.1:8080 "webhooks:create_app()"

Settings are read when the factory is called (never at import time) and passed in by tests.
"""

from __future__ import annotations

import logging

from flask_openapi3 import Info, OpenAPI
from sqlalchemy import Engine

from okr_jira.runtime.wiring import Wiring
from okr_jira.settings import Settings, load_settings
from okr_jira.storage.db import make_engine
from okr_jira.web import SECURITY_SCHEMES, init_web
from okr_jira.web.errors import validation_error
from webhooks.admin import AdminState, admin
from webhooks.errors import register_error_handlers
from webhooks.routes import WebhookState, bp

log = logging.getLogger(__name__)


def create_app(
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    wiring: Wiring | None = None,
) -> OpenAPI:
    """The receiver, the web app and the APIs. `wiring`: the process's own (`okr-jira run`,
    `serve`); without it (gunicorn) one is built from `settings` (default: read from the
    environment)."""
    settings = settings or (wiring.settings if wiring else load_settings())
    # flask-openapi3's app: a Flask app that also serves /api/openapi.json, generated from the
    # API's pydantic models. It adds nothing to a request of the receiver's blueprint.
    app = OpenAPI(
        __name__,
        info=Info(title="okr-jira", version="1"),
        security_schemes=SECURITY_SCHEMES,  # type: ignore[arg-type]
        doc_prefix="/api",
        doc_url="/openapi.json",
        validation_error_callback=validation_error,
    )
    # Werkzeug answers 413 itself past this, even for chunked bodies.
    app.config["MAX_CONTENT_LENGTH"] = settings.webhook_max_bytes
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    if secret is None:
        log.warning("webhooks.unauthenticated: no webhook secret set; every POST is accepted")
    if wiring is None:
        # No pre-ping per checkout: a connection that died answers one request 503, which Jira
        # retries, and the pool replaces it; the ping's round trip on every event costs ~7%.
        engine = engine or make_engine(settings.database_url, pool_pre_ping=False)
        wiring = Wiring(settings, engine)
    app.extensions["okr_jira"] = WebhookState(
        engine=wiring.engine, secret=secret, max_bytes=settings.webhook_max_bytes
    )
    app.extensions["okr_jira_admin"] = AdminState(
        wiring=wiring,
        token=settings.admin_token.get_secret_value() if settings.admin_token else None,
    )
    app.register_blueprint(bp)
    app.register_blueprint(admin)
    init_web(app, wiring)
    register_error_handlers(app)
    return app


__all__ = ["create_app"]
