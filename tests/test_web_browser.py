"""The web app as a person uses it, in headless Chromium at 700 px wide: sign in, open the tree,
open a key result, edit its mapping and watch the live preview change, save, find the change in
the audit log, record a check-in. Screenshots are kept (their folder is printed) and axe-core
(vendored in tests/support/vendor) finds no serious or critical violation on any page.

Needs /usr/bin/chromium (apt-get install -y chromium); skipped with the reason without it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from tests.support.threads import serving
from tests.support.web_world import build_web_world
from tests.test_preview_browser import BROWSER_ARGS, CHROMIUM

AXE = Path(__file__).parent / "support" / "vendor" / "axe-core" / "axe.min.js"
WIDTH = 700


def axe_problems(page: Any) -> list[str]:
    """Serious and critical axe-core violations of the page as it is now."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document)")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def fits(page: Any) -> bool:
    """Nothing wider than the window: usable without scrolling sideways."""
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


@pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed")
def test_sign_in_edit_a_mapping_with_live_preview_audit_and_check_in(
    engine: Engine, tmp_path: Path
) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    world = build_web_world(engine)
    shots = tmp_path / "screenshots"
    shots.mkdir()
    print(f"\nscreenshots: {shots}")
    problems: dict[str, list[str]] = {}

    def look(page: Any, name: str) -> None:
        page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
        found = axe_problems(page)
        if found:
            problems[name] = found
        assert fits(page), f"{name} is wider than {WIDTH} px"

    with serving(world.app) as base, sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=BROWSER_ARGS)
        try:
            page = browser.new_page(viewport={"width": WIDTH, "height": 900})
            page.goto(f"{base}/")
            assert "/signin" in page.url
            look(page, "01-signin")
            page.fill("#token", "not-a-token")
            page.click("button[type=submit] >> text=Sign in")
            assert page.get_by_role("alert").inner_text().startswith("That token is not valid")
            page.fill("#token", world.admin)
            page.click("button[type=submit] >> text=Sign in")

            # The tree; the first Tab lands on the skip link (keyboard users).
            assert page.locator("h1").inner_text() == "OKRs · Q4 2026"
            page.keyboard.press("Tab")
            assert page.evaluate("document.activeElement.textContent") == "Skip to content"
            cookie = next(c for c in page.context.cookies() if c["name"] == "okr_jira_session")
            assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
            look(page, "02-tree")
            page.select_option("#team", "support")
            page.click("button >> text=Show")
            assert page.locator("a.title >> text=SUP-1 Answer faster").count() == 1
            assert page.locator("a.title >> text=ENG-1").count() == 0

            # A key result, then its mapping.
            page.click("text=SUP-1.1 Ship self-service refunds")
            assert page.locator("h1").inner_text() == "SUP-1.1 Ship self-service refunds"
            look(page, "03-key-result")
            page.click("text=Edit mapping")
            assert page.input_value("#f-epics") == "SUP-12"
            page.fill("#f-labels", "refunds")  # typing triggers the live preview
            page.wait_for_function("document.getElementById('preview-count')?.textContent === '3'")
            first = page.inner_text("#preview-after")
            page.fill("#f-exclude", "SUP-16")
            page.wait_for_function("document.getElementById('preview-count')?.textContent === '2'")
            assert page.inner_text("#preview-after") != first  # the preview moved
            assert "SUP-13" in page.inner_text("#preview") and "SUP-16" not in page.inner_text(
                "#preview ul.issues"
            )
            page.fill("#f-jql", "project = = SUP")
            page.wait_for_function(
                "document.getElementById('source-jql-error').textContent.length > 0"
            )
            look(page, "04-mapping-error")
            page.fill("#f-jql", "")
            page.wait_for_function("document.getElementById('preview-count')?.textContent === '2'")
            look(page, "05-mapping-preview")
            page.click("button >> text=Save mapping")
            assert page.get_by_role("status").inner_text().startswith("Mapping saved")

            # The change in the audit log, by the token's name.
            page.click("nav >> text=Audit log")
            page.fill("#f-kr", "SUP-1.1")
            page.click("button >> text=Filter")
            row = page.locator("table.audit tbody tr").first
            assert "ana" in row.inner_text() and "source" in row.inner_text()
            assert '"exclude":["SUP-16"]' in row.inner_text()
            look(page, "06-audit")

            # A check-in of a manual key result.
            page.goto(f"{base}/key-results/CO-1.1")
            page.fill("#f-value", "55")
            page.fill("#f-note", "November survey")
            page.click("button >> text=Record check-in")
            assert page.get_by_role("status").inner_text() == "Check-in recorded."
            assert "November survey" in page.inner_text("table")
            assert "Checked in at 55" in page.inner_text(".formula")
            look(page, "07-check-in")
        finally:
            browser.close()
    assert problems == {}, problems
