"""Shared simulator fixtures and helpers (import them; they are not in conftest.py).

from tests.simfixtures import cloud_server, dc_server, webhook_receiver  # noqa: F401
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import flask
import pytest
from atlassian import Jira
from werkzeug.serving import make_server

from okr_jira.simulator import SimulatorServer, generate


def cloud_client(server: SimulatorServer) -> Jira:
    c = server.credentials
    return Jira(server.url, username=c.email, password=c.api_token, cloud=True, timeout=10)


def dc_client(server: SimulatorServer) -> Jira:
    return Jira(server.url, token=server.credentials.pat, timeout=10)


@pytest.fixture
def cloud_server() -> Iterator[SimulatorServer]:
    """A Jira Cloud simulator with the small dataset; webhooks are delivered."""
    with SimulatorServer("cloud", jira=generate("small", flavor="cloud")) as server:
        yield server


@pytest.fixture
def dc_server() -> Iterator[SimulatorServer]:
    """A Jira Data Center simulator with the small dataset; webhooks are delivered."""
    with SimulatorServer("datacenter", jira=generate("small", flavor="datacenter")) as server:
        yield server


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class WebhookReceiver:
    url: str
    received: queue.Queue[Received] = field(default_factory=queue.Queue)

    def next(self, timeout: float = 10.0) -> Received:
        return self.received.get(timeout=timeout)


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    """A tiny local HTTP endpoint that records every POST it gets."""
    app = flask.Flask("webhook-receiver")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    receiver = WebhookReceiver(f"http://127.0.0.1:{server.server_port}/hook")

    @app.post("/hook")
    def hook() -> tuple[str, int]:
        request = flask.request
        receiver.received.put(
            Received(request.path, dict(request.headers), request.get_data(cache=False))
        )
        return "", 204

    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()
