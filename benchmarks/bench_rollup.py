"""Benchmark of the pure progress engine (not a test): selection + KR progress + rollup + pace.

Generates 100,000 issue snapshots over 40 projects and 1,500 objectives holding 5,000 KRs of every
kind and selector, then times the whole computation an update cycle does in memory:

    index the snapshots -> select each KR's issues -> compute_kr_progress -> build_tree -> pace

Run: .venv/bin/python benchmarks/bench_rollup.py [--runs 5]
Targets: under 1 s wall time and under 300 MB peak memory.
"""

from __future__ import annotations

import argparse
import gc
import random
import resource
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

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
from okr_jira.domain.selectors import IssueIndex

ISSUES = 100_000
PROJECTS = 40
OBJECTIVES = 1_500
KEY_RESULTS = 5_000
TARGET_SECONDS = 1.0
TARGET_MB = 300.0
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


def generate(seed: int = 42) -> Workload:
    rng = random.Random(seed)
    projects = [f"P{n:02d}" for n in range(PROJECTS)]
    per_project = ISSUES // PROJECTS
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
    for n in range(OBJECTIVES):
        key = f"O-{n}"
        # 10 company objectives, 100 department ones, the rest team objectives under them.
        parent = (
            None
            if n < 10
            else f"O-{rng.randrange(10)}"
            if n < 110
            else f"O-{rng.randrange(10, 110)}"
        )
        project = projects[n % PROJECTS]
        scopes[key] = (project,)
        krs: list[KeyResult] = []
        count = KEY_RESULTS // OBJECTIVES + (1 if n < KEY_RESULTS % OBJECTIVES else 0)
        for _ in range(count):
            kr_key = f"{key}.{len(krs) + 1}"
            krs.append(_key_result(rng, kr_key, project, projects, labels, jql_keys, manual))
            kr_count += 1
        objectives.append(
            Objective(key=key, cycle=CYCLE.key, team="t", title=key, key_results=tuple(krs),
                      parent=parent, weight=rng.choice((1.0, 1.0, 2.0)),
                      rollup=rng.choice(("both", "both", "children", "key_results")))
        )  # fmt: skip
    assert kr_count == KEY_RESULTS
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    started = time.perf_counter()
    work = generate()
    print(f"generated {len(work.snapshots):,} snapshots, {len(work.objectives):,} objectives, "
          f"{KEY_RESULTS:,} KRs in {time.perf_counter() - started:.2f} s")  # fmt: skip

    times = []
    for _ in range(args.runs):
        gc.collect()
        started = time.perf_counter()
        tree, judged = compute(work)
        times.append(time.perf_counter() - started)
    nodes = sum(1 for _ in iter_nodes(tree))

    # Parts: the index is built once per update; build_tree alone is a re-render from cached KRs.
    started = time.perf_counter()
    IssueIndex(work.snapshots)
    index_ms = (time.perf_counter() - started) * 1000
    progress = {kr.key: p for node in iter_nodes(tree) for kr, p in node.key_results}
    started = time.perf_counter()
    build_tree(work.objectives, progress)
    rollup_ms = (time.perf_counter() - started) * 1000

    gc.collect()
    tracemalloc.start()
    compute(work)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    peak_mb = peak / 1e6
    # ru_maxrss is KiB on Linux: the whole process, generated snapshots included.
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6
    median = statistics.median(times)

    print(f"objectives in tree: {nodes:,}; pace statuses judged per run: {judged:,}")
    print(f"wall time (index + select + progress + rollup + pace): median {median * 1000:.0f} ms "
          f"of {args.runs} runs (min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}); "
          f"target < {TARGET_SECONDS * 1000:.0f} ms")  # fmt: skip
    print(f"of which IssueIndex over {ISSUES:,} snapshots: {index_ms:.0f} ms")
    print(f"build_tree alone (1,500 objectives, 5,000 KRs): {rollup_ms:.1f} ms")
    print(f"peak memory allocated by one run (tracemalloc): {peak_mb:.0f} MB")
    print(f"peak RSS of the process, data included (ru_maxrss): {rss_mb:.0f} MB; "
          f"target < {TARGET_MB:.0f} MB")  # fmt: skip
    ok = median < TARGET_SECONDS and rss_mb < TARGET_MB
    print("OK" if ok else "OVER TARGET")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
