"""Simulator fixtures (loaded as a plugin by tests/conftest.py) and client helpers."""

from __future__ import annotations

import queue
from collections.abc import Iterator
from dataclasses import dataclass

import flask
import pytest
from atlassian import Jira

from okr_jira.simulator import SimulatorServer, generate
from tests.support.threads import serving


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
    received: queue.Queue[Received]

    def next(self, timeout: float = 10.0) -> Received:
        return self.received.get(timeout=timeout)


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    """A tiny local HTTP endpoint that records every POST it gets."""
    app = flask.Flask("webhook-receiver")
    received: queue.Queue[Received] = queue.Queue()

    @app.post("/hook")
    def hook() -> tuple[str, int]:
        request = flask.request
        received.put(Received(request.path, dict(request.headers), request.get_data(cache=False)))
        return "", 204

    with serving(app) as url:
        yield WebhookReceiver(f"{url}/hook", received)
