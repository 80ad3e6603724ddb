"""Guardrails as a user meets them, on the simulator's medium dataset (10,000 issues) over HTTP.

Three weeks ago the example OKRs were applied and synced (the Wiring's Syncer on a clock set
back) and the manual KRs checked in. Then the work moved in the simulated Jira, an admin applied
a changed file, and today's `okr-jira sync`, check-ins and `okr-jira health --json` run as real
commands. Planted: a scope jump, a backfilled issue, a lowered target, a cross-team overlap, a
progress jump and a stale manual KR. `health` finds each, and nothing on the clean part.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from okr_jira.okrs.file import parse_okr_text
from okr_jira.okrs.plan import apply_plan, make_plan
from okr_jira.report.health import refresh_health, stored_health
from okr_jira.runtime.wiring import Wiring
from okr_jira.settings import load_settings
from okr_jira.simulator import JiraSim, SimulatorServer, generate
from okr_jira.storage.checkins import add_checkin
from okr_jira.storage.db import session_scope
from okr_jira.storage.okrs import get_key_result
from tests.support.paths import EXAMPLE_OKRS
from tests.support.service import okr_jira, site_env


def objective_of(session: Session, kr: str) -> str:
    return get_key_result(session=session, key=kr).objective


TODAY = dt.datetime.now(dt.UTC)
THEN = TODAY - dt.timedelta(days=21)  # the first apply and sync
CHECKED_IN = ("CO-1.1", "CO-1.2", "CO-2.1", "CO-2.2", "ENG-1.2")  # MOB-1.2 never is
EXAMPLE_CYCLE = "{key: 2026-Q4, name: Q4 2026, start: 2026-10-01, end: 2026-12-31}"


@pytest.fixture(scope="module")
def site() -> Iterator[SimulatorServer]:
    with SimulatorServer("cloud", jira=generate("medium", flavor="cloud")) as server:
        yield server


def example_okrs() -> str:
    """The example file, its quarter moved so that today is in it whenever the test runs."""
    start, end = (TODAY - dt.timedelta(days=60)).date(), (TODAY + dt.timedelta(days=30)).date()
    text = EXAMPLE_OKRS.read_text(encoding="utf-8")
    assert EXAMPLE_CYCLE in text
    return text.replace(
        EXAMPLE_CYCLE, f"{{key: 2026-Q4, name: Q4 2026, start: {start}, end: {end}}}"
    )


def changed_okrs() -> str:
    """What the admin applies today: PLAT-1.1's target lowered, SELF-1.3 claiming SUP-3."""
    text = example_okrs()
    lowered = text.replace(
        "        start: 0\n        target: 120\n", "        start: 0\n        target: 80\n"
    )
    assert lowered != text
    claimed = lowered.replace(
        "source: {issues: [SELF-2, SELF-3, SELF-4]}",
        "source: {issues: [SELF-2, SELF-3, SELF-4], include: [SUP-3]}",
    )
    assert claimed != lowered
    return claimed


def wiring_at(
    database_url: str, server: SimulatorServer, engine: Engine, at: dt.datetime
) -> Wiring:
    creds = server.credentials
    settings = load_settings(
        database_url=database_url, jira_url=server.url, jira_flavor="cloud",
        jira_user=creds.email, jira_token=creds.api_token,
    )  # fmt: skip
    wiring = Wiring.from_settings(settings, engine=engine)
    wiring.clock = lambda: at
    return wiring


def plant_scope_jump(jira: JiraSim) -> list[str]:
    """New stories under SUP-12 (SUP-1.1, by story points) worth half its scope again."""
    children = [r for r in jira.issues.values() if r.epic == "SUP-12"]
    weight = sum(r.story_points or 1.0 for r in children)
    count = math.ceil(weight * 0.5 / 8)
    return [
        jira.create_issue("SUP", "Story", f"Refund edge case {n}", epic="SUP-12",
                          story_points=8.0).key
        for n in range(count)
    ]  # fmt: skip


def plant_backfill(jira: JiraSim, scoped: set[str]) -> str:
    """An old finished SUP story nobody counted gets the `macros` label: SUP-1.3 counts it."""
    old = TODAY - dt.timedelta(days=3)
    key = next(
        r.key
        for r in sorted(jira.issues.values(), key=lambda r: r.id)
        if r.project == "SUP" and r.issue_type in ("Story", "Task") and r.status == "Done"
        and r.resolved is not None and r.resolved < old and r.key not in scoped
        and "macros" not in r.labels and r.epic != "SUP-12"
    )  # fmt: skip
    jira.update_issue(key, labels=(*jira.issues[key].labels, "macros"))
    return key


def plant_progress_jump(jira: JiraSim) -> list[str]:
    """Every open crash bug in MOB closed at once: MOB-1.1 leaps toward 1.0."""
    keys = [
        r.key
        for r in jira.issues.values()
        if r.project == "MOB" and r.issue_type == "Bug" and "crash" in r.labels
        and r.status != "Done"
    ]  # fmt: skip
    for key in keys:
        jira.transition(key, "Done")
    return keys


def kinds(report: dict[str, Any]) -> set[tuple[str, str | None]]:
    return {(s["kind"], s["key_result"]) for s in report["signals"]}


def test_health_finds_what_was_planted_on_the_medium_dataset_and_nothing_else(
    database_url: str, engine: Engine, site: SimulatorServer, tmp_path: Path
) -> None:
    # Three weeks ago: apply, full sync, check-ins; the clean dataset raises nothing.
    then = wiring_at(database_url, site, engine, THEN)
    with session_scope(engine) as session:
        plan = make_plan(session, parse_okr_text(example_okrs()))
        apply_plan(session, plan, actor="alice", now=THEN)
    summary = then.syncer().full()
    assert summary.errors == {} and summary.signals == 0
    with session_scope(engine) as session:
        for n, kr in enumerate(CHECKED_IN):
            add_checkin(
                session=session,
                objective=objective_of(session, kr),
                kr=kr,
                value=50.0 + n,
                note=None,
                author="alice",
                at=THEN + dt.timedelta(minutes=5),
            )
        kept = stored_health(session=session, cycle="2026-Q4")
        fresh = refresh_health(session=session, cycle="2026-Q4", now=THEN + dt.timedelta(hours=1),
                               thresholds=then.guardrails)  # fmt: skip
    assert kept is not None and kept.signals == ()
    assert fresh.signals == () and fresh.overlaps == ()
    assert {t.team for t in fresh.distribution} == {
        "acme", "eng", "support", "selfserve", "platform", "mobile",
    }  # fmt: skip
    scoped = {i for spans in fresh_scope(engine).values() for i in spans}

    # Since then the work moved in Jira.
    jira = site.jira
    joined = plant_scope_jump(jira)
    backfilled = plant_backfill(jira, scoped)
    closed = plant_progress_jump(jira)
    assert len(joined) >= 3 and len(closed) >= 20

    # Today, as an admin and the teams do it.
    env = site_env(database_url, site, OKR_JIRA_ACTOR="bob")
    changed = tmp_path / "okrs.yaml"
    changed.write_text(changed_okrs(), encoding="utf-8")
    assert "target 120 -> 80" in okr_jira(env, "apply", str(changed))
    synced = okr_jira(env, "sync")
    # Before today's check-ins, the five checked in three weeks ago are stale too.
    assert "sync (full (mappings changed))" in synced and "health signals: 12" in synced
    # Today's check-ins move each value a little (a check-in that moved CO-1.1 from 44% to
    # 100% at once would rightly be a jump).
    for n, kr in enumerate(CHECKED_IN):
        okr_jira(env, "checkin", kr, str(51 + n))
    report = json.loads(okr_jira(env, "health", "--json"))

    assert report["cycle"] == "2026-Q4"
    assert kinds(report) == {
        ("scope_change", "SUP-1.1"),
        ("backfilled", "SUP-1.3"),
        ("target_lowered", "PLAT-1.1"),
        ("overlap", "SUP-1.3"),
        ("overlap", "SELF-1.3"),
        ("jump", "MOB-1.1"),
        ("stale_checkin", "MOB-1.2"),
    }
    by_kind = {(s["kind"], s["key_result"]): s for s in report["signals"]}
    scope = by_kind[("scope_change", "SUP-1.1")]
    assert set(joined) <= set(scope["issues"]) and "grew by" in scope["detail"]
    assert scope["team"] == "support" and scope["objective"] == "SUP-1"
    assert by_kind[("backfilled", "SUP-1.3")]["issues"] == [backfilled]
    lowered = by_kind[("target_lowered", "PLAT-1.1")]
    assert "120 -> 80 pts by bob on " + TODAY.date().isoformat() in lowered["detail"]
    assert by_kind[("overlap", "SELF-1.3")]["issues"] == ["SUP-3"]
    assert "rose" in by_kind[("jump", "MOB-1.1")]["detail"]
    stale = by_kind[("stale_checkin", "MOB-1.2")]
    assert f"since it was added on {THEN.date().isoformat()}" in stale["detail"]
    assert all(set(s) == {"kind", "severity", "team", "objective", "key_result", "issues",
                          "detail", "since"} for s in report["signals"])  # fmt: skip
    (overlap,) = report["calibration"]["overlaps"]
    assert overlap == {"key_results": ["SELF-1.3", "SUP-1.3"], "teams": ["selfserve", "support"],
                       "issues": ["SUP-3"]}  # fmt: skip

    # Where people see them: the tree, the objective pages' Health section, the Cycle health page.
    tree = json.loads(okr_jira(env, "tree", "--json"))
    nodes = {n["key"]: n for n in walk(tree["objectives"])}
    sup1 = {kr["key"]: kr for kr in nodes["SUP-1"]["key_results"]}
    assert [s["kind"] for s in sup1["SUP-1.1"]["signals"]] == ["scope_change"]
    assert sup1["SUP-1.2"]["signals"] == [] and nodes["CO-1"]["signals"] == []
    out = tmp_path / "preview"
    okr_jira(env, "publish", "--out", str(out))
    assert "<h2>Health</h2>" in (out / "SUP-1.html").read_text(encoding="utf-8")
    assert "<h2>Health</h2>" not in (out / "CO-1.html").read_text(encoding="utf-8")
    cycle_page = (out / "health.html").read_text(encoding="utf-8")
    assert "Score distribution by team" in cycle_page and "SUP-3" in cycle_page
    # No person anywhere: no assignee, reporter or their e-mail (only the admin who lowered a
    # target, from the audit log).
    pages = "".join(p.read_text(encoding="utf-8") for p in out.glob("*.html"))
    people = [u for name, u in jira.users.items() if name != "okr-bot"]
    assert not [u.display_name for u in people if u.display_name in pages or u.email in pages]


def walk(nodes: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for node in nodes:
        yield node
        yield from walk(node["children"])


def fresh_scope(engine: Engine) -> dict[str, set[str]]:
    from okr_jira.storage.links import open_links

    with session_scope(engine) as session:
        return dict(open_links(session=session))
