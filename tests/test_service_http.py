"""The HTTP side of `okr-jira run` (waitress) and of gunicorn as a user deploys them: bodies over
the limit refused whole, stalled clients holding no thread, and no secret in any log."""

from __future__ import annotations

import http.client
import json
import select
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy import Engine

from okr_jira.storage.db import session_scope
from okr_jira.storage.inbox import pending_count
from okr_jira.storage.okrs import load_okrs
from tests.fixtures.webhooks import encode, headers, issue_event
from tests.support.paths import EXAMPLE_OKRS, SESSION_SECRET
from tests.support.service import SECRET, Running, okr_jira, running

ADMIN = "admin-token-0123456789abcdef"


@pytest.fixture
def node(db_env: str, engine: Engine) -> Iterator[Running]:
    env = {
        "OKR_JIRA_DATABASE_URL": db_env, "OKR_JIRA_WEBHOOK_SECRET": SECRET,
        "OKR_JIRA_ADMIN_TOKEN": ADMIN, "OKR_JIRA_WEBHOOK_MAX_BYTES": "16384",
        "OKR_JIRA_HTTP_IDLE_TIMEOUT_SECONDS": "2", "OKR_JIRA_LOG_LEVEL": "DEBUG",
        "OKR_JIRA_SESSION_SECRET": SESSION_SECRET,
    }  # fmt: skip
    okr_jira(env, "apply", str(EXAMPLE_OKRS))
    with running(env) as running_node:
        yield running_node


def chunked_post(url: str, path: str, body: bytes, extra: dict[str, str]) -> int:
    """POST `body` in 1,000-byte chunks and return the status. Like a careful client, it stops
    sending once the server has answered (a 413 can come, and the connection close, before the
    whole body is sent: a loaded machine made http.client fail on the send instead)."""
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    try:
        head = f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nTransfer-Encoding: chunked\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in extra.items()) + "\r\n"
        try:
            sock.sendall(head.encode())
            for i in range(0, len(body), 1000):
                if select.select([sock], [], [], 0)[0]:
                    break  # the answer is there: read it
                piece = body[i : i + 1000]
                sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
            else:
                sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # answered and closed between two chunks: the answer is still to be read
        response = http.client.HTTPResponse(sock)
        response.begin()
        return response.status
    finally:
        sock.close()


def test_bodies_over_the_limit_are_refused_whole_even_chunked(
    node: Running, engine: Engine
) -> None:
    payload = issue_event("SUP-101")
    payload["issue"]["fields"]["description"] = "x" * 40_000
    body = encode(payload)
    assert chunked_post(node.url, "/webhooks/jira", body, headers(body, secret=SECRET)) == 413
    okrs = EXAMPLE_OKRS.read_text(encoding="utf-8")
    padded = okrs + "#" + "x" * 40_000 + "\n"  # valid YAML: only its size is wrong
    auth = {"Authorization": f"Bearer {ADMIN}", "Content-Type": "application/yaml"}
    assert chunked_post(node.url, "/api/okrs?prune=1", padded.encode(), auth) == 413
    with session_scope(engine) as session:
        assert pending_count(session=session) == 0  # nothing stored
        assert len(load_okrs(session=session).objectives) == 8  # nothing archived or deleted
    small = encode(issue_event("SUP-101"))  # the same route still takes a normal event
    assert chunked_post(node.url, "/webhooks/jira", small, headers(small, secret=SECRET)) == 200


def test_stalled_clients_hold_no_thread_and_are_dropped(node: Running) -> None:
    host, port = node.url.removeprefix("http://").split(":")
    stalled = []
    for _ in range(400):  # each sends half a request, then nothing
        sock = socket.create_connection((host, int(port)), timeout=5)
        sock.sendall(b"POST /webhooks/jira HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
        stalled.append(sock)
    try:
        started = time.monotonic()
        assert requests.get(f"{node.url}/healthz", timeout=5).status_code == 200
        assert time.monotonic() - started < 2  # answered beside 400 stalled clients
        time.sleep(2 + 2 + 1)  # the idle timeout, and the server's sweep of idle connections
        closed = 0
        for sock in stalled:
            sock.settimeout(1)
            try:
                closed += sock.recv(1) == b""
            except OSError:
                closed += 1
        assert closed == len(stalled)
    finally:
        for sock in stalled:
            sock.close()


def test_answers_name_no_server_version_and_carry_safe_headers(node: Running) -> None:
    resp = requests.get(f"{node.url}/healthz", timeout=5)
    assert resp.headers["Server"] == "okr-jira"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Cache-Control"] == "no-store"


def test_no_secret_reaches_the_log_of_run(node: Running, tmp_path: Path) -> None:
    body = encode(issue_event("SUP-101"))
    requests.post(f"{node.url}/webhooks/jira/{SECRET}", data=body, headers=headers(body, secret=None), timeout=5)  # fmt: skip  # noqa: E501
    requests.post(f"{node.url}/webhooks/jira?token={SECRET}", data=body, headers=headers(body, secret=None), timeout=5)  # fmt: skip  # noqa: E501
    requests.get(f"{node.url}/api/tree?access_token={ADMIN}", timeout=5)
    requests.get(f"{node.url}/api/tree", headers={"Authorization": f"Bearer {ADMIN}x"}, timeout=5)
    out, err = node.stop()
    assert SECRET not in out + err and ADMIN not in out + err and SESSION_SECRET not in err
    assert json.dumps(SECRET) not in err
