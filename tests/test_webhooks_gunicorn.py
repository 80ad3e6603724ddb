"""The receiver under real gunicorn, and a crash test: kill -9 server and worker mid-burst."""

from __future__ import annotations

import datetime as dt
import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import requests
from sqlalchemy import Engine
from sqlmodel import Session, col, func, select

from okr_jira.okrs.file import load_okr_file
from okr_jira.okrs.plan import apply_plan, make_plan
from okr_jira.storage.db import session_scope
from okr_jira.storage.tables import IssueSnapshotRow, MappingRow, WebhookEventRow
from tests.fixtures.webhooks import encode, headers, issue_event
from tests.support.paths import EXAMPLE_OKRS, SESSION_SECRET
from tests.support.threads import join_all

SECRET = "gunicorn-test-secret"
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def service_env(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OKR_JIRA_")}
    env.update(
        OKR_JIRA_DATABASE_URL=database_url,
        OKR_JIRA_WEBHOOK_SECRET=SECRET,
        OKR_JIRA_SESSION_SECRET=SESSION_SECRET,
    )
    return env


def start_gunicorn(
    env: dict[str, str], port: int, *, log: Path | None = None
) -> subprocess.Popen[bytes]:
    """gunicorn as the README deploys it; with `log`, its access and error logs go there."""
    logging = ["--access-logfile", "-", "--error-logfile", "-"] if log else []
    out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115 - the child keeps it
    proc = subprocess.Popen(
        [str(BIN / "gunicorn"), "--workers", "2", "--bind", f"127.0.0.1:{port}",
         "--graceful-timeout", "2", *logging, "webhooks:create_app()"],
        env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    if log:
        out.close()  # type: ignore[union-attr]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200:
                return proc
        except requests.RequestException:
            time.sleep(0.1)
    kill_group(proc)
    raise AssertionError("gunicorn did not start")


def start_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(BIN / "okr-jira"), "worker"], env=env | {"OKR_JIRA_INBOX_INTERVAL_SECONDS": "0.2"},
        start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    """kill -9 the process and everything it forked (gunicorn's workers)."""
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


@contextmanager
def running(proc: subprocess.Popen[bytes]) -> Iterator[subprocess.Popen[bytes]]:
    try:
        yield proc
    finally:
        if proc.poll() is None:
            kill_group(proc)


def test_gunicorn_serves_the_app_factory_from_the_environment(
    engine: Engine, database_url: str
) -> None:
    port = free_port()
    with running(start_gunicorn(service_env(database_url), port)):
        base = f"http://127.0.0.1:{port}"
        body = encode(issue_event("SUP-101"))
        signed = requests.post(
            f"{base}/webhooks/jira", data=body, headers=headers(body, secret=SECRET), timeout=10
        )
        unsigned = requests.post(
            f"{base}/webhooks/jira", data=body, headers=headers(body, secret=None), timeout=10
        )
        assert (signed.status_code, unsigned.status_code) == (200, 401)
        assert requests.get(f"{base}/readyz", timeout=10).status_code == 200
        metrics = requests.get(f"{base}/metrics", timeout=10).text
    assert 'okr_jira_webhook_events_received_total{type="jira:issue_updated"} 1' in metrics
    assert "okr_jira_webhook_inbox_depth 1" in metrics
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(WebhookEventRow)).one() == 1


STATUSES = ("To Do", "In Progress", "Done")
T0 = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


def test_kill_9_of_server_and_worker_mid_burst_loses_no_acknowledged_event(
    engine: Engine, database_url: str
) -> None:
    with session_scope(engine) as session:
        apply_plan(session, make_plan(session, load_okr_file(EXAMPLE_OKRS)), actor="test")
        for m in session.exec(select(MappingRow)):
            m.resolved_at = T0
            session.add(m)
    total, issues = 5000, 100
    bodies = [
        encode(issue_event(f"SUP-{1000 + n % issues}", status=STATUSES[(n * 7) % 3],
                           updated=T0 + dt.timedelta(seconds=n)))
        for n in range(total)
    ]  # fmt: skip
    env = service_env(database_url)
    port = free_port()
    url = f"http://127.0.0.1:{port}/webhooks/jira"
    acked: set[int] = set()
    lock = threading.Lock()
    next_n = iter(range(total))

    def send() -> None:
        # Like Jira: a delivery without a 2xx answer is retried, with the same identifier.
        with requests.Session() as http:
            for n in next_n:
                deadline = time.monotonic() + 40
                while time.monotonic() < deadline:
                    try:
                        resp = http.post(
                            url, data=bodies[n], timeout=5,
                            headers=headers(bodies[n], secret=SECRET, delivery=f"ev-{n}"),
                        )  # fmt: skip
                        if resp.status_code == 200:
                            with lock:
                                acked.add(n)
                            break
                    except requests.RequestException:
                        pass
                    time.sleep(0.05)

    server = start_gunicorn(env, port)
    worker = start_worker(env)
    try:
        senders = [threading.Thread(target=send) for _ in range(8)]
        for t in senders:
            t.start()
        while len(acked) < total // 3:
            time.sleep(0.01)
        kill_group(server)
        kill_group(worker)
        acked_at_crash = len(acked)
        time.sleep(0.3)
        server = start_gunicorn(env, port)
        worker = start_worker(env)
        join_all(senders, 180)
        assert len(acked) == total
        assert total // 3 <= acked_at_crash < total
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with Session(engine) as s:
                pending = s.exec(
                    select(func.count()).where(col(WebhookEventRow.status) == "pending")
                ).one()
            if pending == 0:
                break
            time.sleep(0.1)
    finally:
        kill_group(server)
        kill_group(worker)
    with Session(engine) as s:
        rows = s.exec(select(WebhookEventRow.delivery_id, WebhookEventRow.status)).all()
        snaps = {r.key: r.status for r in s.exec(select(IssueSnapshotRow))}
    assert sorted(d for d, _ in rows) == sorted(f"ev-{n}" for n in range(total))
    assert {status for _, status in rows} <= {"applied", "ignored"}
    for i in range(issues):
        newest = max(n for n in range(total) if n % issues == i)
        assert snaps[f"SUP-{1000 + i}"] == STATUSES[(newest * 7) % 3]


def test_gunicorn_refuses_oversized_chunked_bodies_and_logs_no_secret(
    database_url: str, engine: Engine, tmp_path: Path
) -> None:
    env = service_env(database_url) | {"OKR_JIRA_WEBHOOK_MAX_BYTES": "16384"}
    port = free_port()
    log = tmp_path / "gunicorn.log"
    server = start_gunicorn(env, port, log=log)
    try:
        url = f"http://127.0.0.1:{port}"
        payload = issue_event("SUP-101")
        payload["issue"]["fields"]["description"] = "x" * 40_000
        body = encode(payload)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        pieces = (body[i : i + 1000] for i in range(0, len(body), 1000))
        conn.request("POST", "/webhooks/jira", body=pieces, headers=headers(body, secret=SECRET),
                     encode_chunked=True)  # fmt: skip
        assert conn.getresponse().status == 413
        conn.close()
        with Session(engine) as s:
            assert s.exec(select(func.count()).select_from(WebhookEventRow)).one() == 0
        small = encode(issue_event("SUP-102"))
        for path in (f"/webhooks/jira/{SECRET}", f"/webhooks/jira?token={SECRET}"):
            resp = requests.post(url + path, data=small, headers=headers(small, secret=None),
                                 timeout=10)  # fmt: skip
            assert resp.status_code == 200
    finally:
        with suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)  # gracefully: the access log is flushed
        server.wait(timeout=30)
    logged = log.read_text(encoding="utf-8", errors="replace")
    assert "/webhooks/jira/***" in logged and "token=***" in logged  # the access log has them
    assert SECRET not in logged
