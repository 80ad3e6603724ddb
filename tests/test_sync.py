"""Full and incremental sync through atlassian-python-api against the simulator, both flavors.

Expected KR scopes are computed here, independently of okr_jira's selectors: from the simulator's
records with plain Python predicates, and for raw JQL with the simulator's own search (what Jira
answers).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any, Literal

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine
from sqlmodel import Session, col, func, select

from okr_jira.adapters.http import RetryPolicy
from okr_jira.adapters.jira import JiraAdapter
from okr_jira.cli import main
from okr_jira.domain.matching import compile_matchers
from okr_jira.okrs.file import parse_okr_text
from okr_jira.okrs.plan import apply_plan, make_plan
from okr_jira.report.evaluate import kr_states
from okr_jira.simulator import JiraSim, SimulatorServer, generate
from okr_jira.simulator.records import IssueRecord
from okr_jira.storage import state
from okr_jira.storage.db import make_engine, session_scope, upgrade
from okr_jira.storage.links import open_links
from okr_jira.storage.okrs import load_okrs
from okr_jira.storage.tables import KrIssueLinkRow, MappingRow, ProgressSnapshotRow
from okr_jira.sync import Syncer
from tests.support.builders import GUARDRAILS, THRESHOLDS


def syncer(engine: Engine, jira: JiraAdapter, **kwargs: Any) -> Syncer:
    return Syncer(engine, jira, thresholds=THRESHOLDS, guardrails=GUARDRAILS, **kwargs)


OKRS = """
cycles:
  - {key: 2026-Q4, name: Q4 2026, start: 2026-10-01, end: 2026-12-31}
teams:
  - {key: support, name: Support, jira_projects: [SUP]}
  - {key: selfserve, name: Self-Service, jira_projects: [SELF]}
  - {key: platform, name: Platform, jira_projects: [PLAT]}
  - {key: mobile, name: Mobile, jira_projects: [MOB]}
objectives:
  - key: SUP-1
    cycle: 2026-Q4
    team: support
    title: Support
    key_results:
      - {key: K-EPIC, title: epic, kind: issues, source: {epics: [SUP-12]}}
      - key: K-LABEL
        title: labels and types with include and exclude
        kind: issues
        source: {labels: [macros], issue_types: [Story, Task], include: [SUP-3], exclude: [SUP-7]}
      - key: K-JQL
        title: local JQL
        kind: issue_count
        start: 40
        target: 5
        source:
          jql: 'project = SUP AND type = Bug AND priority = Highest AND statusCategory != Done'
      - {key: K-PARENT, title: parent JQL, kind: issues, source: {jql: 'parent = SUP-12'}}
  - key: SELF-1
    cycle: 2026-Q4
    team: selfserve
    title: Self-service
    key_results:
      - key: K-COMP
        title: component and version
        kind: issues
        source: {components: [Help Center], fix_versions: ["2026.11"]}
      - key: K-SUM
        title: hours saved
        kind: field_sum
        field: Hours Saved
        done_only: true
        start: 0
        target: 400
        source: {epics: [SELF-5, SELF-9]}
      - {key: K-KEYS, title: keys, kind: issues, source: {issues: [SELF-2, SELF-3, SELF-4]}}
  - key: PLAT-1
    cycle: 2026-Q4
    team: platform
    title: Platform
    key_results:
      - key: K-MIXED
        title: project, type and JQL
        kind: issue_count
        start: 25
        target: 3
        source: {projects: [PLAT], issue_types: [Incident], jql: 'statusCategory != Done'}
      - {key: K-TEAM, title: team project, kind: issues, source: {issue_types: [Incident, Bug]}}
  - key: MOB-1
    cycle: 2026-Q4
    team: mobile
    title: Mobile
    key_results:
      - key: K-CRASH
        title: crash bugs
        kind: issues
        source: {labels: [crash], issue_types: [Bug]}
      - key: K-TEXT
        title: JQL only Jira answers
        kind: issues
        source: {jql: 'project in (PLAT, MOB) AND summary ~ crash'}
"""

NOW_ISO = "2026-11-15T09:00:00+00:00"
Pred = Callable[[IssueRecord], bool]
# KR -> a predicate over simulator records, or raw JQL the simulator answers.
EXPECTED: dict[str, Pred | str] = {
    "K-EPIC": lambda r: r.epic == "SUP-12",
    "K-LABEL": lambda r: (
        r.key != "SUP-7"
        and (
            r.key == "SUP-3"
            or (r.project == "SUP" and "macros" in r.labels and r.issue_type in ("Story", "Task"))
        )
    ),
    "K-JQL": "project = SUP AND type = Bug AND priority = Highest AND statusCategory != Done",
    "K-PARENT": "parent = SUP-12",
    "K-COMP": lambda r: (
        r.project == "SELF" and "Help Center" in r.components and "2026.11" in r.fix_versions
    ),
    "K-SUM": lambda r: r.epic in ("SELF-5", "SELF-9"),
    "K-KEYS": lambda r: r.key in ("SELF-2", "SELF-3", "SELF-4"),
    "K-MIXED": lambda r: (
        r.project == "PLAT" and r.issue_type == "Incident" and r.status_category != "done"
    ),
    "K-TEAM": lambda r: r.project == "PLAT" and r.issue_type in ("Incident", "Bug"),
    "K-CRASH": lambda r: r.project == "MOB" and "crash" in r.labels and r.issue_type == "Bug",
    "K-TEXT": "project in (PLAT, MOB) AND summary ~ crash",
}


def expected_scope(sim: JiraSim, kr: str) -> set[str]:
    rule = EXPECTED[kr]
    if isinstance(rule, str):
        return set(sim.search(rule))
    with sim.lock:
        return {r.key for r in sim.issues.values() if rule(r)}


def expected_counts(sim: JiraSim, kr: str) -> tuple[int, int]:
    """(issues, done issues) of the KR's scope."""
    keys = expected_scope(sim, kr)
    done = sum(1 for k in keys if sim.issues[k].status_category == "done")
    return len(keys), done


def apply_okrs(engine: Engine, text: str = OKRS) -> None:
    okrs = parse_okr_text(text)
    with session_scope(engine) as session:
        apply_plan(session, make_plan(session, okrs), actor="test")


def adapter_for(
    server: SimulatorServer, flavor: Literal["auto", "configured"] = "auto", **policy: object
) -> JiraAdapter:
    """An adapter for the simulator; `configured`: the flavor is set, as an admin may."""
    c = server.credentials
    fast = RetryPolicy(timeout=10, backoff_base=0.01, backoff_cap=0.05, **policy)  # type: ignore[arg-type]
    setting = server.flavor if flavor == "configured" else "auto"
    if server.flavor == "cloud":
        return JiraAdapter(server.url, user=c.email, token=c.api_token, policy=fast, flavor=setting)
    return JiraAdapter(server.url, user=None, token=c.pat, policy=fast, flavor=setting)


def open_scope(engine: Engine) -> dict[str, set[str]]:
    with session_scope(engine) as session:
        return dict(open_links(session=session))


def link_rows(engine: Engine, kr: str, issue: str) -> list[KrIssueLinkRow]:
    with Session(engine) as s:
        query = (
            select(KrIssueLinkRow)
            .where(col(KrIssueLinkRow.kr) == kr, col(KrIssueLinkRow.issue_key) == issue)
            .order_by(col(KrIssueLinkRow.id))
        )
        return list(s.exec(query))


def assert_scopes_match(engine: Engine, sim: JiraSim) -> None:
    scopes = open_scope(engine)
    for kr in EXPECTED:
        assert scopes.get(kr, set()) == expected_scope(sim, kr), kr
    with session_scope(engine) as session:
        okrs = load_okrs(session=session)
        states = kr_states(session=session, okrs=okrs)
    for kr in EXPECTED:
        total, done = expected_counts(sim, kr)
        assert (states[kr].issues_total, states[kr].issues_done) == (total, done), kr
    for kr in ("K-EPIC", "K-LABEL", "K-COMP", "K-KEYS", "K-TEAM", "K-CRASH"):
        total, done = expected_counts(sim, kr)
        assert states[kr].progress == pytest.approx(done / total if total else 0.0), kr
    total, _ = expected_counts(sim, "K-JQL")
    assert states["K-JQL"].current == total


@pytest.fixture(params=["cloud", "datacenter"])
def server(request: pytest.FixtureRequest) -> Iterator[SimulatorServer]:
    flavor = request.param
    with SimulatorServer(flavor, jira=generate("small", flavor=flavor, deliver=False)) as srv:
        yield srv


def test_full_sync_scopes_and_progress_match_jira(engine: Engine, server: SimulatorServer) -> None:
    apply_okrs(engine)
    summary = syncer(engine, adapter_for(server)).full()
    assert summary.errors == {}
    assert summary.issues_read > 0 and summary.requests > 0
    assert_scopes_match(engine, server.jira)
    # Nothing changed in Jira: a second full sync changes nothing.
    again = syncer(engine, adapter_for(server)).full()
    assert again.krs_changed == 0 and again.joined == again.left == 0


def test_parent_jql_means_the_subtask_parent_on_data_center(
    engine: Engine, server: SimulatorServer
) -> None:
    apply_okrs(engine)
    syncer(engine, adapter_for(server)).full()
    scope = open_scope(engine).get("K-PARENT", set())
    epic_children = {r.key for r in server.jira.issues.values() if r.epic == "SUP-12"}
    if server.flavor == "cloud":
        assert scope == epic_children
    else:
        assert scope == set() and epic_children  # an epic has no sub-tasks


def test_incremental_sync_follows_issues_in_and_out_of_key_results(
    engine: Engine, server: SimulatorServer
) -> None:
    sim = server.jira
    apply_okrs(engine)
    syncer(engine, adapter_for(server)).full()
    macros = sorted(
        k for k in expected_scope(sim, "K-LABEL") if k not in ("SUP-3",) and sim.issues[k].labels
    )
    epic_children = sorted(expected_scope(sim, "K-EPIC"))
    label_leaver, mover = macros[0], macros[1]
    epic_leaver, deleted = epic_children[0], epic_children[1]
    crash_bug = sorted(expected_scope(sim, "K-CRASH"))[0]
    sim.update_issue(label_leaver, labels=())
    sim.update_issue(epic_leaver, epic="SUP-2")
    sim.move_issue(mover, "SELF")
    sim.delete_issue(deleted)
    sim.transition(crash_bug, "Done")
    created = sim.create_issue("SUP", "Bug", "Checkout crash", priority="Highest").key
    summary = syncer(engine, adapter_for(server)).incremental()
    assert summary.mode == "incremental"
    assert summary.errors == {}
    assert_scopes_match(engine, sim)
    assert created in open_scope(engine)["K-JQL"]
    assert summary.deleted == 1
    # A full sync now finds nothing to change: incremental got it all.
    full = syncer(engine, adapter_for(server)).full()
    assert (full.joined, full.left) == (0, 0)


def test_scope_history_records_when_issues_joined_and_left_and_if_done(
    engine: Engine, server: SimulatorServer
) -> None:
    sim = server.jira
    apply_okrs(engine)
    syncer(engine, adapter_for(server)).full()
    member = sorted(expected_scope(sim, "K-JQL"))[0]
    sim.transition(member, "Done")  # statusCategory != Done: it leaves, done
    sim.update_issue(member, status="To Do")  # ... and comes back, not done
    done_joiner = sim.create_issue("SUP", "Story", "Done one", labels=["macros"], status="Done").key
    syncer(engine, adapter_for(server)).incremental()
    rows = link_rows(engine, "K-JQL", member)
    # Both changes happened between two syncs: the issue never left as far as the sync can see.
    assert len(rows) == 1 and rows[0].left_at is None
    joined = link_rows(engine, "K-LABEL", done_joiner)
    assert len(joined) == 1 and joined[0].done_when_joined is True
    sim.transition(member, "Done")
    syncer(engine, adapter_for(server)).incremental()
    rows = link_rows(engine, "K-JQL", member)
    assert rows[0].left_at is not None and rows[0].done_when_left is True
    assert rows[0].joined_at < rows[0].left_at
    sim.transition(member, "In Progress")
    syncer(engine, adapter_for(server)).incremental()
    rows = link_rows(engine, "K-JQL", member)
    assert [r.left_at is None for r in rows] == [False, True]
    assert rows[1].done_when_joined is False


def run_cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def mapping_errors(engine: Engine) -> dict[str, str]:
    with Session(engine) as s:
        return {m.kr: m.error for m in s.exec(select(MappingRow)) if m.error}


def test_invalid_jql_marks_only_its_key_result_and_reapply_clears_it(
    db_env: str, engine: Engine, server: SimulatorServer, tmp_path: object
) -> None:
    bad = OKRS.replace("summary ~ crash'", "summary ~ crash AND sprnt = 5'")
    apply_okrs(engine, bad)
    summary = syncer(engine, adapter_for(server)).full()
    assert set(summary.errors) == {"K-TEXT"}
    assert "sprnt" in summary.errors["K-TEXT"]
    assert set(mapping_errors(engine)) == {"K-TEXT"}
    scopes = open_scope(engine)
    for kr in EXPECTED:
        if kr != "K-TEXT":
            assert scopes.get(kr, set()) == expected_scope(server.jira, kr), kr
    code, out = run_cli("tree", "--cycle", "2026-Q4")
    assert code == 0 and "ERROR" in out and "sprnt" in out
    # An incremental sync keeps the error without asking Jira about it again.
    assert set(syncer(engine, adapter_for(server)).incremental().errors) == {"K-TEXT"}
    apply_okrs(engine)
    fixed = syncer(engine, adapter_for(server)).incremental()
    assert fixed.errors == {}
    assert mapping_errors(engine) == {}
    assert_scopes_match(engine, server.jira)


def test_unknown_epic_marks_only_its_key_result(engine: Engine, server: SimulatorServer) -> None:
    apply_okrs(engine, OKRS.replace("epics: [SUP-12]", "epics: [SUP-9999]"))
    summary = syncer(engine, adapter_for(server)).full()
    assert set(summary.errors) == {"K-EPIC"}
    assert "SUP-9999" in summary.errors["K-EPIC"]
    scopes = open_scope(engine)
    assert scopes.get("K-LABEL") == expected_scope(server.jira, "K-LABEL")
    apply_okrs(engine)
    assert syncer(engine, adapter_for(server)).incremental().errors == {}
    assert_scopes_match(engine, server.jira)


def test_incremental_with_nothing_changed_costs_at_most_two_requests(
    engine: Engine, server: SimulatorServer
) -> None:
    apply_okrs(engine)
    syncer(engine, adapter_for(server)).full()
    before = server.stats.total
    summary = syncer(engine, adapter_for(server)).incremental()
    assert summary.requests == server.stats.total - before <= 2
    assert summary.krs_changed == 0


def progress_rows(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(ProgressSnapshotRow)).one())


def test_an_idle_incremental_after_a_quiet_hour_costs_two_requests_and_changes_nothing(
    engine: Engine, server: SimulatorServer
) -> None:
    """The watermark follows Jira's clock, not the newest change: a quiet site is not re-read
    from its last change on every sync, and issues re-read unchanged move no key result."""
    later = {"by": dt.timedelta(0)}

    def clock() -> dt.datetime:
        return dt.datetime.now(dt.UTC) + later["by"]

    server.jira.clock = clock
    apply_okrs(engine)
    syncer(engine, adapter_for(server), clock=clock).full()
    for key in sorted(expected_scope(server.jira, "K-CRASH"))[:3]:
        server.jira.transition(key, "Done")
    busy = syncer(engine, adapter_for(server), clock=clock).incremental()
    assert busy.mode == "incremental" and busy.krs_changed >= 1
    rows = progress_rows(engine)
    # A quiet hour, synced every 15 minutes as the scheduler does: the changes read above come
    # again only within the overlap, unchanged, and move nothing.
    for quarter in range(1, 5):
        later["by"] = dt.timedelta(minutes=15 * quarter)
        before = server.stats.total
        idle = syncer(engine, adapter_for(server), clock=clock).incremental()
        assert idle.mode == "incremental"
        assert idle.requests == server.stats.total - before <= 2
        assert (idle.krs_changed, progress_rows(engine)) == (0, rows)
    assert idle.issues_read == 0  # the window no longer reaches back to the last change
    # However long the quiet: the next window starts at the last sync, not at the last change.
    later["by"] = dt.timedelta(days=3)
    idle = syncer(engine, adapter_for(server), clock=clock).incremental()
    assert (idle.requests, idle.issues_read, idle.krs_changed) == (2, 0, 0)


def test_deleted_epic_in_a_mapping_fails_that_key_result_not_the_sync(
    engine: Engine, server: SimulatorServer
) -> None:
    apply_okrs(engine)
    syncer(engine, adapter_for(server)).full()
    server.jira.delete_issue("SELF-3")  # K-KEYS names it; Jira now refuses that JQL
    server.jira.transition(sorted(expected_scope(server.jira, "K-CRASH"))[0], "Done")
    summary = syncer(engine, adapter_for(server)).incremental()
    assert set(summary.errors) == {"K-KEYS"}
    scopes = open_scope(engine)
    assert scopes["K-CRASH"] == expected_scope(server.jira, "K-CRASH")


def test_sync_time_moves_forward(engine: Engine, server: SimulatorServer) -> None:
    apply_okrs(engine)
    syncer(engine, adapter_for(server)).full()
    with session_scope(engine) as session:
        mark = state.WATERMARK.get(session=session)
    assert mark is not None
    server.jira.transition(sorted(expected_scope(server.jira, "K-CRASH"))[0], "Done")
    syncer(engine, adapter_for(server)).incremental()
    with session_scope(engine) as session:
        later = state.WATERMARK.get(session=session)
    assert later is not None
    assert later > mark


def test_first_full_sync_spends_its_requests_on_searches(
    engine: Engine, server: SimulatorServer
) -> None:
    """With the flavor set, a first full sync asks for no serverInfo, and Data Center learns the
    site's fields (story points, Epic Link, a summed custom field) from its first search page
    instead of /field; Cloud, whose pages hold 100 issues, reads /field. The site's time zone
    (the days history is counted in) is asked once per install, unless it is configured."""
    apply_okrs(engine)
    server.stats.reset()
    summary = syncer(engine, adapter_for(server, "configured")).full()
    assert summary.errors == {}
    if server.flavor == "cloud":
        allowed = {"GET /rest/api/<ver>/field", "POST /rest/api/<ver>/search/jql"}
    else:
        allowed = {"POST /rest/api/<ver>/search"}
    assert set(server.stats.by_route) - allowed == {"GET /rest/api/<ver>/myself"}
    assert server.stats.by_route["GET /rest/api/<ver>/myself"] == 1
    server.stats.reset()
    syncer(engine, adapter_for(server, "configured")).full()
    assert "GET /rest/api/<ver>/myself" not in server.stats.by_route  # kept from the first
    assert_scopes_match(engine, server.jira)
    with session_scope(engine) as session:
        states = kr_states(session=session, okrs=load_okrs(session=session))
    done_hours = sum(
        server.jira.issues[k].hours_saved or 0.0
        for k in expected_scope(server.jira, "K-SUM")
        if server.jira.issues[k].status_category == "done"
    )
    assert done_hours > 0
    assert states["K-SUM"].current == pytest.approx(done_hours)
    # What was learned is kept: the next full sync and incremental syncs ask for no fields.
    server.stats.reset()
    syncer(engine, adapter_for(server, "configured")).full()
    syncer(engine, adapter_for(server, "configured")).incremental()
    assert not any("/field" in route for route in server.stats.by_route)


@pytest.mark.parametrize("skew_hours", [3, -3])
def test_incremental_sync_reads_changes_on_jiras_clock(
    engine: Engine, server: SimulatorServer, skew_hours: int
) -> None:
    """Jira's clock is hours off ours: the incremental window is measured on Jira's clock (read
    off its answers' Date header), so a change made well before the next sync is still read."""
    ours = {"elapsed": dt.timedelta(0)}

    def our_clock() -> dt.datetime:
        return dt.datetime.now(dt.UTC) + ours["elapsed"]

    server.jira.clock = lambda: our_clock() + dt.timedelta(hours=skew_hours)
    apply_okrs(engine)
    syncer(engine, adapter_for(server), clock=our_clock).full()
    key = sorted(k for k in expected_scope(server.jira, "K-CRASH"))[0]
    assert server.jira.issues[key].status_category != "done"
    server.jira.transition(key, "Done")
    ours["elapsed"] = dt.timedelta(minutes=40)  # the next sync runs 40 minutes later
    summary = syncer(engine, adapter_for(server), clock=our_clock).incremental()
    assert summary.mode == "incremental"
    with session_scope(engine) as session:
        states = kr_states(session=session, okrs=load_okrs(session=session))
    _total, done = expected_counts(server.jira, "K-CRASH")
    assert states["K-CRASH"].issues_done == done


def test_a_sites_flavor_stays_with_its_url_when_the_fields_are_learned_again(
    engine: Engine, server: SimulatorServer
) -> None:
    """Site facts older than a week are learned again; the flavor is not asked again for the
    same URL (serverInfo once per site), while fields (which admins add) are."""
    c = server.credentials

    def basic_auth() -> JiraAdapter:
        # Credentials that could be either flavor's: only serverInfo tells.
        if server.flavor == "cloud":
            return JiraAdapter(server.url, user=c.email, token=c.api_token)
        return JiraAdapter(server.url, user=c.username, token=c.password)

    apply_okrs(engine)
    syncer(engine, basic_auth()).full()
    assert server.stats.by_route["GET /rest/api/<ver>/serverInfo"] == 1
    server.stats.reset()
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=8)
    syncer(engine, basic_auth(), clock=lambda: later).full()
    assert "GET /rest/api/<ver>/serverInfo" not in server.stats.by_route
    with session_scope(engine) as session:
        facts = state.SITE_FACTS.get(session=session) or {}
    assert facts["flavor"] == server.flavor and facts["url"] == server.url
    assert dt.datetime.fromisoformat(facts["fetched_at"]) == later
    assert_scopes_match(engine, server.jira)


def test_parent_jql_is_answered_locally_and_exactly_on_both_flavors(
    engine: Engine, server: SimulatorServer
) -> None:
    """`parent` is an issue's direct parent: on Cloud an epic's children and a story's
    sub-tasks, on Data Center only sub-tasks. Snapshots hold it, so the KR needs no search of
    its own, and a new sub-task joins on the next incremental sync."""
    jql = "parent in (PLAT-2, PLAT-6, PLAT-7)"
    okr_text = OKRS.replace("'parent = SUP-12'", f"'{jql}'")
    apply_okrs(engine, okr_text)
    (matcher,) = [m for m in compile_matchers(parse_okr_text(okr_text)) if m.kr.key == "K-PARENT"]
    assert matcher.local
    syncer(engine, adapter_for(server)).full()
    assert open_scope(engine)["K-PARENT"] == set(server.jira.search(jql))
    assert {"PLAT-13", "PLAT-38"} <= open_scope(engine)["K-PARENT"]
    created = server.jira.create_issue("PLAT", "Sub-task", "Retry budget", parent="PLAT-7")
    syncer(engine, adapter_for(server)).incremental()
    assert created.key in open_scope(engine)["K-PARENT"]
    assert open_scope(engine)["K-PARENT"] == set(server.jira.search(jql))


def test_upgrading_to_stored_parents_makes_the_next_sync_a_full_one(
    database_url: str, server: SimulatorServer
) -> None:
    """Snapshots stored before the `parent` column hold none: the upgrade drops the watermark,
    so the next `okr-jira sync` is a full one that fills it, and `parent` JQL is right again."""
    engine = make_engine(database_url)
    try:
        upgrade(engine, "0003")
        with session_scope(engine) as session:
            state.WATERMARK.set(dt.datetime.fromisoformat(NOW_ISO), session=session)
            state.TextKey("other.state").set("kept", session=session)
        upgrade(engine)
        with session_scope(engine) as session:
            assert state.WATERMARK.get(session=session) is None
            assert state.TextKey("other.state").get(session=session) == "kept"
        apply_okrs(engine)
        summary = syncer(engine, adapter_for(server)).incremental()
        assert summary.mode.startswith("full")
        assert_scopes_match(engine, server.jira)
    finally:
        engine.dispose()
