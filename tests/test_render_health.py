"""Health where people read it: the objective pages' Health section, the Cycle health page, the
terminal tree and `tree --json`, in Confluence storage format and the preview alike."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from dataclasses import replace

from okr_jira.domain.health import HealthReport, Overlap, Signal, TeamScores
from okr_jira.render import (
    render_confluence_pages,
    render_health_page,
    render_preview,
)
from okr_jira.render.health import health_text
from okr_jira.simulator.confluence import storage_format_error
from tests.test_render import HOSTILE, _ctx

AT = dt.datetime(2026, 11, 14, 9, 30, tzinfo=dt.UTC)


def signal(kind: str, key_result: str | None, **overrides: object) -> Signal:
    values: dict[str, object] = {
        "kind": kind, "severity": "warning", "team": "support", "objective": "SUP-1",
        "key_result": key_result, "issues": ("SUP-7", "SUP-8"), "detail": f"{kind} happened",
        "since": AT,
    }  # fmt: skip
    values.update(overrides)
    return Signal(**values)  # type: ignore[arg-type]


REPORT = HealthReport(
    cycle="2026-Q4",
    computed_at=AT,
    signals=(
        signal("scope_change", "SUP-1.1", detail=HOSTILE),
        signal("target_lowered", "SUP-1.2", issues=(), detail="120 -> 80 by bob on 2026-11-14"),
        signal("sandbagging", None, objective=None, severity="info", issues=()),
        signal("overlap", "X-1.1", team="selfserve", objective="X-1"),
    ),
    distribution=(TeamScores("support", "Support", 3, 0.47, (1, 1, 0, 1)),),
    overlaps=(Overlap(("SUP-1.1", "X-1.1"), ("support", "selfserve"), ("SUP-7",)),),
)


def pages(report: HealthReport | None) -> dict[str, str]:
    return {p.key: p.body for p in render_confluence_pages(_ctx(health=report))}


def test_an_objective_page_shows_its_signals_and_its_teams_and_no_others() -> None:
    body = pages(REPORT)["SUP-1"]
    assert storage_format_error(body) is None
    assert "<h2>Health</h2>" in body
    assert "SCOPE CHANGE" in body and "TARGET LOWERED" in body and "SANDBAGGING" in body
    assert "overlap happened" not in body  # belongs to another objective
    assert "<script>" not in body and "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "<h2>Health</h2>" not in pages(REPORT)["CX-1"]  # no signal there: nothing shown


def test_without_signals_or_before_any_sync_no_health_section_is_shown() -> None:
    empty = replace(REPORT, signals=())
    assert all("<h2>Health</h2>" not in body for body in pages(empty).values())
    assert all("Health" not in body for body in pages(None).values())


def test_the_root_page_links_the_cycle_health_page() -> None:
    root = pages(REPORT)["root"]
    assert 'ri:content-title="OKRs - Q4 2026 - Cycle health"' in root
    assert "4 guardrail signal(s)" in root


def test_the_cycle_health_page_has_every_signal_and_the_calibration_report() -> None:
    page = render_health_page(_ctx(health=REPORT))
    assert page.title == "OKRs - Q4 2026 - Cycle health" and page.parent_title == "OKRs - Q4 2026"
    assert storage_format_error(page.body) is None
    for text in ("Signals", "Score distribution by team", "Overlaps", "Targets lowered",
                 "Scope moved", "overlap happened", "120 -&gt; 80 by bob", "SUP-1.1 (Support)",
                 "X-1.1 (Self-Service)"):  # fmt: skip
        assert text in page.body, text
    assert "&lt;script&gt;" in page.body and "<script>" not in page.body
    unchanged = render_health_page(_ctx(health=replace(REPORT, computed_at=AT + dt.timedelta(1))))
    assert unchanged.content_hash == page.content_hash  # a sync with nothing new writes nothing


def test_the_preview_has_the_health_page_and_the_sections() -> None:
    files = render_preview(_ctx(health=REPORT))
    assert "health.html" in files and 'href="health.html"' in files["index.html"]
    root = ET.fromstring(files["health.html"].removeprefix("<!DOCTYPE html>\n"))
    assert root.find(".//h1") is not None
    assert "<h2>Health</h2>" in files["SUP-1.html"]
    assert "health.html" not in render_preview(_ctx())


def test_health_in_a_terminal_names_teams_and_key_results() -> None:
    text = health_text(REPORT)
    assert text.splitlines()[0] == "Health of 2026-Q4 (computed 2026-11-14 09:30 UTC): 4 signal(s)"
    assert "WARNING  target_lowered  SUP-1.2 [support]: 120 -> 80 by bob on 2026-11-14" in text
    assert "INFO     sandbagging     team support: sandbagging happened" in text
    assert "Support                 3  0.47         1         1         0         1" in text
    assert "SUP-1.1 (support) and X-1.1 (selfserve): SUP-7" in text
