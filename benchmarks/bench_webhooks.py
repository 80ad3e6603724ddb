"""Webhook receiver benchmark: okr-jira's receiver beside two ceilings served by the same gunicorn
configuration (2 sync workers), the same load generator and the same signed 10-30 KB payloads:

    (a) the HTTP ceiling: a bare Flask endpoint that reads the body and answers 200;
    (b) the durable-acknowledgement ceiling: one that stores the raw body in the same database
        (SQLite file or PostgreSQL, same driver and engine settings; one INSERT + commit per
        request) and answers (benchmarks/ceilings.py).

    .venv/bin/python benchmarks/bench_webhooks.py [--db sqlite|postgres|both] [--runs 3] [--quick]

Each run starts the three side by side and measures them in alternating turns (each phase cut in
4, the order rotating), so that other work sharing the machine weighs on each alike: acknowledged
events/s at saturation (2xx answers per second, closed loop: two generator processes x 8
connections, requests pre-built as bytes, a minimal HTTP client) and p50/p99 acknowledgement
latency at a fixed rate (300 events/s, or half the durable ceiling's throughput in the same run
when that is lower: past what the database sustains, latency measures a queue). The inbox
worker is not running during these phases (the ceilings have none); it starts afterwards for
the okr-jira run, drains the backlog, and the acknowledgement-to-progress delay (received_at ->
processed_at) is measured at 200 events/s.

Goals, as ratios to the durable ceiling measured in the same run (median of the runs' ratios):
throughput >= 0.8x and p99 <= 1.5x, on SQLite and PostgreSQL. The script exits 1 when one is
missed. Absolute figures (and the CPU gunicorn and the generator used, all on the same cores)
are printed second: they depend on the machine.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import http.client
import json
import math
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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text
from sqlmodel import Session, col, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from benchargs import add_runs_and_quick, verdict  # noqa: E402
from ceilings import create_table  # noqa: E402

from okr_jira.okrs.file import load_okr_file  # noqa: E402
from okr_jira.okrs.plan import apply_plan, make_plan  # noqa: E402
from okr_jira.storage.db import make_engine, session_scope, upgrade  # noqa: E402
from okr_jira.storage.tables import MappingRow, WebhookEventRow  # noqa: E402
from tests.fixtures.webhooks import encode, issue_event, sign  # noqa: E402

SECRET = "bench-webhook-secret"
PG_URL = os.environ.get("OKR_JIRA_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BIN = Path(sys.executable).parent
STATUSES = ("To Do", "In Progress", "Done")
# Sync workers: at this request size they beat gthread (keep-alive) on 2 cores, since each
# request is short and gthread's poller and thread hand-off cost more than a loopback connect.
GUNICORN_ARGS = ("--workers", "2")
# The latency phase's rate: 300 events/s, or half what the durable ceiling sustained in the same
# run when that is less (a rate the database cannot keep up with measures a queue, not latency).
RATE = 300
LATENCY_SECONDS = 10  # of requests at that rate, per server


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


def prebuilt(bodies: list[tuple[bytes, str]], tag: str) -> list[bytes]:
    """Each request as the bytes on the wire, built before the clock starts."""
    out = []
    for i, (body, sig) in enumerate(bodies):
        head = (
            "POST /webhooks/jira HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"X-Hub-Signature: {sig}\r\nX-Atlassian-Webhook-Identifier: {tag}-{i}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        out.append(head.encode() + body)
    return out


class Client:
    """A minimal HTTP/1.1 client on one socket: keeps the connection while the server does
    (gunicorn's sync workers close it after each answer) and costs little CPU per request."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sock: socket.socket | None = None
        self.buf = b""

    def post(self, request: bytes) -> int:
        if self.sock is None:
            self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=30)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.buf = b""
        try:
            self.sock.sendall(request)
            status, close = self._answer(self.sock)
        except OSError:
            self.close()
            return 0
        if close:
            self.close()
        return status

    def _answer(self, sock: socket.socket) -> tuple[int, bool]:
        while b"\r\n\r\n" not in self.buf:
            self.buf += self._recv(sock)
        head, _, rest = self.buf.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status, length, close = int(lines[0].split()[1]), 0, False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection":
                close = value.strip().lower() == b"close"
        while len(rest) < length:
            rest += self._recv(sock)
        self.buf = rest[length:]
        return status, close

    @staticmethod
    def _recv(sock: socket.socket) -> bytes:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed by the server")
        return chunk

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock = None


def closed_loop_part(port: int, requests: list[bytes], conns: int, q: Any) -> None:
    """One generator process: `conns` connections sending back to back."""
    it = iter(requests)
    lock = threading.Lock()
    ok = [0]

    def run() -> None:
        client = Client(port)
        while True:
            with lock:
                request = next(it, None)
            if request is None:
                client.close()
                return
            if 200 <= client.post(request) < 300:
                with lock:
                    ok[0] += 1

    threads = [threading.Thread(target=run) for _ in range(conns)]
    cpu, start = time.process_time(), time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    q.put((ok[0], start, time.time(), time.process_time() - cpu))


def closed_loop(port: int, requests: list[bytes], procs: int, conns: int) -> dict[str, float]:
    """2xx answers per second at saturation, and the generator's own CPU (cores used)."""
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    parts = [
        ctx.Process(target=closed_loop_part, args=(port, requests[i::procs], conns, q))
        for i in range(procs)
    ]
    for p in parts:
        p.start()
    done = [q.get(timeout=600) for _ in parts]
    for p in parts:
        p.join()
    wall = max(d[2] for d in done) - min(d[1] for d in done)
    return {"rate": sum(d[0] for d in done) / wall, "gen_cores": sum(d[3] for d in done) / wall,
            "wall": wall}  # fmt: skip


def fixed_rate(port: int, requests: list[bytes], rate: float) -> tuple[list[float], int]:
    """Open loop: request i is due at i/rate; latency counts from when it was due.
    Returns the latencies of 2xx answers and the number of other answers."""
    latencies: list[float] = []
    failed = [0]
    lock = threading.Lock()
    start = time.perf_counter() + 0.2
    nxt = iter(range(len(requests)))

    def run() -> None:
        client = Client(port)
        while True:
            with lock:
                i = next(nxt, None)
            if i is None:
                client.close()
                return
            due = start + i / rate
            wait = due - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            status = client.post(requests[i])
            with lock:
                if 200 <= status < 300:
                    latencies.append(time.perf_counter() - due)
                else:
                    failed[0] += 1

    threads = [threading.Thread(target=run) for _ in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, failed[0]


def cpu_seconds(pgid: int) -> float:
    """CPU time (user + system) of every process in the process group `pgid`."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # after pid and (comm): state, ppid, pgrp, ...
            total += (int(fields[11]) + int(fields[12])) / tick  # utime + stime
    return total


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
    create_table(engine)
    engine.dispose()


def server_env(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OKR_JIRA_")}
    env.update(
        OKR_JIRA_DATABASE_URL=url,
        OKR_JIRA_WEBHOOK_SECRET=SECRET,
        OKR_JIRA_SESSION_SECRET="bench-session-secret-0123456789abcdef",
    )
    return env


def start_server(app: str, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], int]:
    """gunicorn serving `app` with GUNICORN_ARGS, once it answers HTTP."""
    port = free_port()
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), *GUNICORN_ARGS, "--bind", f"127.0.0.1:{port}",
         "--pythonpath", str(ROOT / "benchmarks"), app],
        env=env, start_new_session=True, cwd=ROOT,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/healthz")
            conn.getresponse().read()  # any answer: the workers are up (the ceilings say 404)
            conn.close()
            time.sleep(0.5)  # both workers booted, not only the first
            return server, port
        except OSError:
            time.sleep(0.1)
    stop(server)
    raise SystemExit(f"gunicorn did not start {app}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=20)


def in_child(target: Callable[..., Any], *args: Any) -> Any:
    """target(*args) in a forked process (its own GIL and core): what it returns."""
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    proc = ctx.Process(target=lambda: q.put(target(*args)))
    proc.start()
    result = q.get(timeout=600)
    proc.join()
    return result


@dataclass(frozen=True)
class Load:
    """One run's requests, the same bytes for every server."""

    saturation: list[bytes]
    at_rate: list[bytes]
    at_200: list[bytes]


def make_load(run: int, quick: bool) -> Load:
    n = (400, 150, 100) if quick else (8000, 3000, 2000)
    return Load(
        prebuilt(payloads(n[0], seed=run * 10 + 1), f"r{run}-tp"),
        prebuilt(payloads(n[1], seed=run * 10 + 2), f"r{run}-l"),
        prebuilt(payloads(n[2], seed=run * 10 + 3), f"r{run}-p"),
    )


CHUNKS = 4  # each phase is cut in turns that alternate between the servers


def measure(
    servers: dict[str, tuple[int, int]], load: Load, run: int
) -> dict[str, dict[str, float]]:
    """Saturation throughput (and the CPU it took), then latency at a fixed rate, of every server
    in `servers` (name -> (port, process group)). Each phase is cut in CHUNKS turns that alternate
    between the servers, in an order that rotates, so that other work on the machine, which comes
    and goes, weighs on each server alike."""
    names = list(servers)
    acc = {n: {"ok": 0.0, "wall": 0.0, "gen_cpu": 0.0, "cpu": 0.0, "failed": 0.0} for n in names}
    lat: dict[str, list[float]] = {n: [] for n in names}
    sat, at_rate = load.saturation, load.at_rate
    for turn in range(CHUNKS):
        shift = (run + turn) % len(names)
        for name in names[shift:] + names[:shift]:
            port, pgid = servers[name]
            before = cpu_seconds(pgid)
            got = closed_loop(port, sat[turn::CHUNKS], procs=2, conns=8)
            a = acc[name]
            a["cpu"] += cpu_seconds(pgid) - before
            a["ok"] += got["rate"] * got["wall"]
            a["wall"] += got["wall"]
            a["gen_cpu"] += got["gen_cores"] * got["wall"]
    time.sleep(2)
    durable = acc["durable"]["ok"] / acc["durable"]["wall"] if "durable" in acc else RATE
    rate = min(RATE, round(durable / 2))
    per_turn = max(1, rate * LATENCY_SECONDS // CHUNKS)
    for turn in range(CHUNKS):
        shift = (run + turn) % len(names)
        for name in names[shift:] + names[:shift]:
            requests = at_rate[turn::CHUNKS][:per_turn]
            got_lat, failed = in_child(fixed_rate, servers[name][0], requests, rate)
            lat[name] += got_lat
            acc[name]["failed"] += failed
    return {
        n: {
            "rate": a["ok"] / a["wall"], "gen_cores": a["gen_cpu"] / a["wall"],
            "server_cores": a["cpu"] / a["wall"], "p50": _q(lat[n], 0.5), "p99": _q(lat[n], 0.99),
            "failed": a["failed"], "latency_rate": rate,
        }
        for n, a in acc.items()
    }  # fmt: skip


def pending_left(engine: Engine) -> bool:
    with Session(engine) as s:
        return (
            s.exec(
                select(WebhookEventRow.id).where(col(WebhookEventRow.status) == "pending")
            ).first()
            is not None
        )


def wait_drained(engine: Engine, seconds: float) -> None:
    deadline = time.time() + seconds
    while pending_left(engine) and time.time() < deadline:
        time.sleep(0.2)


def ack_to_progress(url: str, env: dict[str, str], port: int, run: int, load: Load) -> list[float]:
    """With `okr-jira worker` running: received_at -> processed_at of events sent at 200/s."""
    worker = subprocess.Popen(
        [str(BIN / "okr-jira"), "worker"], env=env | {"OKR_JIRA_INBOX_INTERVAL_SECONDS": "0.2"},
        start_new_session=True, cwd=ROOT,
    )  # fmt: skip
    engine = make_engine(url)
    try:
        wait_drained(engine, 300)  # the backlog the receiver phases left
        in_child(fixed_rate, port, load.at_200, 200)
        wait_drained(engine, 60)
        with Session(engine) as s:
            rows = s.exec(
                select(WebhookEventRow.received_at, WebhookEventRow.processed_at).where(
                    col(WebhookEventRow.delivery_id).like(f"r{run}-p-%")
                )
            ).all()
        return [(p - r).total_seconds() for r, p in rows if p is not None]
    finally:
        engine.dispose()
        stop(worker)


def bench_run(url: str, run: int, quick: bool) -> dict[str, dict[str, float]]:
    """One run: the three servers up side by side, measured in alternating turns, same requests;
    then okr-jira's worker for the acknowledgement-to-progress delay."""
    load = make_load(run, quick)
    env = server_env(url)
    started: dict[str, subprocess.Popen[bytes]] = {}
    try:
        ports = {}
        for name in SERVERS:
            started[name], ports[name] = start_server(APPS[name], env)
        out = measure({n: (ports[n], started[n].pid) for n in SERVERS}, load, run)
        for name in ("http", "durable"):
            stop(started.pop(name))
        delays = ack_to_progress(url, env, ports["okr-jira"], run, load)
        out["okr-jira"]["progress_p50"] = _q(delays, 0.5) if delays else math.nan
        out["okr-jira"]["progress_p95"] = _q(delays, 0.95) if delays else math.nan
        return out
    finally:
        for proc in started.values():
            stop(proc)


def ratios(run: dict[str, dict[str, float]]) -> dict[str, float]:
    ours, durable, bare = run["okr-jira"], run["durable"], run["http"]
    return {
        "rate": ours["rate"] / durable["rate"],
        "p99": ours["p99"] / durable["p99"],
        "durable_rate_of_http": durable["rate"] / bare["rate"],
        "rate_of_http": ours["rate"] / bare["rate"],
    }


def pg_schema_url(schema: str) -> str:
    opt = urllib.parse.quote(f"-csearch_path={schema}")
    return f"{PG_URL}{'&' if '?' in PG_URL else '?'}options={opt}"


def bench_backend(backend: str, runs: int, quick: bool) -> list[dict[str, dict[str, float]]]:
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        admin = None
        schema = f"bench_webhooks_{os.getpid()}"
        if backend == "sqlite":
            url = f"sqlite:///{tmp}/bench.db"
        else:
            admin = make_engine(PG_URL)
            with admin.begin() as c:
                c.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
                c.execute(text(f'CREATE SCHEMA "{schema}"'))
            url = pg_schema_url(schema)
        prepare(url)
        try:
            for run in range(runs):
                results.append(bench_run(url, run, quick))
                r = results[-1]
                for name in SERVERS:
                    x = r[name]
                    extra = ""
                    if name == "okr-jira":
                        extra = (
                            f"; at 200/s with the worker: ack->progress p50 "
                            f"{x['progress_p50']:.2f} s p95 {x['progress_p95']:.2f} s"
                        )
                    print(
                        f"{backend} run {run + 1} {LABELS[name]:<26} {x['rate']:6.0f} ev/s "
                        f"(gunicorn {x['server_cores']:.2f} cores, generator "
                        f"{x['gen_cores']:.2f}); at {x['latency_rate']:.0f}/s p50 "
                        f"{x['p50'] * 1000:5.1f} ms "
                        f"p99 {x['p99'] * 1000:6.1f} ms, non-2xx {x['failed']:.0f}{extra}",
                        flush=True,
                    )
                q = ratios(r)
                print(f"{backend} run {run + 1} ratios: okr-jira/durable throughput "
                      f"{q['rate']:.2f}x, p99 {q['p99']:.2f}x", flush=True)  # fmt: skip
        finally:
            if admin is not None:
                with admin.begin() as c:
                    c.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
                admin.dispose()
    return results


SERVERS = ("http", "durable", "okr-jira")
APPS = {
    "http": "ceilings:bare_app()",
    "durable": "ceilings:durable_app()",
    "okr-jira": "webhooks:create_app()",
}
LABELS = {
    "http": "(a) HTTP ceiling",
    "durable": "(b) durable ceiling",
    "okr-jira": "okr-jira receiver",
}
GOALS = (  # (ratio key, label, goal, higher is better)
    ("rate", "throughput okr-jira / durable ceiling", 0.8, True),
    ("p99", "p99 at a fixed rate okr-jira / durable", 1.5, False),
)


def report(backend: str, results: list[dict[str, dict[str, float]]]) -> bool:
    """Print the medians and the ratios (median of each run's ratio); True when goals are met."""

    def med(name: str, key: str) -> float:
        return statistics.median(r[name][key] for r in results)

    per_run = [ratios(r) for r in results]

    def ratio(key: str) -> float:
        return statistics.median(q[key] for q in per_run)

    print(f"\n{backend}: medians of {len(results)} runs", flush=True)
    ok = True
    for key, label, goal, higher in GOALS:
        value = ratio(key)
        met = value >= goal if higher else value <= goal
        ok &= met
        sign = ">=" if higher else "<="
        print(f"  {label:<42} {value:5.2f}x  goal {sign} {goal}x  {'met' if met else 'MISSED'}")
    print(f"  (the durable ceiling is {ratio('durable_rate_of_http'):.2f}x the HTTP ceiling's "
          f"throughput; okr-jira {ratio('rate_of_http'):.2f}x)")  # fmt: skip
    for name in SERVERS:
        print(f"  {LABELS[name]:<26} {med(name, 'rate'):6.0f} ev/s; at "
              f"{med(name, 'latency_rate'):.0f}/s p50 {med(name, 'p50') * 1000:5.1f} ms, "
              f"p99 {med(name, 'p99') * 1000:6.1f} ms; "
              f"gunicorn {med(name, 'server_cores'):.2f} cores")  # fmt: skip
    print(f"  okr-jira ack->progress at 200/s (worker running): p50 "
          f"{med('okr-jira', 'progress_p50'):.2f} s, p95 {med('okr-jira', 'progress_p95'):.2f} s "
          f"(absolute, machine-dependent; wanted <= 2 s)")  # fmt: skip
    print(json.dumps({
        "backend": backend, "runs": len(results),
        "ratio_throughput_vs_durable": round(ratio("rate"), 2),
        "ratio_p99_vs_durable": round(ratio("p99"), 2),
        **{f"{name}_events_per_s": round(med(name, "rate")) for name in SERVERS},
        **{f"{name}_p99_ms": round(med(name, "p99") * 1000, 1) for name in SERVERS},
        "ack_to_progress_p95_s": round(med("okr-jira", "progress_p95"), 2),
    }), flush=True)  # fmt: skip
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    add_runs_and_quick(parser, "a few hundred requests")
    args = parser.parse_args()
    runs = 1 if args.quick else args.runs
    backends = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    ok = True
    for backend in backends:
        ok &= report(backend, bench_backend(backend, runs, args.quick))
    return verdict(ok, args.quick)


if __name__ == "__main__":
    sys.exit(main())
