"""`okr-jira run`: receiver, worker and scheduler in one process; SIGTERM stops it within 10 s."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import requests
from sqlalchemy import Engine
from sqlmodel import Session, select

from okr_jira.storage.tables import WebhookEventRow
from tests.fixtures.webhooks import issue_event, sign
from tests.support.paths import ROOT, SESSION_SECRET

SECRET = "run-test-secret-0123456789"


def test_run_serves_applies_and_stops_on_sigterm(db_env: str, engine: Engine) -> None:
    env = dict(
        os.environ,
        OKR_JIRA_WEBHOOK_SECRET=SECRET,
        OKR_JIRA_SESSION_SECRET=SESSION_SECRET,
        OKR_JIRA_INBOX_INTERVAL_SECONDS="0.2",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "okr_jira.cli", "run", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        port = int(re.search(r"http://127\.0\.0\.1:(\d+)", line).group(1))  # type: ignore[union-attr]
        base = f"http://127.0.0.1:{port}"
        assert requests.get(f"{base}/healthz", timeout=5).status_code == 200
        assert requests.get(f"{base}/readyz", timeout=5).status_code == 200
        body = json.dumps(issue_event("SUP-1")).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Hub-Signature": sign(SECRET, body),
            "X-Atlassian-Webhook-Identifier": "run-test-1",
        }
        assert requests.post(f"{base}/webhooks/jira", data=body, headers=headers, timeout=5).ok
        deadline = time.monotonic() + 10
        status = "pending"
        while time.monotonic() < deadline and status == "pending":
            with Session(engine) as s:
                row = s.exec(select(WebhookEventRow)).one()
                status = row.status
            time.sleep(0.1)
        assert status != "pending"  # the in-process worker took it
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
        assert time.monotonic() - started < 10
        assert proc.returncode == 0, err[-2000:]
        assert "stopped" in out
        assert SECRET not in out + err
    finally:
        proc.kill()
        proc.wait()
