"""The --out preview as a reader sees it: rendered by headless Chromium, screenshot kept.

Needs /usr/bin/chromium (apt-get install -y chromium) and the `playwright` package; skipped with
the reason when the browser is absent. The screenshot goes to test-artifacts/preview.png.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from okr_jira.publish import write_preview
from tests.support.paths import ROOT
from tests.support.publish_world import NOW, build_world

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"
BROWSER_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-sync",
    "--no-first-run",
    "--metrics-recording-only",
]


@pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed")
def test_the_preview_renders_in_a_browser_with_links_bars_and_charts(
    engine: Engine, tmp_path: Path
) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    for world in build_world(engine, "datacenter", tmp_path):
        world.change_issue(
            world.open_issue_of("SUP-1.1").key, status="Done", status_category="done"
        )
        out = tmp_path / "preview"
        write_preview(world.publisher(clock=lambda: NOW).context("2026-Q4"), out)

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=BROWSER_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.goto((out / "index.html").as_uri())
            assert page.title() == "OKRs - Q4 2026"
            assert page.locator("table tr").count() == 9  # header + 8 objectives
            assert page.locator(".lozenge.green, .lozenge.yellow, .lozenge.red").count() > 0
            page.screenshot(path=str(ARTIFACTS / "preview.png"), full_page=True)

            page.click("text=SUP-1 Answer faster, with fewer escalations")
            assert page.url.endswith("/SUP-1.html")
            # The charts, inline: the history reconstructed at the first sync spans the cycle
            # so far (dashed), the scope beside it, the expected pace.
            rebuilt = page.locator("svg polyline[data-series=reconstructed]")
            assert rebuilt.count() >= 4  # the objective's chart and one per key result
            points = rebuilt.first.get_attribute("points") or ""
            assert len(points.split()) >= 40  # 2026-10-01 .. 2026-11-15, a point a day
            assert page.locator("svg polyline[data-series=scope]").count() >= 3
            box = rebuilt.first.bounding_box()
            assert box is not None and box["width"] > 200  # a line, not a dot
            width = page.locator(".bar .fill").first.evaluate(
                "e => e.getBoundingClientRect().width"
            )
            assert width > 0  # the bar is drawn, not just text
            # How the progress is made: each key result's weight and contribution.
            parts = page.locator("table", has=page.locator("th", has_text="Contribution"))
            assert parts.locator("tr").count() == 5  # header, 3 KRs, the objective's total
            assert "pts" in parts.inner_text()
            assert page.locator("th", has_text="Share").count() >= 1  # each issue's share
            page.screenshot(path=str(ARTIFACTS / "preview-objective.png"), full_page=True)

            # A 700 px window: nothing overflows sideways.
            narrow = browser.new_page(viewport={"width": 700, "height": 900})
            for name in ("index.html", "SUP-1.html"):
                narrow.goto((out / name).as_uri())
                overflow = narrow.evaluate(
                    "() => document.documentElement.scrollWidth - window.innerWidth"
                )
                assert overflow <= 0, (name, overflow)
            narrow.screenshot(path=str(ARTIFACTS / "preview-objective-700px.png"), full_page=True)
        finally:
            browser.close()
