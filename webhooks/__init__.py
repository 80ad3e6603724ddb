"""The webhook receiver: a Flask app factory served by `okr-jira serve` or gunicorn.

    gunicorn --workers 2 --bind 127.0.0.1:8080 "webhooks:create_app()"

Settings are read when the factory is called (never at import time) and passed in by tests.
"""

from __future__ import annotations

import gc
import logging

from flask import Response
from flask_openapi3 import Info, OpenAPI
from sqlalchemy import Engine

from okr_jira.errors import ConfigError
from okr_jira.logs import redact_server_logs
from okr_jira.runtime.wiring import Wiring
from okr_jira.settings import MIN_SECRET, Settings, load_settings
from okr_jira.storage.db import make_engine
from okr_jira.web import SECURITY_SCHEMES, init_web
from okr_jira.web.errors import validation_error
from webhooks.admin import AdminState, admin
from webhooks.errors import register_error_handlers
from webhooks.fastpath import FastPath
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
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    if secret is None:
        # Jira signs with it, or puts it in the URL: without one anybody could post events.
        raise ConfigError(
            "OKR_JIRA_WEBHOOK_SECRET is not set: the receiver refuses to start without a secret "
            f"of at least {MIN_SECRET} characters (e.g. `openssl rand -hex 24`)"
        )
    redact_server_logs([secret, settings.admin_token, settings.jira_token, settings.session_secret])
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
    # Bodies are read with webhooks.bodies.read_body, which refuses (413) what is over the
    # limit whatever the framing; Werkzeug's own limit stays as a second line.
    app.config["MAX_CONTENT_LENGTH"] = settings.webhook_max_bytes
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
        max_bytes=settings.webhook_max_bytes,
    )
    app.register_blueprint(bp)
    app.register_blueprint(admin)
    init_web(app, wiring)
    register_error_handlers(app)
    app.after_request(_security_headers)
    # Signed JSON events answered before Flask builds a request (webhooks/fastpath.py).
    app.wsgi_app = FastPath(app.wsgi_app, app.extensions["okr_jira"])  # type: ignore[method-assign]
    _serving_gc()
    return app


# The tree of 2,000 key results allocates some 10^5 objects per request; with CPython's default
# thresholds (700, 10, 10) that sets off full collections walking the whole heap mid-request, and
# the tree's p95 was three times its p50 (benchmarks/bench_web.py). Collected less often, the
# p95 came down to about 1.2x the p50; the garbage cycles waiting meanwhile are a few MB.
_GC_THRESHOLDS = (20_000, 20, 20)


def _serving_gc() -> None:
    if gc.get_threshold()[0] < _GC_THRESHOLDS[0]:
        gc.set_threshold(*_GC_THRESHOLDS)


def _security_headers(response: Response) -> Response:
    # Never sniffed as another type; what an authenticated answer holds is never kept by a cache
    # (an answer that says how it may be cached, a static asset, keeps its own header).
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Cache-Control", "no-store")
    return response


__all__ = ["create_app"]
