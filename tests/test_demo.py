"""`okr-jira demo --once`: the main job on embedded defaults, end to end, as CI runs it."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from pathlib import Path

from okr_jira.report.review import months_of
from tests.support.builders import make_cycle


def test_demo_once_exits_0_and_leaves_a_preview_of_the_whole_tree(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OKR_JIRA_")}
    result = subprocess.run(
        [sys.executable, "-m", "okr_jira.cli", "demo", "--once"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert "sync (full) finished" in out and "mapping errors: 0" in out
    assert "history reconstructed:" in out  # the cycle so far, from the issues
    assert re.search(r"remote links in Jira: [1-9]\d* created", out)
    # the tree, its Cycle health page, and the monthly reviews so far
    pages = 10 + len(months_of(make_cycle(), dt.date.today()))
    assert re.search(rf"first publish: created {pages},", out)
    assert "Round 1:" in out and "-> " in out
    # Webhooks moved progress, and the second publish updated only some pages.
    assert re.search(r"publish after the webhooks: created 0, updated [1-9]", out)
    preview = tmp_path / "okr-preview"
    pages = sorted(p.name for p in preview.glob("*.html"))
    objectives = ["CO-1", "CO-2", "CX-1", "ENG-1", "MOB-1", "PLAT-1", "SELF-1", "SUP-1"]
    assert pages == sorted([*(f"{k}.html" for k in objectives), "index.html", "health.html"])
    index = (preview / "index.html").read_text()
    for key in objectives:
        assert key in index
    for kr in ("SUP-1.2", "SELF-1.2", "PLAT-1.1"):
        assert kr in (preview / f"{kr.split('.')[0]}.html").read_text()
    # The charts show lines spanning the cycle so far: a point a day since 2026-10-01.
    sup = (preview / "SUP-1.html").read_text()
    line = re.search(r'<polyline points="([^"]+)"[^>]*data-series="reconstructed"', sup)
    assert line is not None and len(line.group(1).split()) >= 30
    assert (tmp_path / "okr-jira-demo.db").exists()
