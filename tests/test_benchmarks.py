"""Each benchmark script still runs end to end in its tiny `--quick` mode and prints its ratios
against the baseline it measures in the same run. Nothing here is timed: the figures of a quick
run are too small to judge, and the scripts do not enforce their goals in that mode."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def run_quick(script: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), "--quick", *args],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=BENCHMARKS.parent,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "goals not enforced" in done.stdout
    return done.stdout


def test_bench_webhooks_prints_the_receiver_against_both_ceilings() -> None:
    out = run_quick("bench_webhooks.py", "--db", "sqlite")
    assert "(a) HTTP ceiling" in out
    assert "(b) durable ceiling" in out
    assert "throughput okr-jira / durable ceiling" in out
    assert "p99 at a fixed rate okr-jira / durable" in out


def test_bench_rollup_prints_the_computation_against_the_read_and_the_naive_evaluator() -> None:
    out = run_quick("bench_rollup.py")
    assert "computation / reading the snapshots once" in out
    assert "naive evaluator / computation" in out


def test_bench_sync_prints_requests_and_wall_time_against_the_naive_baseline() -> None:
    out = run_quick("bench_sync.py")
    assert "first full sync / naive baseline: requests" in out
    assert "first full sync / naive baseline: wall time" in out


def test_bench_publish_prints_requests_and_wall_time_against_the_naive_baseline() -> None:
    out = run_quick("bench_publish.py")
    assert "one KR changed: requests" in out
    assert "first publish: wall time" in out


@pytest.mark.parametrize("runs", ["0", "-1"])
def test_a_benchmark_refuses_fewer_than_one_run(runs: str) -> None:
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "bench_rollup.py"), "--runs", runs],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "--runs" in done.stderr


def test_bench_web_prints_each_url_against_healthz() -> None:
    out = run_quick("bench_web.py")
    assert "p50 / healthz" in out
