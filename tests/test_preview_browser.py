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
            assert page.locator("svg polyline").count() >= 1  # the progress chart, inline
            width = page.locator(".bar .fill").first.evaluate(
                "e => e.getBoundingClientRect().width"
            )
            assert width > 0  # the bar is drawn, not just text
            page.screenshot(path=str(ARTIFACTS / "preview-objective.png"), full_page=True)
        finally:
            browser.close()
