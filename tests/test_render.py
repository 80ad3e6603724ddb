"""Rendered pages: what a reader sees, and that no value from Jira or the OKR file adds markup."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import UTC, date, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from okr_jira.domain.models import ObjectiveNode
from okr_jira.render import (
    RenderContext,
    archive_title,
    content_hash,
    page_title,
    render_confluence_pages,
    render_preview,
    root_title,
)
from okr_jira.render.context import Attachment, ChartPoint
from okr_jira.simulator.confluence import storage_format_error
from tests.support.builders import (
    THRESHOLDS,
    make_cycle,
    make_issue,
    make_kr,
    make_objective,
    make_progress,
)

AC = "{http://atlassian.com/content}"
RI = "{http://atlassian.com/resource/identifier}"
TODAY = date(2026, 11, 15)  # half of Q4 2026 elapsed (46 of 92 days)
HOSTILE = '<ac:structured-macro ac:name="html"> ]]> <script>alert(1)</script> & "q" \'a\''


def _tree(
    summary: str = "Refund button", title: str = "Answer faster"
) -> tuple[ObjectiveNode, ...]:
    sup = make_objective(
        "SUP-1",
        title=title,
        parent="CX-1",
        key_results=(
            make_kr("SUP-1.1", title="Ship refunds"),
            make_kr("SUP-1.2", kind="issue_count", start=40, target=5, title="Cut P1 bugs"),
            make_kr("SUP-1.3", kind="manual", start=42, target=60, unit="NPS", title="NPS"),
        ),
    )
    sup_node = ObjectiveNode(
        objective=sup,
        progress=0.5,
        key_results=(
            (sup.key_results[0], make_progress("SUP-1.1", 1.0, issues_total=2, issues_done=2)),
            (sup.key_results[1], make_progress("SUP-1.2", 0.3, current=29, issues_total=29)),
            (
                sup.key_results[2],
                make_progress("SUP-1.3", 0.1, current=44, warnings=("stale value",)),
            ),
        ),
    )
    cx = make_objective("CX-1", team="cx", title="Resolve problems faster", rollup="children")
    cx_node = ObjectiveNode(objective=cx, progress=0.2, children=(sup_node,))
    done = make_objective("SELF-1", team="selfserve", title="Self-service")
    return (cx_node, ObjectiveNode(objective=done, progress=1.0))


def _ctx(**overrides: object) -> RenderContext:
    ctx = RenderContext(
        cycle=make_cycle(),
        space_key="OKR",
        roots=_tree(),
        today=TODAY,
        thresholds=THRESHOLDS,
        teams={"support": "Support", "cx": "Customer Experience", "selfserve": "Self-Service"},
        issues={
            "SUP-1.1": (
                make_issue("SUP-3", status_category="done", summary="Refund button"),
                make_issue("SUP-4", status_category="indeterminate", summary="Refund API"),
            )
        },
        jql={"SUP-1.1": 'parent = "SUP-12" AND labels in ("a&b", "<x>")'},
        history={
            "SUP-1": (
                ChartPoint(date(2026, 10, 5), 0.1, 2.0, backfilled=True),
                ChartPoint(date(2026, 11, 1), 0.4, 3.0),
                ChartPoint(date(2026, 11, 14), 0.5, 4.0),
            )
        },
        jira_base_url="https://jira.example.com/",
        jira_server_id="70d83bc8-0aff",
        last_sync=datetime(2026, 11, 15, 8, 30, tzinfo=UTC),
    )
    return replace(ctx, **overrides)  # type: ignore[arg-type]


def _parse(body: str) -> ET.Element:
    assert storage_format_error(body) is None
    return ET.fromstring(f'<root xmlns:ac="{AC[1:-1]}" xmlns:ri="{RI[1:-1]}">{body}</root>')


def _macros(root: ET.Element, name: str) -> list[dict[str, str]]:
    found = []
    for macro in root.iter(f"{AC}structured-macro"):
        if macro.get(f"{AC}name") == name:
            params = {p.get(f"{AC}name", ""): "".join(p.itertext()) for p in macro}
            found.append(params)
    return found


def _pages() -> dict[str, str]:
    return {page.key: page.body for page in render_confluence_pages(_ctx())}


def test_titles_carry_the_cycle_and_fit_confluences_limit() -> None:
    cycle = make_cycle()
    objective = make_objective("SUP-1", title="Answer faster,\n with fewer escalations")

    assert page_title(cycle, objective) == "SUP-1 Answer faster, with fewer escalations (Q4 2026)"
    assert root_title(cycle) == "OKRs - Q4 2026"
    assert archive_title(cycle) == "OKRs - Q4 2026 - Archived"
    long_title = page_title(cycle, replace(objective, title="x" * 400))
    assert len(long_title) == 255 and long_title.endswith("… (Q4 2026)")


def test_pages_come_root_first_then_each_objective_under_its_parent() -> None:
    pages = render_confluence_pages(_ctx())

    assert [(p.key, p.parent_title) for p in pages] == [
        ("root", None),
        ("CX-1", "OKRs - Q4 2026"),
        ("SUP-1", "CX-1 Resolve problems faster (Q4 2026)"),
        ("SELF-1", "OKRs - Q4 2026"),
    ]


def test_root_page_shows_the_tree_counts_elapsed_share_and_last_sync() -> None:
    body = _pages()["root"]
    root = _parse(body)
    text = "".join(root.itertext())

    links = [page.get(f"{RI}content-title") for page in root.iter(f"{RI}page")]
    assert links == [
        "CX-1 Resolve problems faster (Q4 2026)",
        "SUP-1 Answer faster (Q4 2026)",
        "SELF-1 Self-service (Q4 2026)",
    ]
    assert "50% of the cycle elapsed" in text
    assert "3 objectives: 1 on track, 0 at risk, 1 off track, 1 done" in text
    assert "Last sync: 2026-11-15 08:30 UTC" in text
    assert "edits made here are overwritten" in text.lower()
    paces = [m["title"] for m in _macros(root, "status") if m["title"].endswith(("TRACK", "DONE"))]
    assert paces[-3:] == ["OFF TRACK", "ON TRACK", "DONE"]
    assert "\u00a0\u00a0\u00a0\u00a0↳ SUP-1" in text  # indented under CX-1


def test_pace_lozenges_are_coloured_by_status() -> None:
    root = _parse(_pages()["root"])
    colours = {m["title"]: m["colour"] for m in _macros(root, "status")}

    assert colours["OFF TRACK"] == "Red"
    assert colours["ON TRACK"] == "Green"
    assert colours["DONE"] == "Blue"
    assert colours["WEAK"] == "Red" and colours["STRONG"] == "Green"
    early = _parse(render_confluence_pages(_ctx(today=date(2026, 9, 1)))[0].body)
    assert {m["colour"] for m in _macros(early, "status") if m["title"] == "NOT STARTED"} == {
        "Grey"
    }


def test_objective_page_lists_krs_issues_jira_macro_and_chart() -> None:
    page = next(p for p in render_confluence_pages(_ctx()) if p.key == "SUP-1")
    root = _parse(page.body)
    text = "".join(root.itertext())

    assert "2 of 2 done" in text and "29" in text and "44 NPS" in text and "60 NPS" in text
    assert "stale value" in text
    (jira,) = _macros(root, "jira")
    assert jira["jqlQuery"] == 'parent = "SUP-12" AND labels in ("a&b", "<x>")'
    assert jira["serverId"] == "70d83bc8-0aff" and jira["maximumIssues"] == "50"
    (expand,) = _macros(root, "expand")
    assert expand["title"] == "Issues behind SUP-1.1 (2)"
    hrefs = [a.get("href") for a in root.iter("a")]
    assert hrefs == [  # not done first
        "https://jira.example.com/browse/SUP-4",
        "https://jira.example.com/browse/SUP-3",
    ]
    (image,) = root.iter(f"{RI}attachment")
    (chart,) = page.attachments
    assert image.get(f"{RI}filename") == chart.filename == "okr-progress-SUP-1.svg"
    assert chart.media_type == "image/svg+xml"
    assert chart.data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<svg ')
    svg = ET.fromstring(chart.data)
    lines = svg.findall("{http://www.w3.org/2000/svg}polyline")
    series = [line.get("data-series") for line in lines]
    # expected pace, the scope, the reconstructed (dashed) and the recorded progress
    assert series == [None, "scope", "reconstructed", "progress"]
    assert lines[2].get("stroke-dasharray") and not lines[3].get("stroke-dasharray")
    up = [p.get(f"{RI}content-title") for p in root.iter(f"{RI}page")]
    assert up == ["CX-1 Resolve problems faster (Q4 2026)"]


def test_the_jira_macro_leaves_out_an_unknown_server_id() -> None:
    page = next(p for p in render_confluence_pages(_ctx(jira_server_id=None)) if p.key == "SUP-1")

    (jira,) = _macros(_parse(page.body), "jira")
    assert "serverId" not in jira


@settings(max_examples=40, deadline=None)
@given(hostile=st.text(max_size=60) | st.sampled_from([HOSTILE, "]]>", "&nbsp;", "<p>"]))
def test_hostile_text_from_jira_or_the_okr_file_shows_as_text(hostile: str) -> None:
    issue = make_issue("SUP-3", summary=hostile, status=hostile)
    ctx = _ctx(
        roots=_tree(title=hostile),
        teams={"support": hostile},
        issues={"SUP-1.1": (issue,)},
        jql={"SUP-1.1": hostile},
    )
    visible = re.sub("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]", "", hostile)
    for page in render_confluence_pages(ctx):
        root = _parse(page.body)
        assert {m.get(f"{AC}name") for m in root.iter(f"{AC}structured-macro")} <= {
            "info",
            "status",
            "expand",
            "jira",
        }
        assert not list(root.iter("script"))
        if page.key == "SUP-1":
            assert visible.strip() in "".join(root.itertext())
        for attachment in page.attachments:
            ET.fromstring(attachment.data)


def test_content_hash_follows_body_and_attachments_but_not_the_sync_time() -> None:
    first = render_confluence_pages(_ctx())
    later = render_confluence_pages(_ctx(last_sync=datetime(2026, 11, 15, 9, 0, tzinfo=UTC)))
    moved = render_confluence_pages(_ctx(history={"SUP-1": (ChartPoint(date(2026, 10, 9), 0.2),)}))

    assert [p.content_hash for p in first] == [p.content_hash for p in later]
    assert first[0].body != later[0].body
    assert first[2].content_hash != moved[2].content_hash  # only the chart changed
    one = Attachment("a.svg", b"1", "image/svg+xml")
    two = Attachment("b.svg", b"2", "image/svg+xml")
    assert content_hash("<p/>", [one, two]) == content_hash("<p/>", [two, one])
    assert content_hash("<p/>", [one]) != content_hash("<p/>", [replace(one, data=b"9")])


def test_preview_is_an_index_and_one_linked_page_per_objective() -> None:
    files = render_preview(_ctx(roots=_tree(summary=HOSTILE, title=HOSTILE)))

    assert sorted(files) == ["CX-1.html", "SELF-1.html", "SUP-1.html", "index.html"]
    for name, html in files.items():
        root = ET.fromstring(html.removeprefix("<!DOCTYPE html>\n"))
        for link in root.iter("a"):
            href = link.get("href", "")
            assert href.startswith("https://jira.example.com/") or href in files, (name, href)
        assert not list(root.iter("script"))
    sup = ET.fromstring(files["SUP-1.html"].removeprefix("<!DOCTYPE html>\n"))
    assert sup.find(".//{http://www.w3.org/2000/svg}svg") is not None
    assert HOSTILE in "".join(sup.itertext())
    lozenges = [s.get("class") for s in sup.iter("span") if "lozenge" in (s.get("class") or "")]
    assert "lozenge green" in lozenges


def _objective(ctx: RenderContext, key: str = "SUP-1") -> tuple[ET.Element, str]:
    page = next(p for p in render_confluence_pages(ctx) if p.key == key)
    root = _parse(page.body)
    return root, " ".join(" ".join(root.itertext()).split())


def _rows(root: ET.Element, head: str) -> list[list[str]]:
    """The text of each row of the table whose first header cell is `head`."""
    for table in root.iter("table"):
        rows = [[" ".join("".join(c.itertext()).split()) for c in tr] for tr in table.iter("tr")]
        if rows and rows[0] and rows[0][0] == head:
            return rows[1:]
    raise AssertionError(f"no table headed {head!r}")


def test_each_issue_shows_its_weight_and_share_so_the_percentage_is_visibly_true() -> None:
    kr = make_kr("SUP-1.1", title="Ship refunds", weight_by="story_points")
    issues = (
        make_issue("SUP-3", status_category="done", story_points=3),
        make_issue("SUP-10", story_points=5),
        make_issue("SUP-2", story_points=5),
        make_issue("SUP-4", story_points=None),
    )
    sup = make_objective("SUP-1", key_results=(kr,))
    node = ObjectiveNode(
        objective=sup,
        progress=3 / 14,
        key_results=((kr, make_progress("SUP-1.1", 3 / 14, current=3, scope=14, issues_total=4,
                                        issues_done=1)),),
    )  # fmt: skip
    root, text = _objective(_ctx(roots=(node,), issues={"SUP-1.1": issues}))
    rows = _rows(root, "Key")
    # Not done first, the heaviest first, keys in natural order (SUP-2 before SUP-10).
    assert [r[0] for r in rows] == ["SUP-2", "SUP-10", "SUP-4", "SUP-3"]
    assert [(r[3], r[4]) for r in rows] == [("5", "36 %"), ("5", "36 %"), ("1*", "7 %"),
                                            ("3", "21 %")]  # fmt: skip
    assert "Weight (points)" in text and "counted as 1 points" in text
    assert "1 of 4 done (3 of 14 points)" in text


def test_the_objective_page_says_how_its_progress_is_made() -> None:
    # ENG-1 at 70 % with one KR at 100 %: the page shows each part's weight and contribution.
    done, half = make_kr("ENG-1.1", weight=2), make_kr("ENG-1.2", weight=1)
    child = ObjectiveNode(objective=make_objective("PLAT-1", weight=1, title="Platform"),
                          progress=0.1)  # fmt: skip
    eng = make_objective("ENG-1", key_results=(done, half), rollup="both")
    node = ObjectiveNode(
        objective=eng,
        progress=(2 * 1.0 + 1 * 0.5 + 1 * 0.1) / 4,
        key_results=((done, make_progress("ENG-1.1", 1.0)), (half, make_progress("ENG-1.2", 0.5))),
        children=(child,),
    )
    root, text = _objective(_ctx(roots=(node,)), "ENG-1")
    rows = _rows(root, "Part")
    assert [(r[0].split()[0], r[2], r[3]) for r in rows] == [
        ("ENG-1.1", "2 (50 %)", "50.0 pts"),
        ("ENG-1.2", "1 (25 %)", "12.5 pts"),
        ("↳", "1 (25 %)", "2.5 pts"),
        ("Objective", "100 %", "65.0 pts"),
    ]
    assert "65 % is the weighted mean of its key results and its aligned objectives" in text


def test_progress_bars_take_the_colour_of_their_pace() -> None:
    root, _ = _objective(_ctx())
    colours = [span.get("style") for span in root.iter("span") if span.get("style")]
    # SUP-1 at 50 % on the half-way day is on track (green); SUP-1.2 at 30 % is off track.
    assert "color: #36b37e;" in colours and "color: #de350b;" in colours


def test_a_key_result_with_thousands_of_issues_lists_fifty_and_links_the_rest() -> None:
    many = tuple(
        make_issue(f"SUP-{n}", status_category="done" if n % 3 == 0 else "new")
        for n in range(1, 3001)
    )
    page = next(p for p in render_confluence_pages(_ctx(issues={"SUP-1.1": many}))
                if p.key == "SUP-1")  # fmt: skip
    root = _parse(page.body)
    rows = _rows(root, "Key")
    assert len(rows) == 50 and all(r[2].endswith("TO DO") for r in rows)
    assert rows[0][4] == "< 0.1 %"
    assert [r[0] for r in rows[:3]] == ["SUP-1", "SUP-2", "SUP-4"]
    (more,) = [a for a in root.iter("a") if "more" in "".join(a.itertext())]
    assert "".join(more.itertext()) == "… and 2950 more in Jira"
    assert more.get("href", "").startswith("https://jira.example.com/issues/?jql=parent%20%3D")
    assert len(page.body) < 60_000
    assert _macros(root, "jira")  # the Jira issues macro stays


def test_every_page_says_as_of_when_and_when_it_last_changed() -> None:
    changed = datetime(2026, 11, 14, 16, 5, tzinfo=UTC)
    ctx = _ctx(
        as_of=datetime(2026, 11, 15, 12, 0, tzinfo=UTC),
        last_change={"SUP-1": changed, "CX-1": changed},
        time_zone="Europe/Paris",
    )
    pages = render_confluence_pages(ctx)
    for page in pages:
        text = "".join(_parse(page.body).itertext())
        assert "As of 2026-11-15 13:00 CET" in text, page.key
    sup = next(p for p in pages if p.key == "SUP-1")
    assert "last change 2026-11-14 17:05 CET" in "".join(_parse(sup.body).itertext())
    later = render_confluence_pages(replace(ctx, as_of=datetime(2026, 11, 15, 13, 0, tzinfo=UTC)))
    assert [p.content_hash for p in pages] == [p.content_hash for p in later]


def test_tables_keep_to_few_columns_so_pages_fit_700_pixels() -> None:
    for page in render_confluence_pages(_ctx()):
        for table in _parse(page.body).iter("table"):
            assert max(len(list(tr)) for tr in table.iter("tr")) <= 6, page.key
