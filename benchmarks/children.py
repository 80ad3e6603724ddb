"""The processes a benchmark starts: the simulator in its own process (its URL read from the
first line it prints), and okr-jira's commands measured as children (wall, CPU, peak RSS)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from typing import Any


def start_simulator(flavor: str, *options: str) -> tuple[subprocess.Popen[str], str]:
    """`python -m okr_jira.simulator --flavor FLAVOR OPTIONS...`; (the process, its URL)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "okr_jira.simulator", "--flavor", flavor, *options],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if not line.startswith("url="):
        raise SystemExit(f"simulator did not start: {line!r}")
    return proc, line.removeprefix("url=")


def run_child(cmd: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Run `cmd` to its end: wall and CPU seconds, peak RSS (ru_maxrss of that child alone),
    its output and exit status."""
    started = time.monotonic()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - started
        out.seek(0)
        err.seek(0)
        return {
            "wall": wall,
            "cpu": usage.ru_utime + usage.ru_stime,
            "rss_mb": usage.ru_maxrss / 1024,
            "out": out.read(),
            "err": err.read(),
            "rc": os.waitstatus_to_exitcode(status),
        }
