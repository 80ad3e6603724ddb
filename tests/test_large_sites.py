"""What lets okr-jira sync the largest sites: the lazy simulated site, a full sync that judges
pages in batches, a shortened union when thousands of KRs ask, and the hot-query indexes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, inspect

from okr_jira.jql import parse_jql
from okr_jira.simulator import SimulatorServer, generate
from okr_jira.simulator.huge import LazyIssues
from okr_jira.simulator.jira import JiraSim
from okr_jira.sync import members, plan
from tests.test_sync import adapter_for, apply_okrs, assert_scopes_match, open_scope, syncer

NOW = dt.datetime(2026, 11, 15, 12, 0, tzinfo=dt.UTC)


def lazy(sim: JiraSim) -> LazyIssues:
    assert isinstance(sim.issues, LazyIssues)
    return sim.issues


def brute_force(sim: JiraSim, jql: str) -> set[str]:
    query = parse_jql(jql)
    return {
        key for key in list(sim.issues) if query.matches(sim.view(sim.issues[key]), now=sim.clock())
    }


def test_a_huge_site_is_the_same_for_the_same_seed_and_holds_no_issue_until_changed() -> None:
    one, two = generate("huge", count=5000), generate("huge", count=5000, seed=0)
    assert len(one.issues) == 5000 == sum(lazy(one).counts.values())
    for key in ("SUP-1", "SELF-77", "PLAT-400", "MOB-900", "HR-12"):
        assert one.get(key) == two.get(key)
    rec = one.get("MOB-900")
    assert rec is not None and one.get(str(rec.id)) == rec
    assert generate("huge", count=5000, seed=1).get("MOB-900") != rec
    assert lazy(one).overrides == {}  # reading kept nothing
    assert one.get("SUP-999999") is None


def test_changes_to_a_huge_site_stick_and_its_searches_find_them() -> None:
    sim = generate("huge", count=5000, deliver=False)
    sim.clock = lambda: NOW + dt.timedelta(days=1)
    key = "PLAT-40"
    before = sim.get(key)
    assert before is not None
    sim.transition(key, "Done" if before.status != "Done" else "To Do")
    after = sim.get(key)
    assert after is not None and after.status != before.status and after.updated > before.updated
    created = sim.create_issue("SUP", "Bug", "New crash", labels=["crash"]).key
    sim.delete_issue("SUP-3")
    assert sim.get("SUP-3") is None and "SUP-3" not in sim.issues
    assert len(sim.issues) == 5000  # one created, one deleted
    changed = set(sim.search('updated >= "-2h" AND project in (PLAT, SUP)'))
    assert changed == {key, created}
    assert "SUP-3" not in sim.search("project = SUP")


@pytest.mark.parametrize(
    "jql",
    [
        "project = MOB AND issuetype = Bug",
        "project in (SUP, Mobile, HR)",
        "project in (SUP, HR) AND updated >= '2026-11-01'",
        "key in (SUP-5, MOB-7, HR-30) AND statusCategory != Done",
        "parent = SUP-40 OR labels = crash",
        'updated >= "-40d" AND (project = SELF OR priority = Highest)',
    ],
)
def test_narrowed_searches_of_a_huge_site_answer_what_a_full_scan_does(jql: str) -> None:
    sim = generate("huge", count=3000, deliver=False)
    sim.update_issue("SELF-10", labels=["crash"])  # an override among the generated
    assert set(sim.search(jql)) == brute_force(sim, jql)


@pytest.fixture
def huge_server() -> Iterator[SimulatorServer]:
    with SimulatorServer("cloud", jira=generate("huge", count=3000, deliver=False)) as srv:
        yield srv


def test_a_full_and_an_incremental_sync_of_a_huge_site_match_jira(
    engine: Engine, huge_server: SimulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small batches and a union shortened from the first KR on: the paths a million issues take.
    monkeypatch.setattr(members, "BATCH", 97)
    monkeypatch.setattr(plan, "UNION_MAX", 1)
    sim = huge_server.jira
    apply_okrs(engine)
    summary = syncer(engine, adapter_for(huge_server)).full()
    assert summary.errors == {}
    assert_scopes_match(engine, sim)
    epic_child = sorted(open_scope(engine)["K-EPIC"])[0]
    sim.update_issue(epic_child, epic="SUP-2")
    sim.delete_issue("PLAT-7")  # in a project read whole, in no KR's scope or in some
    sim.create_issue("SUP", "Bug", "Checkout crash", priority="Highest")
    again = syncer(engine, adapter_for(huge_server)).incremental()
    assert again.mode == "incremental" and again.errors == {}
    assert_scopes_match(engine, sim)
    assert epic_child not in open_scope(engine)["K-EPIC"]


@pytest.fixture
def small_server() -> Iterator[SimulatorServer]:
    with SimulatorServer("datacenter", jira=generate("small", flavor="datacenter")) as srv:
        yield srv


def test_judging_pages_in_small_batches_and_a_shortened_union_change_no_scope(
    engine: Engine, small_server: SimulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(members, "BATCH", 13)  # include and exclude keys land in other batches
    monkeypatch.setattr(plan, "UNION_MAX", 1)
    apply_okrs(engine)
    summary = syncer(engine, adapter_for(small_server)).full()
    assert summary.errors == {}
    assert_scopes_match(engine, small_server.jira)
    idle = syncer(engine, adapter_for(small_server)).incremental()
    assert idle.mode == "incremental" and idle.requests <= 2 and idle.krs_changed == 0


def test_a_union_of_thousands_of_project_bound_queries_reads_their_projects_whole() -> None:
    sync_plan = plan.SyncPlan({}, {}, {}, set())
    for n in range(plan.UNION_MAX + 1):
        kr = f"K{n}"
        project = ("SUP", "MOB")[n % 2]
        sync_plan.queries[kr] = f"project in ({project}) AND key in ({project}-{n})"
        sync_plan.bounds[kr] = (project,)
    sync_plan.queries["E1"] = "parent in (SUP-12)"
    sync_plan.queries["E2"] = "parent in (SELF-5)"
    sync_plan.queries["R"] = "project = PLAT AND summary ~ crash"
    sync_plan.remote.add("R")
    assert sync_plan.union() == (
        "project in (SUP, MOB) OR parent in (SUP-12, SELF-5) OR "
        "(project = PLAT AND summary ~ crash)"
    )
    assert sync_plan.wide_projects() == ["SUP", "MOB"]


def test_the_hot_query_indexes_exist_after_migrating(engine: Engine) -> None:
    indexes = {
        table: {i["name"] for i in inspect(engine).get_indexes(table)}
        for table in ("kr_issue_link", "webhook_event")
    }
    assert "ix_kr_issue_link_open_by_issue" in indexes["kr_issue_link"]
    assert "ix_webhook_event_pending_only" in indexes["webhook_event"]
