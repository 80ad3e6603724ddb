"""Log lines an admin can act on: a retry says what failed and when the next try is, a refused
webhook says why (never the secret), a placeholder token names the setting that holds it.
Each test reads the lines the real formatter writes for the real code path."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
import requests
from sqlalchemy import Engine

from okr_jira.adapters.http import RetryPolicy, make_session
from okr_jira.logs import configure_logging
from okr_jira.settings import Settings
from okr_jira.simulator import SimulatorServer, generate
from tests.fixtures.webhooks import encode, headers, issue_event
from tests.support.paths import SESSION_SECRET
from webhooks import create_app

SECRET = "s3cr3t-for-log-tests-only"


@pytest.fixture
def out() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    stream = io.StringIO()
    configure_logging("INFO", "text", stream=stream)
    yield stream
    for handler in root.handlers:
        if handler not in handlers:
            handler.close()
    root.handlers[:] = handlers
    root.setLevel(level)


def lines(out: io.StringIO, message: str) -> list[str]:
    return [line for line in out.getvalue().splitlines() if f" {message} " in f"{line} "]


def test_http_retry_names_method_path_status_attempt_and_wait(out: io.StringIO) -> None:
    waits: list[float] = []
    with SimulatorServer("cloud", jira=generate("small", flavor="cloud", deliver=False)) as sim:
        sim.faults.fail(2, status=503)
        session = make_session(RetryPolicy(max_retries=3, backoff_base=0.2, sleep=waits.append))
        c = sim.credentials
        response = session.get(
            f"{sim.url}/rest/api/3/search/jql?jql=project%3DSUP&token=query-secret-123",
            auth=(c.email, c.api_token),
        )
    assert response.status_code == 200
    retries = lines(out, "http.retry")
    assert len(retries) == 2
    first = retries[0]
    assert " WARNING okr_jira.adapters.http http.retry " in first
    assert "method=GET path=/rest/api/3/search/jql status=503 attempt=1/4 wait=" in first
    assert "attempt=2/4" in retries[1]
    assert f"wait={round(waits[0], 2)}" in first
    assert "query-secret-123" not in out.getvalue() and "project" not in out.getvalue()


def test_http_retry_of_a_refused_connection_says_so(out: io.StringIO) -> None:
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    session = make_session(RetryPolicy(max_retries=1, sleep=lambda _: None))
    with pytest.raises(requests.ConnectionError):
        session.get(f"http://127.0.0.1:{port}/rest/api/2/myself")
    (line,) = lines(out, "http.retry")
    assert "method=GET path=/rest/api/2/myself" in line
    assert 'error="connection refused" attempt=1/2 wait=' in line


@pytest.fixture
def client(engine: Engine, database_url: str) -> Iterator[object]:
    settings = Settings(
        database_url=database_url, webhook_secret=SECRET, session_secret=SESSION_SECRET
    )
    with create_app(settings, engine=engine).test_client() as c:
        yield c


@pytest.mark.parametrize(
    ("how", "reason"),
    [
        ("wrong secret", 'reason="bad signature"'),
        ("malformed", 'reason="malformed signature"'),
        ("unsigned", 'reason="missing signature"'),
        ("wrong token", 'reason="bad token"'),
    ],
)
def test_a_refused_webhook_logs_why_and_never_the_secret(
    client: object, out: io.StringIO, how: str, reason: str
) -> None:
    body = encode(issue_event())
    url = "/webhooks/jira"
    if how == "wrong secret":
        sent = headers(body, secret="not-the-secret-at-all")
    elif how == "malformed":
        sent = {**headers(body, secret=None), "X-Hub-Signature": "sha1=abc"}
    elif how == "wrong token":
        sent, url = headers(body, secret=None), "/webhooks/jira/guessed-token-value"
    else:
        sent = headers(body, secret=None)
    answer = client.post(url, data=body, headers=sent)  # type: ignore[attr-defined]
    assert answer.status_code == 401
    (line,) = lines(out, "webhooks.refused")
    assert " WARNING webhooks.auth webhooks.refused " in line and reason in line
    assert "detail=" in line
    text = out.getvalue()
    assert SECRET not in text and "guessed-token-value" not in text
    assert "not-the-secret-at-all" not in text


def test_a_placeholder_token_stops_the_service_naming_the_setting() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OKR_JIRA_")}
    env |= {"OKR_JIRA_JIRA_TOKEN": "<your-token>", "OKR_JIRA_DATABASE_URL": "sqlite://"}
    bin_dir = os.path.dirname(sys.executable)
    done = subprocess.run(
        [os.path.join(bin_dir, "okr-jira"), "serve"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1
    assert "environment: OKR_JIRA_JIRA_TOKEN: holds a placeholder" in done.stderr
    assert "<your-token>" not in done.stderr.replace("<your-token> or xxx", "")


@pytest.mark.parametrize(
    "value", ["changeme", "<your-token>", "xxx", "XXXXXXXX", "your-api-token", "${JIRA_TOKEN}"]
)
def test_placeholders_are_refused_and_real_tokens_are_not(value: str) -> None:
    from okr_jira.errors import ConfigError
    from okr_jira.settings import load_settings

    with pytest.raises(ConfigError, match="OKR_JIRA_CONFLUENCE_TOKEN: holds a placeholder"):
        load_settings(None, confluence_token=value)
    assert load_settings(None, confluence_token="ATATT3xFfGF0-real-looking-9f8e").confluence_token
