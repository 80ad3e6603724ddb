"""The web app and the JSON API, as blueprints the Flask app (webhooks.create_app) composes:
pages under /, the API under /api/v1, its OpenAPI document at /api/openapi.json.

Nothing here runs on the webhook receiver's path: sessions are skipped there, and CSRF is checked
by the pages and the API themselves, not by an app-wide hook.
"""

from __future__ import annotations

import datetime as dt

from flask_openapi3 import OpenAPI

from okr_jira.errors import ConfigError
from okr_jira.runtime.wiring import Wiring
from okr_jira.web.api import api
from okr_jira.web.auth import AuthConfig, WebSessions
from okr_jira.web.pages import pages
from okr_jira.web.service import Services

SECURITY_SCHEMES = {"bearer": {"type": "http", "scheme": "bearer"}}


def init_web(app: OpenAPI, wiring: Wiring) -> None:
    """Attach the pages and the API to `app`; refuses to start without a strong session secret
    (Settings refuses a weak one)."""
    secret = wiring.settings.session_secret
    if secret is None:
        raise ConfigError(
            "OKR_JIRA_SESSION_SECRET is not set: the web app signs its session cookies with it "
            "(32+ random characters, e.g. `openssl rand -hex 32`, the same on every process)"
        )
    app.secret_key = secret.get_secret_value()
    app.config.update(
        SESSION_COOKIE_NAME="okr_jira_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=12),
        WTF_CSRF_TIME_LIMIT=12 * 3600,
    )
    app.session_interface = WebSessions()
    app.extensions["okr_jira_auth"] = AuthConfig.from_wiring(wiring)
    app.extensions["okr_jira_services"] = Services(wiring)
    app.register_api(api)
    app.register_blueprint(pages)


__all__ = ["SECURITY_SCHEMES", "init_web"]
