"""EXPLAIN ANALYZE of okr-jira's hot queries on PostgreSQL at the size of the largest sites.

    .venv/bin/python benchmarks/explain_plans.py [--url postgresql+psycopg://postgres@127.0.0.1:5432/test]
        [--issues 1000000] [--krs 20000] [--out benchmarks/plans]

Builds a scratch schema (dropped afterwards) migrated to head, fills it with generate_series:
`--issues` snapshots, two open links per issue (its type's KR and its epic's KR) plus closed
ones, a million processed webhook events and a few pending, 45 days of progress history of every
KR and objective. Then runs the storage functions the hot paths call (the inbox claim and its
dead letters, the open links of one issue, of some KRs, the latest progress of 500 KRs, the
tree's latest points), captures the SQL they send, and writes `EXPLAIN (ANALYZE, BUFFERS)` of
each to `--out`. Exits 1 when a plan reads a whole large table (a Seq Scan on kr_issue_link,
webhook_event, issue_snapshot or progress_snapshot).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, text
from sqlmodel import Session

from okr_jira.storage.db import make_engine, upgrade
from okr_jira.storage.inbox import claim, dead_letters
from okr_jira.storage.links import open_link_ids, open_links
from okr_jira.storage.progress import latest_points, progress_as_of

SCHEMA = "okr_explain_plans"
LARGE = ("kr_issue_link", "webhook_event", "issue_snapshot", "progress_snapshot")
NOW = dt.datetime(2026, 11, 15, 12, 0, tzinfo=dt.UTC)


def fill(engine: Engine, issues: int, krs: int) -> None:
    """Rows shaped like a site of `issues` issues and `krs` KRs, made inside PostgreSQL."""
    types = 36  # 6 projects x 6 issue types: one KR each
    per_epic = max(issues // max(krs - types, 1), 1)
    objectives = krs // 5
    days = 45
    steps = [
        f"""INSERT INTO issue_snapshot (key, jira_id, project, issue_type, status, status_category,
            summary, priority, labels, components, fix_versions, epic, numbers, created, updated,
            deleted, seen_at)
        SELECT 'P' || (i % 6) || '-' || i, (10000 + i)::text, 'P' || (i % 6), 'Story',
            'To Do', CASE WHEN i % 3 = 0 THEN 'done' ELSE 'new' END, 'Issue ' || i, 'Medium',
            '[]', '[]', '[]', 'P' || (i % 6) || '-E' || (i / {per_epic}), '{{}}',
            TIMESTAMP '2026-10-01' + i * INTERVAL '1 second',
            TIMESTAMP '2026-10-01' + i * INTERVAL '2 second', false, TIMESTAMP '2026-11-15'
        FROM generate_series(1, {issues}) AS i""",
        f"""INSERT INTO kr_issue_link (kr, issue_key, joined_at, done_when_joined, reason)
        SELECT 'KR-' || (i % {types}), 'P' || (i % 6) || '-' || i, TIMESTAMP '2026-10-02',
            false, 'sync'
        FROM generate_series(1, {issues}) AS i""",
        f"""INSERT INTO kr_issue_link (kr, issue_key, joined_at, done_when_joined, reason)
        SELECT 'KR-' || ({types} + i / {per_epic} % {krs - types}), 'P' || (i % 6) || '-' || i,
            TIMESTAMP '2026-10-02', false, 'sync'
        FROM generate_series(1, {issues}) AS i""",
        # Closed links: issues that moved between KRs earlier in the cycle.
        f"""INSERT INTO kr_issue_link (kr, issue_key, joined_at, done_when_joined, left_at,
            done_when_left, reason)
        SELECT 'KR-' || ((i * 7) % {krs}), 'P' || (i % 6) || '-' || i, TIMESTAMP '2026-10-02',
            false, TIMESTAMP '2026-10-20', false, 'sync'
        FROM generate_series(1, {issues}, 5) AS i""",
        f"""INSERT INTO webhook_event (delivery_id, received_at, event_type, issue_key, issue_id,
            event_ts, body, status, attempts, processed_at)
        SELECT 'd-' || i, TIMESTAMP '2026-10-01' + i * INTERVAL '2 second',
            'jira:issue_updated', 'P' || (i % 6) || '-' || (i % {issues} + 1), i::text,
            i, '{{}}', CASE WHEN i > {issues} - 200 THEN 'pending' ELSE 'applied' END, 1,
            CASE WHEN i > {issues} - 200 THEN NULL
                 ELSE TIMESTAMP '2026-10-01' + i * INTERVAL '2 second' END
        FROM generate_series(1, {issues}) AS i""",
        f"""INSERT INTO progress_snapshot (kind, subject, cycle, taken_at, progress, current,
            status, issues_total, issues_done, issues_in_progress, reason)
        SELECT k.kind, k.subject, '2026-Q4', TIMESTAMP '2026-10-01' + d * INTERVAL '1 day',
            d / 90.0, d, 'on_track', 50, d, 3, 'daily'
        FROM (SELECT 'kr' AS kind, 'KR-' || n AS subject FROM generate_series(0, {krs - 1}) n
              UNION ALL
              SELECT 'objective', 'O-' || n FROM generate_series(0, {objectives - 1}) n) AS k,
             generate_series(1, {days}) AS d""",
        """INSERT INTO progress_latest (kind, subject, snapshot_id, taken_at)
        SELECT DISTINCT ON (kind, subject) kind, subject, id, taken_at FROM progress_snapshot
        ORDER BY kind, subject, taken_at DESC, id DESC""",
    ]
    with engine.begin() as conn:
        for sql in steps:
            started = time.monotonic()
            conn.execute(text(sql))
            print(f"  {sql.split()[0].lower()} {sql.split()[2] if len(sql.split()) > 2 else ''}"
                  f" {time.monotonic() - started:.1f} s", flush=True)  # fmt: skip
    # As autovacuum would have by then: statistics, and the visibility map index-only scans use.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))


def capture(engine: Engine, run: Callable[[Session], object]) -> list[tuple[str, Any]]:
    """The statements (and parameters) `run` sends, in a transaction rolled back afterwards."""
    sent: list[tuple[str, Any]] = []

    def before(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        sent.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", before)
    try:
        with Session(engine) as session:
            run(session)
            session.rollback()
    finally:
        event.remove(engine, "before_cursor_execute", before)
    return sent


def explain(engine: Engine, statement: str, parameters: Any) -> str:
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + statement, parameters
        ).all()
        conn.rollback()
    return "\n".join(r[0] for r in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--issues", type=int, default=1_000_000)
    parser.add_argument("--krs", type=int, default=20_000)
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "plans"))
    args = parser.parse_args()
    admin = make_engine(args.url)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{SCHEMA}"'))
    sep = "&" if "?" in args.url else "?"
    engine = make_engine(
        args.url + sep + "options=" + urllib.parse.quote(f"-csearch_path={SCHEMA}")
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    bad: list[str] = []
    try:
        upgrade(engine)
        print(f"filling {SCHEMA}: {args.issues:,} issues, {args.krs:,} KRs", flush=True)
        fill(engine, args.issues, args.krs)
        one_issue = f"P{12345 % 6}-12345"
        some_krs = [f"KR-{n}" for n in range(100, 600)]
        hot: dict[str, Callable[[Session], object]] = {
            "inbox_claim": lambda s: claim(session=s, limit=1000),
            "inbox_dead_letters": lambda s: dead_letters(session=s),
            "links_by_issue": lambda s: open_link_ids(session=s, issues=[one_issue]),
            "links_of_krs": lambda s: open_links(session=s, krs=some_krs[:20]),
            "progress_latest": lambda s: progress_as_of(
                session=s, kind="kr", subjects=some_krs, until=NOW
            ),
            "tree_latest_points": lambda s: latest_points(session=s, kind="objective"),
        }
        for name, run in hot.items():
            statements = capture(engine, run)
            parts = []
            for n, (statement, parameters) in enumerate(statements, start=1):
                if not statement.lstrip().upper().startswith("SELECT"):
                    continue
                plan = explain(engine, statement, parameters)
                parts.append(f"-- statement {n}\n{statement}\n\n{plan}\n")
                for table in LARGE:
                    if f"Seq Scan on {table}" in plan:
                        bad.append(f"{name}: Seq Scan on {table}")
            text_out = (
                f"-- {name}: {args.issues:,} issues, {args.krs:,} KRs, PostgreSQL "
                f"{engine.dialect.server_version_info}\n\n" + "\n".join(parts)
            )
            (out / f"{name}.txt").write_text(text_out)
            timing = [line for line in text_out.splitlines() if "Execution Time" in line]
            print(f"{name}: {'; '.join(t.strip() for t in timing)}")
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE'))
        admin.dispose()
    for line in bad:
        print(f"MISSED: {line}")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
