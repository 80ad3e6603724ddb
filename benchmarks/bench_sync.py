"""Benchmark `okr-jira sync` against the simulator in another process, beside a naive baseline.

    .venv/bin/python benchmarks/bench_sync.py [--flavor cloud|datacenter] [--size medium]
        [--latency-ms 30] [--runs 3] [--large] [--quick]

Generates 200+ KRs over the simulator's projects, epics, labels, components and versions (every
selector, local raw JQL and a few JQL clauses only Jira answers), then measures, each sync in its
own process (ru_maxrss, CPU from wait4): `sync --full`, an incremental sync with nothing changed,
one after 10 changed issues, and the naive baseline (one paged JQL search per KR with default
fields, as a cron script over atlassian-python-api would do). The flavor is configured, as the
README advises; one more first full sync on a fresh database runs with `auto`.
Everything runs `--runs` times (a fresh simulator and database each time); the ratios (requests
against the bound ceil(issues / page size), requests and wall time against the naive baseline of
the same run) are reported as medians, and the script exits 1 when one misses its goal: full sync
<= 1.1x the bound, fewer requests and less wall time than the naive baseline (<= 1.0x),
incremental syncs <= 2 requests idle and <= 5 after 10 changes.
`--large` adds the memory check of a full sync of the large dataset (latency 0: memory does not
depend on it).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import requests
from benchargs import add_runs_and_quick, verdict
from children import run_child, start_simulator

from okr_jira.domain.models import Cycle, KeyResult, KrKind, Objective, OkrSet, Source, Team
from okr_jira.domain.selectors import source_to_jql
from okr_jira.simulator import generate
from okr_jira.simulator.catalog import Flavor
from okr_jira.simulator.datagen import Size
from okr_jira.simulator.jira import JiraSim

ROOT = Path(__file__).resolve().parent.parent
OKR_JIRA = str(Path(sys.executable).with_name("okr-jira"))
CREDS = {
    "cloud": {"OKR_JIRA_JIRA_USER": "okr-bot@example.com", "OKR_JIRA_JIRA_TOKEN": "sim-api-token"},
    "datacenter": {"OKR_JIRA_JIRA_TOKEN": "sim-personal-access-token"},
}
PAGE = {"cloud": 100, "datacenter": 1000}
NON_LOCAL = ("summary ~ crash", "summary ~ refund", "summary ~ webhook", "description ~ latency")


# --- the OKR set ---------------------------------------------------------------------------------


def make_okrs(sim: JiraSim, target: int = 200) -> OkrSet:
    """At least `target` KRs mixing every selector over the simulator's data."""
    cycle = Cycle("2026-Q4", "Q4 2026", dt_date(2026, 10, 1), dt_date(2026, 12, 31))
    teams = tuple(Team(p.lower(), p, None, (p,)) for p in sim.projects)
    krs: dict[str, list[KeyResult]] = {p: [] for p in sim.projects}

    def add(project: str, source: Source, kind: KrKind = "issues", **extra: Any) -> None:
        n = len(krs[project]) + 1
        krs[project].append(
            KeyResult(key=f"{project}-O.{n}", title=f"KR {n}", kind=kind, source=source, **extra)
        )

    for key, p in sim.projects.items():
        epics = sorted(
            k for k, r in sim.issues.items() if r.project == key and r.issue_type == "Epic"
        )
        for epic in epics[:16]:
            add(key, Source(epics=(epic,)))
        for i in range(0, min(len(epics), 12), 3):
            add(key, Source(epics=tuple(epics[i : i + 3]), issue_types=("Story",)))
        for comp in p.components:
            add(key, Source(components=(comp,)))
            add(key, Source(components=(comp,), issue_types=("Bug",)))
        for version in p.versions:
            add(key, Source(fix_versions=(version,)))
        labels = sorted(
            {label for r in sim.issues.values() if r.project == key for label in r.labels}
        )
        for label in labels:
            add(key, Source(labels=(label,)))
        add(key, Source(projects=(key,), issue_types=("Bug",), include=(f"{key}-1",),
                        exclude=(f"{key}-2",)))  # fmt: skip
        add(key, Source(issues=tuple(f"{key}-{n}" for n in range(3, 9))))
        hot = f"project = {key} AND priority in (High, Highest) AND statusCategory != Done"
        add(key, Source(jql=hot), kind="issue_count", start=50, target=5)
        add(key, Source(jql=f"project = {key} AND status = 'In Review'"))
        add(key, Source(projects=(key,), jql="created >= '2026-11-01'"))
    for project, clause in zip(("PLAT", "MOB", "SUP", "SELF"), NON_LOCAL, strict=True):
        add(project, Source(jql=f"project = {project} AND {clause}"))
    objectives = []
    for key, items in krs.items():
        for i in range(0, len(items), 5):
            objectives.append(
                Objective(
                    key=f"{key}-O{i // 5 + 1}",
                    cycle=cycle.key,
                    team=key.lower(),
                    title=f"{key} objective {i // 5 + 1}",
                    key_results=tuple(items[i : i + 5]),
                )
            )
    okrs = OkrSet(cycles=(cycle,), teams=teams, objectives=tuple(objectives))
    total = sum(len(o.key_results) for o in okrs.objectives)
    if total < target:
        raise SystemExit(f"only {total} KRs generated")
    return okrs


def dt_date(y: int, m: int, d: int) -> Any:
    import datetime

    return datetime.date(y, m, d)


# --- processes -----------------------------------------------------------------------------------


def sync_env(db_path: Path, okrs: OkrSet, url: str, flavor: str, setting: str) -> dict[str, str]:
    """A fresh migrated database holding `okrs`, and the environment `okr-jira` runs with."""
    from okr_jira.okrs.plan import apply_plan, make_plan
    from okr_jira.storage.db import make_engine, session_scope, upgrade

    db_url = f"sqlite:///{db_path}"
    engine = make_engine(db_url)
    upgrade(engine)
    with session_scope(engine) as session:
        apply_plan(session, make_plan(session, okrs), actor="bench")
    engine.dispose()
    # The time zone configured too (else a first sync asks /myself once for it).
    env = os.environ | {"OKR_JIRA_DATABASE_URL": db_url, "OKR_JIRA_JIRA_URL": url,
                        "OKR_JIRA_JIRA_FLAVOR": setting, "OKR_JIRA_TIME_ZONE": "UTC"
                        } | CREDS[flavor]  # fmt: skip
    env.pop("OKR_JIRA_CONFIG", None)
    return env


def sim_total(url: str) -> int:
    return int(requests.get(f"{url}/_sim/stats", timeout=10).json()["total"])


def summary_numbers(text: str) -> dict[str, int]:
    def grab(pattern: str) -> int:
        m = re.search(pattern, text)
        return int(m.group(1)) if m else -1

    return {
        "requests": grab(r"requests to Jira: (\d+)"),
        "issues": grab(r"issues read: (\d+)"),
        "krs_changed": grab(r"key results changed: (\d+)"),
    }


def change_ten_issues(url: str, sim: JiraSim) -> None:
    """Ten realistic edits: transitions, labels, epic and story points changes, one new issue."""
    keys = sorted(k for k, r in sim.issues.items() if r.project in ("SUP", "PLAT", "MOB")
                  and r.issue_type in ("Story", "Bug"))[5:60:6]  # fmt: skip
    edits: list[dict[str, Any]] = [
        {"status": "Done"}, {"status": "In Progress"}, {"labels": ["reliability"]},
        {"labels": []}, {"story_points": 8}, {"status": "In Review"}, {"priority": "Highest"},
        {"epic": None}, {"status": "Done"},
    ]  # fmt: skip
    for key, body in zip(keys, edits, strict=False):
        requests.put(f"{url}/_sim/issues/{key}", json=body, timeout=10).raise_for_status()
    requests.post(
        f"{url}/_sim/issues",
        json={"project": "SUP", "issue_type": "Bug", "summary": "New crash", "labels": ["macros"]},
        timeout=10,
    ).raise_for_status()


# --- naive baseline ------------------------------------------------------------------------------


def naive(url: str, flavor: str, jql_file: str) -> None:
    """One paged JQL search per KR with default fields, as a cron script would."""
    from atlassian import Jira

    if flavor == "cloud":
        jira = Jira(url, username="okr-bot@example.com", password="sim-api-token", cloud=True)
    else:
        jira = Jira(url, token="sim-personal-access-token")
    issues = 0
    for jql in json.loads(Path(jql_file).read_text()):
        if flavor == "cloud":
            token = None
            while True:
                page = jira.enhanced_jql(jql, nextPageToken=token, limit=100) or {}
                issues += len(page.get("issues") or [])
                token = page.get("nextPageToken")
                if not token:
                    break
        else:
            start = 0
            while True:
                page = jira.jql(jql, start=start, limit=1000) or {}
                got = len(page.get("issues") or [])
                issues += got
                start += got
                if not got or start >= page.get("total", 0):
                    break
    print(json.dumps({"issues": issues}))


# --- main ----------------------------------------------------------------------------------------


def after_a_quiet_hour(url: str, flavor: str, db_path: Path) -> tuple[int, int, int]:
    """(requests, issues read, KRs changed) of an incremental sync an hour after the last one,
    with nothing changed in Jira meanwhile: the simulator's clock and the syncer's move on by
    an hour together (the sync runs here, in process, to take the later clock)."""
    import datetime as dt

    from okr_jira.adapters.jira import JiraAdapter
    from okr_jira.domain.health import GuardrailThresholds
    from okr_jira.domain.models import PaceThresholds
    from okr_jira.storage.db import make_engine
    from okr_jira.sync import Syncer

    requests.post(
        f"{url}/_sim/clock", json={"advance_seconds": 3600}, timeout=10
    ).raise_for_status()
    creds = CREDS[flavor]
    jira = JiraAdapter(
        url, user=creds.get("OKR_JIRA_JIRA_USER"), token=creds["OKR_JIRA_JIRA_TOKEN"],
        flavor=flavor,  # type: ignore[arg-type]
    )  # fmt: skip
    engine = make_engine(f"sqlite:///{db_path}")
    try:
        summary = Syncer(
            engine, jira, thresholds=PaceThresholds(on_track=0.10, at_risk=0.25),
            guardrails=GuardrailThresholds(scope_change=0.25, jump=0.3, stale_checkin_days=14),
            clock=lambda: dt.datetime.now(dt.UTC) + dt.timedelta(hours=1),
        ).incremental()  # fmt: skip
    finally:
        engine.dispose()
    assert summary.mode == "incremental", summary.mode
    return summary.requests, summary.issues_read, summary.krs_changed


def bench(flavor: Flavor, size: Size, latency: float) -> dict[str, float]:
    sim = generate(size, flavor=flavor)  # the same data the simulator process serves
    okrs = make_okrs(sim, target=100 if size == "small" else 200)
    kr_count = sum(len(o.key_results) for o in okrs.objectives)
    teams = {t.key: t for t in okrs.teams}
    epic_clause = "parent" if flavor == "cloud" else "Epic Link"
    jqls = [
        source_to_jql(
            kr.source, scope_projects=teams[o.team].jira_projects, epic_clause=epic_clause
        )
        for o in okrs.objectives
        for kr in o.key_results
        if kr.source is not None
    ]
    proc, url = start_simulator(flavor, "--size", size, "--latency-ms", str(latency))
    tmp = Path(tempfile.mkdtemp(prefix="bench-sync-"))
    try:
        env = sync_env(tmp / "bench.db", okrs, url, flavor, flavor)
        print(f"flavor={flavor} size={size} issues={len(sim.issues)} KRs={kr_count} "
              f"latency={latency:g} ms page={PAGE[flavor]}")  # fmt: skip
        rows = []
        for name, cmd, before_run in (
            ("sync --full (first)", [OKR_JIRA, "sync", "--full"], None),
            ("sync --full (nightly)", [OKR_JIRA, "sync", "--full"], None),
            ("incremental, nothing changed", [OKR_JIRA, "sync"], None),
            ("incremental, 10 changed", [OKR_JIRA, "sync"], lambda: change_ten_issues(url, sim)),
        ):
            if before_run:
                before_run()
            sent = sim_total(url)
            r = run_child(cmd, env)
            if r["rc"] != 0:
                raise SystemExit(f"{name} failed: {r['err'] or r['out']}")
            nums = summary_numbers(r["out"])
            rows.append((name, sim_total(url) - sent, nums, r))
        quiet = after_a_quiet_hour(url, flavor, tmp / "bench.db")
        jql_file = tmp / "jql.json"
        jql_file.write_text(json.dumps(jqls))
        sent = sim_total(url)
        r = run_child([sys.executable, __file__, "--naive", url, flavor, str(jql_file)], env)
        if r["rc"] != 0:
            raise SystemExit(f"naive baseline failed: {r['err']}")
        rows.append(("naive: one search per KR", sim_total(url) - sent,
                     {"issues": json.loads(r["out"])["issues"], "requests": -1,
                      "krs_changed": -1}, r))  # fmt: skip
        sent = sim_total(url)
        auto_env = sync_env(tmp / "auto.db", okrs, url, flavor, "auto")
        r = run_child([OKR_JIRA, "sync", "--full"], auto_env)
        if r["rc"] != 0:
            raise SystemExit(f"sync --full (flavor auto) failed: {r['err'] or r['out']}")
        rows.append(("sync --full (first, flavor auto)", sim_total(url) - sent,
                     summary_numbers(r["out"]), r))  # fmt: skip
        print(f"{'run':<32}{'requests':>9}{'issues':>9}{'wall s':>9}{'cpu s':>8}{'peak MB':>9}")
        for name, sent_n, nums, r in rows:
            print(f"{name:<32}{sent_n:>9}{nums['issues']:>9}{r['wall']:>9.2f}{r['cpu']:>8.2f}"
                  f"{r['rss_mb']:>9.0f}")  # fmt: skip
        firsts = (
            ("full_first", rows[0], f"first, flavor set to {flavor}, learns the fields"),
            ("full_nightly", rows[1], "nightly, site known"),
            ("full_auto", rows[5], "first, flavor auto"),
        )
        out: dict[str, float] = {}
        for key, full, what in firsts:
            union = full[2]["issues"]
            needed = math.ceil(union / PAGE[flavor])
            out[key] = full[1] / needed
            print(
                f"full sync ({what}): {full[1]} requests for {union} issues; strictly needed "
                f"ceil({union}/{PAGE[flavor]}) = {needed}; ratio {full[1] / needed:.2f} "
                "(target <= 1.1)"
            )
        first, base = rows[0], rows[4]
        out |= {
            "naive_requests": first[1] / base[1],
            "naive_issues": first[2]["issues"] / base[2]["issues"],
            "naive_wall": first[3]["wall"] / base[3]["wall"],
            "naive_cpu": first[3]["cpu"] / base[3]["cpu"],
            "wall_first": first[3]["wall"],
            "wall_naive": base[3]["wall"],
            "requests_naive": base[1],
            "requests_first": first[1],
            "incr_idle": rows[2][1],
            "incr_ten": rows[3][1],
            "quiet_requests": quiet[0],
            "quiet_changed": quiet[2],
        }
        print(
            f"first full sync vs naive baseline (same run): requests {out['naive_requests']:.2f}x, "
            f"issues read {out['naive_issues']:.2f}x, wall {out['naive_wall']:.2f}x, "
            f"cpu {out['naive_cpu']:.2f}x"
        )
        print(f"incremental, nothing changed: {rows[2][1]} requests (target <= 2)")
        print(f"incremental, 10 changed: {rows[3][1]} requests (target <= 5)")
        print(
            f"incremental after a quiet hour (simulated clock): {quiet[0]} requests, {quiet[1]} "
            f"issues re-read unchanged, {quiet[2]} key results changed (target <= 2 requests, 0 "
            "changed)",
            flush=True,
        )
        return out
    finally:
        proc.terminate()
        proc.wait(10)


def bench_large_memory(flavor: Flavor) -> None:
    sim = generate("large", flavor=flavor)
    okrs = make_okrs(sim)
    del sim
    proc, url = start_simulator(flavor, "--size", "large", "--latency-ms", "0")
    tmp = Path(tempfile.mkdtemp(prefix="bench-sync-large-"))
    try:
        env = sync_env(tmp / "bench.db", okrs, url, flavor, flavor)
        r = run_child([OKR_JIRA, "sync", "--full"], env)
        if r["rc"] != 0:
            raise SystemExit(f"large full sync failed: {r['err']}")
        nums = summary_numbers(r["out"])
        print(f"large ({flavor}): full sync read {nums['issues']} issues in {nums['requests']} "
              f"requests, wall {r['wall']:.1f} s, cpu {r['cpu']:.1f} s, "
              f"peak RSS {r['rss_mb']:.0f} MB (target < 500 MB)")  # fmt: skip
    finally:
        proc.terminate()
        proc.wait(10)


GOALS = (  # (key, what, goal, higher is better); ratios measured within each run
    ("full_first", "first full sync: requests / ceil(issues / page)", 1.1, False),
    ("full_nightly", "nightly full sync: requests / ceil(issues / page)", 1.1, False),
    ("full_auto", "first full sync, flavor auto: requests / bound", 1.1, False),
    ("naive_requests", "first full sync / naive baseline: requests", 1.0, False),
    ("naive_wall", "first full sync / naive baseline: wall time", 1.0, False),
    ("incr_idle", "incremental, nothing changed: requests", 2, False),
    ("incr_ten", "incremental, 10 issues changed: requests", 5, False),
    ("quiet_requests", "incremental after a quiet hour: requests", 2, False),
    ("quiet_changed", "incremental after a quiet hour: KRs changed", 0, False),
)


def report(results: list[dict[str, float]]) -> bool:
    def med(key: str) -> float:
        return statistics.median(r[key] for r in results)

    print(f"\nmedians of {len(results)} runs (ratios: the median of each run's ratio)")
    ok = True
    for key, what, goal, higher in GOALS:
        value = med(key)
        met = value >= goal if higher else value <= goal
        ok &= met
        shown = f"{value:.2f}x" if isinstance(goal, float) else f"{value:g}"
        print(f"  {what:<52} {shown:>7}  goal {'>=' if higher else '<='} {goal:<4} "
              f"{'met' if met else 'MISSED'}")  # fmt: skip
    print(f"  first full sync / naive baseline, other ratios: issues read "
          f"{med('naive_issues'):.2f}x, CPU {med('naive_cpu'):.2f}x")  # fmt: skip
    print(f"  absolute (this machine): first full sync {med('wall_first'):.1f} s for "
          f"{med('requests_first'):.0f} requests; naive baseline {med('wall_naive'):.1f} s for "
          f"{med('requests_naive'):.0f} requests")  # fmt: skip
    return ok


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--naive":
        naive(*sys.argv[2:5])
        return 0
    parser = argparse.ArgumentParser()
    parser.add_argument("--flavor", choices=("cloud", "datacenter"), default="cloud")
    parser.add_argument("--size", choices=("small", "medium", "large"), default="medium")
    parser.add_argument("--latency-ms", type=float, default=30.0)
    parser.add_argument("--large", action="store_true", help="also the large-dataset memory run")
    add_runs_and_quick(parser, "the small dataset at 2 ms")
    args = parser.parse_args()
    if args.quick:
        args.size, args.latency_ms, args.runs = "small", 2.0, 1
    results = []
    for run in range(args.runs):
        print(f"--- run {run + 1} of {args.runs}", flush=True)
        results.append(bench(args.flavor, args.size, args.latency_ms))
    ok = report(results)
    if args.large:
        bench_large_memory(args.flavor)
    return verdict(ok, args.quick)


if __name__ == "__main__":
    sys.exit(main())
