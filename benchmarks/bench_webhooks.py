"""Webhook receiver benchmark: gunicorn (2 workers) + one inbox worker, a load generator in
another process on loopback, realistic 10-30 KB signed payloads.

    .venv/bin/python benchmarks/bench_webhooks.py [--db sqlite|postgres|both] [--runs 3]

Reports (medians over runs): acknowledged events/s (closed loop, 16 connections), p50/p99
acknowledgement latency at a fixed 300 events/s, and p95 acknowledgement-to-progress delay at
200 events/s (received_at -> processed_at, the commit that records the KR progress).
Targets: >= 1,000 events/s; p99 <= 25 ms at 300/s; p95 <= 2 s at 200/s.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import http.client
import json
import multiprocessing as mp
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlmodel import Session, col, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from okr_jira.apply import apply_plan, make_plan  # noqa: E402
from okr_jira.okrfile import load_okr_file  # noqa: E402
from okr_jira.storage.db import make_engine, session_scope, upgrade  # noqa: E402
from okr_jira.storage.tables import MappingRow, WebhookEventRow  # noqa: E402
from tests.fixtures.webhooks import encode, issue_event, sign  # noqa: E402

SECRET = "bench-webhook-secret"
PG_URL = os.environ.get("OKR_JIRA_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BIN = Path(sys.executable).parent
WORKER = """
import signal, threading
from okr_jira.inbox import run_worker
from okr_jira.settings import load_settings
from okr_jira.storage.db import make_engine
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
run_worker(engine=make_engine(load_settings().database_url), stop=stop, max_idle_seconds=0.2)
"""
STATUSES = ("To Do", "In Progress", "Done")


def payloads(n: int, seed: int) -> list[tuple[bytes, str]]:
    """n signed bodies of 10-30 KB over 500 issues, each a newer state than the last."""
    rng = random.Random(seed)
    base = dt.datetime(2026, 11, 2, tzinfo=dt.UTC) + dt.timedelta(days=seed)
    out = []
    for i in range(n):
        p = issue_event(
            f"SUP-{1000 + rng.randrange(500)}", status=rng.choice(STATUSES),
            updated=base + dt.timedelta(milliseconds=i * 10),
        )  # fmt: skip
        body = encode(p)
        pad = rng.randint(10_000, 30_000) - len(body)
        p["issue"]["fields"]["description"] = "lorem ipsum " * max(pad // 12, 0)
        body = encode(p)
        out.append((body, sign(SECRET, body)))
    return out


def _post(conn: http.client.HTTPConnection, body: bytes, sig: str, delivery: str) -> int:
    conn.request(
        "POST", "/webhooks/jira", body=body,
        headers={"Content-Type": "application/json", "X-Hub-Signature": sig,
                 "X-Atlassian-Webhook-Identifier": delivery},
    )  # fmt: skip
    resp = conn.getresponse()
    resp.read()
    return resp.status


def closed_loop(port: int, bodies: list[tuple[bytes, str]], tag: str, conns: int) -> float:
    """Events acknowledged per second with `conns` connections sending back to back."""
    it = iter(enumerate(bodies))
    lock = threading.Lock()
    ok = [0]

    def run() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while True:
            with lock:
                item = next(it, None)
            if item is None:
                return
            i, (body, sig) = item
            if _post(conn, body, sig, f"{tag}-{i}") == 200:
                with lock:
                    ok[0] += 1

    threads = [threading.Thread(target=run) for _ in range(conns)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return ok[0] / (time.perf_counter() - start)


def fixed_rate(port: int, bodies: list[tuple[bytes, str]], tag: str, rate: float) -> list[float]:
    """Open loop: request i is due at i/rate; latency counts from when it was due."""
    latencies: list[float] = []
    lock = threading.Lock()
    start = time.perf_counter() + 0.2
    nxt = iter(range(len(bodies)))

    def run() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while True:
            with lock:
                i = next(nxt, None)
            if i is None:
                return
            due = start + i / rate
            wait = due - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            body, sig = bodies[i]
            _post(conn, body, sig, f"{tag}-{i}")
            with lock:
                latencies.append(time.perf_counter() - due)

    threads = [threading.Thread(target=run) for _ in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies


def generator(port: int, run: int, q: Any) -> None:
    """The load generator process."""
    big = payloads(6000, seed=run * 10 + 1)
    at300 = payloads(3000, seed=run * 10 + 2)
    at200 = payloads(2000, seed=run * 10 + 3)
    rate = closed_loop(port, big, f"r{run}-tp", conns=16)
    time.sleep(3)  # let the worker catch up before the latency phases
    lat = sorted(fixed_rate(port, at300, f"r{run}-l", 300))
    time.sleep(3)
    t0 = time.time()
    fixed_rate(port, at200, f"r{run}-p", 200)
    q.put({"rate": rate, "p50": _q(lat, 0.5), "p99": _q(lat, 0.99), "progress_phase": t0})


def _q(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare(url: str) -> None:
    engine = make_engine(url)
    upgrade(engine)
    with session_scope(engine) as session:
        apply_plan(session, make_plan(session, load_okr_file(ROOT / "config/okrs.example.yaml")),
                   actor="bench")  # fmt: skip
        for m in session.exec(select(MappingRow)):
            m.resolved_at = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
            session.add(m)
    engine.dispose()


def bench(url: str, run: int) -> dict[str, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OKR_JIRA_")}
    env.update(OKR_JIRA_DATABASE_URL=url, OKR_JIRA_WEBHOOK_SECRET=SECRET)
    port = free_port()
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "--workers", "2", "--bind", f"127.0.0.1:{port}",
         "webhooks:create_app()"], env=env, start_new_session=True, cwd=ROOT,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER], env=env, start_new_session=True, cwd=ROOT
    )
    try:
        for _ in range(300):
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.1)
        q: mp.Queue[dict[str, float]] = mp.get_context("spawn").Queue()
        proc = mp.get_context("spawn").Process(target=generator, args=(port, run, q))
        proc.start()
        result = q.get(timeout=600)
        proc.join()
        engine = make_engine(url)
        deadline = time.time() + 60
        with Session(engine) as s:
            while time.time() < deadline:
                left = s.exec(
                    select(WebhookEventRow.id).where(col(WebhookEventRow.status) == "pending")
                ).first()
                if left is None:
                    break
                time.sleep(0.2)
                s.rollback()
            rows = s.exec(
                select(WebhookEventRow.received_at, WebhookEventRow.processed_at).where(
                    col(WebhookEventRow.delivery_id).like(f"r{run}-p-%")
                )
            ).all()
        engine.dispose()
        delays = [(p - r).total_seconds() for r, p in rows if p is not None]
        result["progress_p95"] = _q(delays, 0.95) if delays else float("nan")
        result["progress_p50"] = _q(delays, 0.5) if delays else float("nan")
        return result
    finally:
        for p in (server, worker):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGTERM)
            p.wait(timeout=20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    backends = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    for backend in backends:
        results = []
        with tempfile.TemporaryDirectory() as tmp:
            if backend == "sqlite":
                url = f"sqlite:///{tmp}/bench.db"
            else:
                schema = f"bench_webhooks_{os.getpid()}"
                admin = make_engine(PG_URL)
                with admin.begin() as c:
                    c.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
                    c.execute(text(f'CREATE SCHEMA "{schema}"'))
                opt = urllib.parse.quote(f"-csearch_path={schema}")
                url = f"{PG_URL}{'&' if '?' in PG_URL else '?'}options={opt}"
            prepare(url)
            try:
                for run in range(args.runs):
                    results.append(bench(url, run))
                    r = results[-1]
                    print(
                        f"{backend} run {run + 1}: {r['rate']:.0f} ev/s acked; at 300/s "
                        f"p50 {r['p50'] * 1000:.1f} ms p99 {r['p99'] * 1000:.1f} ms; at 200/s "
                        f"ack->progress p50 {r['progress_p50']:.2f} s "
                        f"p95 {r['progress_p95']:.2f} s",
                        flush=True,
                    )
            finally:
                if backend == "postgres":
                    with admin.begin() as c:
                        c.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
                    admin.dispose()

        def med(k: str, rs: list[dict[str, float]] = results) -> float:
            return statistics.median(r[k] for r in rs)

        print(json.dumps({
            "backend": backend, "runs": len(results),
            "acked_events_per_s": round(med("rate")),
            "p50_ms_at_300": round(med("p50") * 1000, 1),
            "p99_ms_at_300": round(med("p99") * 1000, 1),
            "ack_to_progress_p50_s_at_200": round(med("progress_p50"), 2),
            "ack_to_progress_p95_s_at_200": round(med("progress_p95"), 2),
        }), flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
