"""Benchmark the golden thread: Jira requests per changed issue, beside naive baselines.

    .venv/bin/python benchmarks/bench_remote_links.py [--flavor cloud|datacenter]
        [--size small|medium] [--latency-ms 5]

The small dataset (or `--size medium`) and the KRs of bench_sync are applied and synced (links
point at web URLs, so no Confluence is needed), then the remote links are written: first for every
(issue, KR) pair, then with nothing changed, after 10 issues changed (joins and leaves), and
after one KR was renamed. The requests are counted by the simulator. Baselines measured in the
same run: "rewrite all" (POST every link at every sync: what a stateless cron would do, relying
on the globalId upsert) and "read then diff" (GET each issue's remote links, then write what
differs: no state kept, but a read per issue).
Goals (exit 1 when one is missed): nothing changed sends no request (0x read-then-diff); 10
changed issues cost <= 0.05x rewrite-all and <= 1.5 requests per changed issue; a renamed KR
costs <= 1 request per linked issue. Request counts are the same in every run: one run suffices.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_sync import make_okrs
from benchargs import verdict

from okr_jira.adapters.http import RetryPolicy
from okr_jira.adapters.jira import JiraAdapter
from okr_jira.adapters.jira_remote_links import RemoteLink, RemoteLinks
from okr_jira.domain.health import GuardrailThresholds
from okr_jira.domain.models import PaceThresholds
from okr_jira.okrs.plan import apply_plan, make_plan
from okr_jira.simulator import SimulatorServer, generate
from okr_jira.storage.db import make_engine, session_scope, upgrade
from okr_jira.sync import Syncer
from okr_jira.sync.golden_thread import (
    LinkSummary,
    LinkTarget,
    desired_links,
    sync_remote_links,
)

TARGET = LinkTarget(confluence=False, web_url="https://okr.example.com")
THRESHOLDS = PaceThresholds(on_track=0.1, at_risk=0.25)
GUARDRAILS = GuardrailThresholds(scope_change=0.25, jump=0.3, stale_checkin_days=14)  # defaults


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flavor", choices=("cloud", "datacenter"), default="cloud")
    parser.add_argument("--size", choices=("small", "medium"), default="small")
    parser.add_argument("--latency-ms", type=float, default=5.0)
    args = parser.parse_args()

    sim = generate(args.size, flavor=args.flavor, deliver=False)
    okrs = make_okrs(sim, target=200 if args.size == "medium" else 100)
    server = SimulatorServer(args.flavor, jira=sim).start()
    tmp = Path(tempfile.mkdtemp(prefix="bench-links-"))
    engine = make_engine(f"sqlite:///{tmp / 'bench.db'}")
    try:
        upgrade(engine)
        with session_scope(engine) as session:
            apply_plan(session, make_plan(session, okrs), actor="bench")
        creds = server.credentials
        policy = RetryPolicy(timeout=30, max_retries=2)
        if args.flavor == "cloud":
            jira = JiraAdapter(server.url, user=creds.email, token=creds.api_token,
                               flavor="cloud", policy=policy)  # fmt: skip
        else:
            jira = JiraAdapter(server.url, user=None, token=creds.pat, flavor="datacenter",
                               policy=policy)  # fmt: skip
        syncer = Syncer(engine, jira, thresholds=THRESHOLDS, guardrails=GUARDRAILS, time_zone="UTC")
        started = time.monotonic()
        syncer.full()
        print(f"full sync: {time.monotonic() - started:.1f} s", flush=True)
        server.faults.latency_ms = args.latency_ms
        with session_scope(engine) as session:
            pairs = len(desired_links(session, TARGET)[0])
        issues = len({issue for issue, _ in _desired(engine)})
        print(f"flavor={args.flavor} size={args.size} issues={len(sim.issues)} KRs="
              f"{sum(len(o.key_results) for o in okrs.objectives)} linked issues={issues} "
              f"links={pairs} latency={args.latency_ms:g} ms", flush=True)  # fmt: skip
        rows: list[tuple[str, int, int, float]] = []

        def run(name: str, changed: int, step: Callable[[], object]) -> LinkSummary | None:
            server.stats.reset()
            started = time.monotonic()
            result = step()
            rows.append((name, changed, server.stats.total, time.monotonic() - started))
            return result if isinstance(result, LinkSummary) else None

        def ours() -> LinkSummary:
            return sync_remote_links(engine, jira, TARGET, now=dt.datetime.now(dt.UTC))

        def rewrite_all() -> None:
            client = RemoteLinks(jira)
            for link in _desired(engine).values():
                client.upsert(link)

        def read_then_diff() -> None:
            client = RemoteLinks(jira)
            by_issue: dict[str, list[RemoteLink]] = {}
            for (issue, _kr), link in _desired(engine).items():
                by_issue.setdefault(issue, []).append(link)
            for issue, links in by_issue.items():
                have = {ln.get("globalId"): ln for ln in client.list(issue)}
                for link in links:
                    old = have.get(link.global_id)
                    if old is None or (old.get("object") or {}).get("title") != link.title:
                        client.upsert(link)

        first = run("ours: first run (every link)", pairs, ours)
        run("ours: nothing changed", 0, ours)
        run("baseline rewrite-all: nothing changed", 0, rewrite_all)
        run("baseline read-then-diff: nothing changed", 0, read_then_diff)
        changed = _change_ten(sim)
        syncer.incremental()
        after = run(f"ours: {changed} issues changed", changed, ours)
        changed_again = _change_ten(sim, offset=1)
        syncer.incremental()
        run(f"baseline rewrite-all: {changed_again} issues changed", changed_again, rewrite_all)
        ours()  # catch up with that change (rewrite-all keeps no record)
        renamed = _rename_one(engine, okrs)
        run(f"ours: 1 KR renamed ({renamed} issues)", renamed, ours)
        print(f"{'run':<44}{'changed':>9}{'requests':>10}{'per changed':>13}{'wall s':>9}")
        for name, n, sent, wall in rows:
            per = f"{sent / n:.2f}" if n else "-"
            print(f"{name:<44}{n:>9}{sent:>10}{per:>13}{wall:>9.2f}")
        assert first is not None and after is not None
        print(
            f"{rows[4][1]} issues changed: ours {rows[4][2]} requests ({after.created} created, "
            f"{after.removed} removed, {after.updated} updated) vs rewrite-all {rows[5][2]}: "
            f"{rows[4][2] / max(rows[5][2], 1):.4f}x; nothing changed: ours {rows[1][2]} vs "
            f"read-then-diff {rows[3][2]} (target: 0, and about 1 request per changed link)"
        )
        renamed_n, renamed_sent = rows[6][1], rows[6][2]
        goals = (  # (what, value, goal): lower is better; request counts do not vary between runs
            ("nothing changed: requests / read-then-diff baseline", rows[1][2] / rows[3][2], 0.0),
            ("10 issues changed: requests / rewrite-all baseline",
             rows[4][2] / max(rows[5][2], 1), 0.05),
            ("10 issues changed: requests per changed issue", rows[4][2] / rows[4][1], 1.5),
            ("1 KR renamed: requests per linked issue", renamed_sent / max(renamed_n, 1), 1.0),
        )  # fmt: skip
        ok = True
        for what, value, goal in goals:
            met = value <= goal
            ok &= met
            print(f"  {what:<52} {value:7.3f}x  goal <= {goal:g}x  {'met' if met else 'MISSED'}")
        return verdict(ok, quick=False)
    finally:
        server.stop()
        engine.dispose()


def _desired(engine: object) -> dict[tuple[str, str], RemoteLink]:
    with session_scope(engine) as session:  # type: ignore[arg-type]
        return dict(desired_links(session, TARGET)[0])


def _change_ten(sim: object, offset: int = 0) -> int:
    """Ten issues join or leave KRs: labels gained and lost, epics moved, one issue created."""
    jira = sim  # type: ignore[assignment]
    keys = sorted(
        k
        for k, r in jira.issues.items()  # type: ignore[attr-defined]
        if r.project in ("PLAT", "MOB") and r.issue_type in ("Story", "Bug")
    )[offset::7][:9]
    for n, key in enumerate(keys):
        rec = jira.issues[key]  # type: ignore[attr-defined]
        labels = () if "reliability" in rec.labels else ("reliability",)
        if n % 3 == 2:
            jira.update_issue(key, epic=None)  # type: ignore[attr-defined]
        else:
            jira.update_issue(key, labels=labels)  # type: ignore[attr-defined]
    jira.create_issue("MOB", "Bug", "A new crash", labels=("crash",))  # type: ignore[attr-defined]
    return len(keys) + 1


def _rename_one(engine: object, okrs: object) -> int:
    from dataclasses import replace

    from okr_jira.domain.models import OkrSet

    assert isinstance(okrs, OkrSet)
    objective = okrs.objectives[0]
    kr = objective.key_results[0]
    renamed = replace(objective, key_results=(replace(kr, title=kr.title + " (renamed)"),
                                              *objective.key_results[1:]))  # fmt: skip
    new = replace(okrs, objectives=(renamed, *okrs.objectives[1:]))
    with session_scope(engine) as session:  # type: ignore[arg-type]
        apply_plan(session, make_plan(session, new), actor="bench")
    return sum(1 for (_i, k) in _desired(engine) if k == kr.key)


if __name__ == "__main__":
    sys.exit(main())
