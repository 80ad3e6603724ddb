"""SimulatorServer: the Flask app of one simulated Atlassian site, served on loopback."""

from __future__ import annotations

import base64
import binascii
import hmac
import re
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Literal

from flask import Flask, Response, g, request
from werkzeug.http import http_date
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from okr_jira.simulator.browse import register_browse_routes
from okr_jira.simulator.control import register_control_routes
from okr_jira.simulator.faults import Fault, Faults, Stats
from okr_jira.simulator.http import JSON_TYPE, error_response, json_response
from okr_jira.simulator.jira import JiraSim
from okr_jira.simulator.jira_routes import register_jira_routes

Flavor = Literal["cloud", "datacenter"]
_CONVERTER = re.compile(r"<[^<>:]+:([^<>]+)>")  # "<any(...):ver>" -> "<ver>" in stats keys


class _QuietHandler(WSGIRequestHandler):
    """No access log on stderr: tests and benchmarks make thousands of requests."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None

    def send_response(self, code: int, message: str | None = None) -> None:
        # The app dates every answer by the simulated clock; the stdlib would add a second
        # Date header by the real one.
        self.send_response_only(code, message)
        self.send_header("Server", self.version_string())


@dataclass(frozen=True, slots=True)
class Credentials:
    """What the simulated site accepts. Cloud: Basic email + API token. Data Center: Bearer
    personal access token, or Basic username + password."""

    email: str = "okr-bot@example.com"
    api_token: str = "sim-api-token"
    username: str = "okr-bot"
    password: str = "sim-password"
    pat: str = "sim-personal-access-token"
    user: str = "okr-bot"  # the JiraSim user these credentials log in as


def create_app(
    flavor: Flavor,
    *,
    jira: JiraSim | None,
    confluence: Any = None,
    faults: Faults,
    stats: Stats,
    credentials: Credentials,
) -> Flask:
    app = Flask("okr_jira.simulator")
    cloud = flavor == "cloud"

    @app.before_request
    def simulate() -> Response | None:
        if request.path.startswith(("/_sim/", "/browse/")):
            return None  # control routes; issue pages a browser opens from a link
        rule = request.url_rule.rule if request.url_rule is not None else request.path
        route = _CONVERTER.sub(r"<\1>", rule)
        stats.count(f"{request.method} {route}")
        delay = faults.delay_seconds()
        if delay:
            time.sleep(delay)
        fault = faults.next_fault()
        if fault is not None:
            return _fault_response(fault)
        user = _authenticate(cloud, credentials)
        if user is None:
            return _unauthorized(cloud)
        g.sim_user = user
        return None

    @app.after_request
    def count_status(response: Response) -> Response:
        if not request.path.startswith("/_sim/"):
            stats.count_status(response.status_code)
        # Every HTTP server dates its answers; Jira's simulated clock lets a client measure its
        # skew as it would against a real site.
        response.headers["Date"] = http_date(jira.clock() if jira is not None else None)
        return response

    @app.errorhandler(404)
    def not_found(_: Exception) -> Response:
        return error_response(404, "null for uri: " + request.url)

    @app.errorhandler(405)
    def not_allowed(_: Exception) -> Response:
        return error_response(405, "Method Not Allowed")

    register_control_routes(app, jira, faults, stats, confluence)
    if jira is not None:
        register_jira_routes(app, jira)
        register_browse_routes(app, jira)
    if confluence is not None:
        from okr_jira.simulator.confluence_routes import register_confluence_routes

        register_confluence_routes(
            app, confluence, prefix="/wiki/rest/api" if cloud else "/rest/api"
        )
    return app


def _authenticate(cloud: bool, creds: Credentials) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and not cloud:
        return creds.user if hmac.compare_digest(value.strip(), creds.pat) else None
    if scheme.lower() != "basic":
        return None
    try:
        user, _, secret = base64.b64decode(value.strip()).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    accepted = [(creds.email, creds.api_token)]
    if not cloud:
        accepted.append((creds.username, creds.password))
    for name, password in accepted:
        if hmac.compare_digest(user, name) and hmac.compare_digest(secret, password):
            return creds.user
    return None


def _unauthorized(cloud: bool) -> Response:
    if cloud:
        return Response(
            "Client must be authenticated to access this resource.",
            status=401,
            content_type="text/plain;charset=UTF-8",
            headers={"WWW-Authenticate": 'Basic realm="protected-by-api-token"'},
        )
    response = error_response(
        401, "You are not authenticated. Authentication required to perform this operation."
    )
    response.headers["WWW-Authenticate"] = 'OAuth realm="https%3A%2F%2Fjira.sim.invalid"'
    return response


def _fault_response(fault: Fault) -> Response:
    if fault.status == 429:
        retry = fault.retry_after or 1
        reset = datetime.now(UTC) + timedelta(seconds=retry)
        return json_response(
            {"errorMessages": ["Rate limit exceeded."], "errors": {}},
            429,
            headers={
                "Retry-After": str(retry),
                "X-RateLimit-Limit": "100",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": reset.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "X-RateLimit-NearLimit": "true",
                "RateLimit-Reason": "jira-burst-based",
            },
        )
    text = {500: "Internal server error", 502: "Bad Gateway", 503: "Service Unavailable"}
    return json_response(
        {"errorMessages": [text.get(fault.status, "Error")], "errors": {}}, fault.status
    )


class SimulatorServer:
    """One simulated site (Jira and optionally Confluence) on a real HTTP port.

    Cloud: Jira at the root, Confluence under /wiki. Data Center: both at the root.
    """

    def __init__(
        self,
        flavor: Flavor,
        *,
        jira: JiraSim | None = None,
        confluence: Any = None,
        host: str = "127.0.0.1",
        port: int = 0,
        credentials: Credentials | None = None,
        faults: Faults | None = None,
    ) -> None:
        if jira is None:
            from okr_jira.simulator.datagen import generate

            jira = generate("small", flavor=flavor)
        if jira.flavor != flavor:
            raise ValueError(f"JiraSim is {jira.flavor!r}, server is {flavor!r}")
        self.flavor: Flavor = flavor
        self.jira = jira
        self.confluence = confluence
        self.faults = faults or Faults()
        self.stats = Stats()
        self.credentials = credentials or Credentials()
        self.app = create_app(
            flavor,
            jira=jira,
            confluence=confluence,
            faults=self.faults,
            stats=self.stats,
            credentials=self.credentials,
        )
        self._server: BaseWSGIServer = make_server(
            host, port, self.app, threaded=True, request_handler=_QuietHandler
        )
        self._thread: threading.Thread | None = None
        self.url = f"http://{host}:{self._server.server_port}"
        jira.base_url = self.url

    @property
    def confluence_url(self) -> str:
        return f"{self.url}/wiki" if self.flavor == "cloud" else self.url

    def start(self) -> SimulatorServer:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},  # a quick stop() keeps test teardown fast
                name="atlassian-sim",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


__all__ = ["JSON_TYPE", "Credentials", "SimulatorServer", "create_app"]
