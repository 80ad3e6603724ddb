"""Benchmark of the pure progress engine (not a test): selection + progress + rollup + pace, beside
two baselines measured in the same run.

Generates 100,000 issue snapshots over 40 projects and 1,500 objectives holding 5,000 KRs of every
kind and selector, then times the whole computation an update cycle does in memory:

    index the snapshots -> select each KR's issues -> compute_kr_progress -> build_tree -> pace

and, in each run, the baselines:

    read      the 100,000 snapshots read once from storage (SQLite, `storage.issues.snapshots`,
              written there before the clock starts): what any update pays to see the issues;
    naive     a naive evaluator: each key result scans every snapshot (`selectors.select`), then
              the same progress, rollup and pace. At 5,000 x 100,000 matches it would take
              minutes a run, so it is timed over every 100th KR (50 KRs, checked to select the
              same issues as the index) and scaled to 5,000.

Run: .venv/bin/python benchmarks/bench_rollup.py [--runs 3] [--quick]
Goals (medians of the runs' ratios): the computation takes less time than reading the snapshots
once (< 1.0x) and is >= 20x faster than the naive evaluator; peak RSS of the computation
(data included) under 300 MB. Exits 1 when a goal is missed. Times in ms are printed second.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import random
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from benchargs import add_runs_and_quick, verdict
from sqlalchemy import Engine
from sqlmodel import Session

from okr_jira.domain.models import (
    Cycle,
    IssueSnapshot,
    KeyResult,
    KrProgress,
    Objective,
    ObjectiveNode,
    PaceThresholds,
    Source,
    StatusCategory,
    WeightBy,
)
from okr_jira.domain.pace import pace_status, score
from okr_jira.domain.progress import compute_kr_progress
from okr_jira.domain.rollup import build_tree, iter_nodes
from okr_jira.domain.selectors import IssueIndex, select
from okr_jira.storage.db import make_engine, session_scope, upgrade
from okr_jira.storage.issues import snapshots as stored_snapshots
from okr_jira.storage.issues import upsert_snapshots

PROJECTS = 40
TARGET_MB = 300.0
READ_RATIO_GOAL = 1.0  # computation / one read of the snapshots: below
NAIVE_RATIO_GOAL = 20.0  # naive evaluator / computation: at least
NAIVE_EVERY = 100  # the naive evaluator is timed over every 100th KR


@dataclass(frozen=True)
class Size:
    issues: int
    objectives: int
    key_results: int


FULL = Size(issues=100_000, objectives=1_500, key_results=5_000)
QUICK = Size(issues=4_000, objectives=60, key_results=200)
CYCLE = Cycle(key="2026-Q4", name="Q4 2026", start=date(2026, 10, 1), end=date(2026, 12, 31))
TODAY = date(2026, 11, 15)
THRESHOLDS = PaceThresholds(on_track=0.10, at_risk=0.25)  # the settings' defaults
CATEGORIES: tuple[StatusCategory, ...] = ("new", "indeterminate", "done")
TYPES = ("Story", "Task", "Bug", "Incident", "Epic")


@dataclass(frozen=True)
class Workload:
    snapshots: list[IssueSnapshot]
    objectives: list[Objective]
    scopes: dict[str, tuple[str, ...]]  # objective key -> its team's projects
    jql_keys: dict[str, frozenset[str]]  # KR key -> keys Jira returned for its raw jql
    manual: dict[str, float]


def generate(size: Size = FULL, seed: int = 42) -> Workload:
    rng = random.Random(seed)
    projects = [f"P{n:02d}" for n in range(PROJECTS)]
    per_project = size.issues // PROJECTS
    labels = [f"label-{n}" for n in range(200)]
    snapshots = []
    for project in projects:
        for n in range(1, per_project + 1):
            epic = f"{project}-{rng.randint(1, 50)}" if n > 50 and rng.random() < 0.8 else None
            snapshots.append(
                IssueSnapshot(
                    key=f"{project}-{n}",
                    project=project,
                    issue_type="Epic" if n <= 50 else rng.choice(TYPES[:4]),
                    status="x",
                    status_category=rng.choice(CATEGORIES),
                    labels=tuple(rng.sample(labels, rng.randint(0, 3))),
                    components=(f"Component {rng.randint(1, 10)}",),
                    fix_versions=(f"2026.{rng.randint(7, 12)}",),
                    epic=epic,
                    story_points=rng.choice((None, 1.0, 2.0, 3.0, 5.0, 8.0)),
                    estimate_seconds=rng.choice((None, 3600.0, 14400.0, 28800.0)),
                    numbers=(("customfield_10100", float(rng.randint(0, 20))),),
                    deleted=rng.random() < 0.01,
                )
            )

    objectives: list[Objective] = []
    scopes: dict[str, tuple[str, ...]] = {}
    jql_keys: dict[str, frozenset[str]] = {}
    manual: dict[str, float] = {}
    kr_count = 0
    for n in range(size.objectives):
        key = f"O-{n}"
        # 10 company objectives, 100 department ones, the rest team objectives under them.
        parent = (
            None
            if n < 10
            else f"O-{rng.randrange(10)}"
            if n < 110 or size.objectives <= 110
            else f"O-{rng.randrange(10, 110)}"
        )
        project = projects[n % PROJECTS]
        scopes[key] = (project,)
        krs: list[KeyResult] = []
        count = size.key_results // size.objectives + (
            1 if n < size.key_results % size.objectives else 0
        )
        for _ in range(count):
            kr_key = f"{key}.{len(krs) + 1}"
            krs.append(_key_result(rng, kr_key, project, projects, labels, jql_keys, manual))
            kr_count += 1
        objectives.append(
            Objective(key=key, cycle=CYCLE.key, team="t", title=key, key_results=tuple(krs),
                      parent=parent, weight=rng.choice((1.0, 1.0, 2.0)),
                      rollup=rng.choice(("both", "both", "children", "key_results")))
        )  # fmt: skip
    assert kr_count == size.key_results
    return Workload(snapshots, objectives, scopes, jql_keys, manual)


def _key_result(
    rng: random.Random,
    key: str,
    project: str,
    projects: list[str],
    labels: list[str],
    jql_keys: dict[str, frozenset[str]],
    manual: dict[str, float],
) -> KeyResult:
    roll = rng.random()
    epics = tuple(f"{project}-{rng.randint(1, 50)}" for _ in range(rng.randint(1, 3)))
    if roll < 0.40:
        weight_by: WeightBy = rng.choice(("count", "story_points", "estimate"))
        source = Source(epics=epics, exclude=(f"{project}-{rng.randint(51, 2500)}",))
        return KeyResult(key, key, "issues", weight_by=weight_by, in_progress_credit=0.25,
                         source=source)  # fmt: skip
    if roll < 0.60:
        source = Source(projects=tuple(rng.sample(projects, 2)), labels=(rng.choice(labels),))
        return KeyResult(key, key, "issues", source=source)
    if roll < 0.70:
        issues = tuple(f"{project}-{rng.randint(51, 2500)}" for _ in range(10))
        return KeyResult(key, key, "issues", source=Source(issues=issues))
    if roll < 0.80:
        source = Source(components=(f"Component {rng.randint(1, 10)}",), fix_versions=("2026.11",),
                        include=(f"{project}-{rng.randint(51, 2500)}",))  # fmt: skip
        return KeyResult(key, key, "issues", weight_by="story_points", source=source)
    if roll < 0.90:
        # Raw jql is evaluated with the keys Jira returned for it (what sync stores).
        jql_keys[key] = frozenset(f"{project}-{rng.randint(51, 2500)}" for _ in range(200))
        source = Source(projects=(project,), issue_types=("Bug",), jql="statusCategory != Done")
        return KeyResult(key, key, "issue_count", start=40, target=5, source=source)
    if roll < 0.95:
        return KeyResult(key, key, "field_sum", start=0, target=400, field="Hours Saved",
                         done_only=True, source=Source(epics=epics))  # fmt: skip
    manual[key] = rng.uniform(0, 100)
    return KeyResult(key, key, "manual", start=0, target=100)


def compute(work: Workload) -> tuple[list[ObjectiveNode], int]:
    """The in-memory part of an update: returns the tree and how many pace statuses were judged."""
    index = IssueIndex(work.snapshots)
    progress: dict[str, KrProgress] = {}
    for objective in work.objectives:
        scope = work.scopes[objective.key]
        for kr in objective.key_results:
            issues: list[IssueSnapshot] = []
            if kr.source is not None:
                issues = index.select(kr.source, scope_projects=scope, jql_match=_jql(work, kr.key))
            progress[kr.key] = compute_kr_progress(
                kr,
                issues,
                manual_current=work.manual.get(kr.key),
                field_id="customfield_10100" if kr.kind == "field_sum" else None,
            )
    tree = build_tree(work.objectives, progress)
    judged = 0
    for node in iter_nodes(tree):
        pace_status(score(node.progress), CYCLE, TODAY, THRESHOLDS)
        judged += 1
        for _, kr_progress in node.key_results:
            pace_status(score(kr_progress.progress), CYCLE, TODAY, THRESHOLDS)
            judged += 1
    return tree, judged


def _jql(work: Workload, kr_key: str) -> Callable[[IssueSnapshot], bool] | None:
    keys = work.jql_keys.get(kr_key)
    if keys is None:
        return None
    return lambda issue: issue.key in keys


def naive_select(work: Workload, objective: Objective, kr: KeyResult) -> list[IssueSnapshot]:
    """The naive evaluator's selection: one KR scanning every snapshot."""
    if kr.source is None:
        return []
    live = [
        s
        for s in select(kr.source, work.snapshots, scope_projects=work.scopes[objective.key],
                        jql_match=_jql(work, kr.key))
        if not s.deleted
    ]  # fmt: skip
    return live


def naive_sample(work: Workload) -> list[tuple[Objective, KeyResult]]:
    pairs = [(o, kr) for o in work.objectives for kr in o.key_results]
    return pairs[::NAIVE_EVERY]


def naive(work: Workload, sample: list[tuple[Objective, KeyResult]]) -> float:
    """Seconds the naive evaluator takes for all KRs: the sampled KRs' selection and progress,
    scaled to every KR, plus rollup and pace over the whole tree (as `compute` does them)."""
    started = time.perf_counter()
    for objective, kr in sample:
        compute_kr_progress(
            kr,
            naive_select(work, objective, kr),
            manual_current=work.manual.get(kr.key),
            field_id="customfield_10100" if kr.kind == "field_sum" else None,
        )
    per_kr = (time.perf_counter() - started) / len(sample)
    kr_count = sum(len(o.key_results) for o in work.objectives)
    progress = {kr.key: KrProgress(kr.key, 0.0) for o in work.objectives for kr in o.key_results}
    started = time.perf_counter()
    tree = build_tree(work.objectives, progress)
    for node in iter_nodes(tree):
        pace_status(score(node.progress), CYCLE, TODAY, THRESHOLDS)
        for _, kr_progress in node.key_results:
            pace_status(score(kr_progress.progress), CYCLE, TODAY, THRESHOLDS)
    return per_kr * kr_count + time.perf_counter() - started


def check_naive_agrees(work: Workload, sample: list[tuple[Objective, KeyResult]]) -> None:
    """The baseline selects what the index selects (else the comparison means nothing)."""
    index = IssueIndex(work.snapshots)
    for objective, kr in sample:
        if kr.source is None:
            continue
        indexed = index.select(kr.source, scope_projects=work.scopes[objective.key],
                               jql_match=_jql(work, kr.key))  # fmt: skip
        scanned = naive_select(work, objective, kr)
        assert {s.key for s in indexed} == {s.key for s in scanned}, kr.key


def store(work: Workload, url: str) -> Engine:
    """The snapshots written to a fresh SQLite database, as a sync stores them."""
    engine = make_engine(url)
    upgrade(engine)
    now = dt.datetime(2026, 11, 15, tzinfo=dt.UTC)
    for i in range(0, len(work.snapshots), 5_000):
        with session_scope(engine) as session:
            upsert_snapshots(session=session, snapshots=work.snapshots[i : i + 5_000], now=now)
    return engine


def read_once(engine: Engine) -> int:
    with Session(engine) as session:
        return len(stored_snapshots(session=session))


def timed(fn: Callable[[], object]) -> float:
    gc.collect()
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_runs_and_quick(parser, "4,000 snapshots and 200 KRs")
    args = parser.parse_args()
    size = QUICK if args.quick else FULL
    runs = 1 if args.quick else args.runs

    started = time.perf_counter()
    work = generate(size)
    print(f"generated {len(work.snapshots):,} snapshots, {len(work.objectives):,} objectives, "
          f"{size.key_results:,} KRs in {time.perf_counter() - started:.2f} s")  # fmt: skip
    sample = naive_sample(work)
    check_naive_agrees(work, sample)

    gc.collect()
    tree, judged = compute(work)  # a warm-up, and the memory measure before storage is read
    nodes = sum(1 for _ in iter_nodes(tree))
    gc.collect()
    tracemalloc.start()
    compute(work)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # ru_maxrss is KiB on Linux: the whole process, generated snapshots included.
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6

    with tempfile.TemporaryDirectory() as tmp:
        engine = store(work, f"sqlite:///{Path(tmp) / 'bench.db'}")
        assert read_once(engine) == len(work.snapshots)
        rows = []
        for run in range(runs):
            row = {
                "compute": timed(lambda: compute(work)),
                "read": timed(lambda: read_once(engine)),
                "naive": naive(work, sample),
            }
            rows.append(row)
            print(f"run {run + 1}: computation {row['compute'] * 1000:.0f} ms, read "
                  f"{row['read'] * 1000:.0f} ms ({row['compute'] / row['read']:.2f}x), naive "
                  f"{row['naive'] * 1000:.0f} ms ({row['naive'] / row['compute']:.0f}x slower)",
                  flush=True)  # fmt: skip
        engine.dispose()

    # Parts: the index is built once per update; build_tree alone is a re-render from cached KRs.
    index_ms = timed(lambda: IssueIndex(work.snapshots)) * 1000
    progress = {kr.key: p for node in iter_nodes(tree) for kr, p in node.key_results}
    rollup_ms = timed(lambda: build_tree(work.objectives, progress)) * 1000

    def med(key: str) -> float:
        return statistics.median(r[key] for r in rows)

    read_ratio = statistics.median(r["compute"] / r["read"] for r in rows)
    naive_ratio = statistics.median(r["naive"] / r["compute"] for r in rows)
    goals = (
        (f"computation / reading the snapshots once: {read_ratio:.2f}x",
         f"< {READ_RATIO_GOAL:g}x", read_ratio < READ_RATIO_GOAL),
        (f"naive evaluator / computation: {naive_ratio:.0f}x",
         f">= {NAIVE_RATIO_GOAL:g}x", naive_ratio >= NAIVE_RATIO_GOAL),
        (f"peak RSS of the computation, data included: {rss_mb:.0f} MB",
         f"< {TARGET_MB:.0f} MB", rss_mb < TARGET_MB),
    )  # fmt: skip
    print(f"\nmedians of {runs} runs; ratios are medians of each run's ratio")
    for text, goal, met in goals:
        print(f"  {text:<56} goal {goal:<8} {'met' if met else 'MISSED'}")
    print(f"  absolute (this machine): computation {med('compute') * 1000:.0f} ms, read "
          f"{med('read') * 1000:.0f} ms, naive {med('naive') * 1000:.0f} ms "
          f"(selection timed over {len(sample)} KRs, scaled to {size.key_results:,})")  # fmt: skip
    print(f"  objectives in tree: {nodes:,}; pace statuses judged per run: {judged:,}; "
          f"IssueIndex alone {index_ms:.0f} ms; build_tree alone {rollup_ms:.1f} ms; "
          f"peak allocated by one computation (tracemalloc) {peak / 1e6:.0f} MB")  # fmt: skip
    return verdict(all(met for _, _, met in goals), args.quick)


if __name__ == "__main__":
    sys.exit(main())
