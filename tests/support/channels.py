"""Local stand-ins for the notification services: Slack and Teams webhooks (Flask on loopback,
answering from a script: 200, 400, 404, 429 with Retry-After, 5xx) and an SMTP server (aiosmtpd).
Nothing in the tests ever reaches a real Slack, Teams or mail server."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask, Response, request

from tests.support.threads import serving


@dataclass
class Answer:
    status: int = 200
    body: str = "ok"
    headers: dict[str, str] = field(default_factory=dict)
    hang: float = 0.0  # seconds to wait before answering


@dataclass
class FakeHook:
    """One webhook endpoint: answers each POST with the next scripted Answer (then 200 "ok"
    for Slack, 202 for Teams) and records what it received and when."""

    default: Answer
    script: list[Answer] = field(default_factory=list)
    received: list[tuple[float, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self) -> Response:
        with self.lock:
            self.received.append((time.monotonic(), request.get_json(silent=True)))
            answer = self.script.pop(0) if self.script else self.default
        if answer.hang:
            time.sleep(answer.hang)
        return Response(answer.body, answer.status, headers=answer.headers, mimetype="text/plain")

    @property
    def payloads(self) -> list[Any]:
        return [payload for _, payload in self.received]


@dataclass
class Hooks:
    base: str
    slack: dict[str, FakeHook]
    teams: dict[str, FakeHook]

    def slack_url(self, name: str) -> str:
        return f"{self.base}/services/T000/{name}/XXXXsecretXXXX"

    def teams_url(self, name: str) -> str:
        return f"{self.base}/workflows/{name}/triggers/manual/run?sig=XXXXsecretXXXX"


def _app(hooks: Hooks) -> Flask:
    app = Flask("fake-hooks")

    @app.post("/services/T000/<name>/XXXXsecretXXXX")
    def slack(name: str) -> Response:
        hook = hooks.slack.setdefault(name, FakeHook(Answer(200, "ok")))
        return hook.answer()

    @app.post("/workflows/<name>/triggers/manual/run")
    def teams(name: str) -> Response:
        hook = hooks.teams.setdefault(name, FakeHook(Answer(202, "")))
        return hook.answer()

    return app


@contextmanager
def fake_hooks() -> Iterator[Hooks]:
    hooks = Hooks("", {}, {})
    with serving(_app(hooks)) as base:
        hooks.base = base
        yield hooks


@dataclass
class Mailbox:
    host: str
    port: int
    messages: list[tuple[str, list[str], Message]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(
            (envelope.mail_from, list(envelope.rcpt_tos), message_from_bytes(envelope.content))
        )
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def hooks() -> Iterator[Hooks]:
    with fake_hooks() as running:
        yield running


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox("127.0.0.1", _free_port())
    controller = Controller(box, hostname=box.host, port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()
