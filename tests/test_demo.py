"""`okr-jira demo --once`: the main job on embedded defaults, end to end, as CI runs it."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from pathlib import Path

from okr_jira.report.review import months_of
from okr_jira.runtime.demo import Demo, DemoPaths
from tests.support.builders import make_cycle
from tests.support.paths import EXAMPLE_OKRS


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
    # Webhooks moved progress, and the round's publish updated only some pages.
    assert re.search(r"round 1 publish: created 0, updated [1-9]", out)
    # Where to look is said once, at the top, before the output scrolls.
    assert out.count("Where to look") == 1
    assert out.index("Where to look") < out.index("Applied okrs.example.yaml")
    assert f"HTML preview:          {tmp_path / 'okr-preview' / 'index.html'}" in out
    assert re.search(r"Simulated Jira: +http://127\.0\.0\.1:\d+ ", out)
    assert re.search(r"Simulated Confluence: +http://127\.0\.0\.1:\d+/wiki ", out)
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


def test_every_round_moves_work_and_rewrites_the_preview_long_after_the_work_ran_out(
    tmp_path: Path,
) -> None:
    """Rounds big enough to finish every open issue within a few rounds: work keeps coming
    (done issues reopen), and the preview is rewritten each round, not only at the end."""
    preview = tmp_path / "okr-preview"
    index = preview / "index.html"
    lines: list[str] = []
    seen: list[tuple[int, str]] = []  # the preview's mtime and text as each round ends

    def echo(text: str) -> None:
        lines.extend(text.splitlines())
        if re.match(r"round \d+ publish: wrote \d+ preview pages", text):
            seen.append((index.stat().st_mtime_ns, index.read_text()))

    demo = Demo(
        DemoPaths(database=tmp_path / "demo.db", preview=preview, okr_file=EXAMPLE_OKRS),
        echo=echo,
    )
    assert demo.run(steps=60, pause=0, rounds=8) == 0
    moves = [line for line in lines if line.startswith("Round ")]
    assert len(moves) == 8 and len(seen) == 8
    for line in moves:
        assert re.search(r"(-> (In Progress|In Review|Done)|reopened)", line), line
    # The open work ran out early; what kept the later rounds busy was reopened issues.
    assert all("reopened" in line for line in moves[-3:]), moves
    # A rewrite every round (the clock moves on), and what the pages say changed along the way.
    mtimes = [m for m, _ in seen]
    assert mtimes == sorted(mtimes) and len(set(mtimes)) == len(mtimes)
    assert len({text for _, text in seen}) > 1
