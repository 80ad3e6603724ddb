"""Full sync: read the union of every KR's query, then rebuild every KR's scope at once.

Each page is stored as it arrives (a large site never sits in memory twice); the links are
rebuilt, the mapping errors stored, the watermark moved and progress recorded in one transaction.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlmodel import Session

from okr_jira.adapters.jira import JiraError
from okr_jira.adapters.jira_fields import FieldMap, parse_issue
from okr_jira.domain.matching import KrMatcher, compile_matchers
from okr_jira.domain.models import IssueSnapshot, OkrSet
from okr_jira.domain.selectors import IssueIndex
from okr_jira.domain.snapshot_view import SnapshotView
from okr_jira.jql import JqlQuery
from okr_jira.report.backfill import backfill_history
from okr_jira.report.evaluate import evaluate_cycle, site_zone
from okr_jira.report.record import record_report
from okr_jira.scope.links import Pair, ScopeChange, reconcile
from okr_jira.storage import state
from okr_jira.storage.db import session_scope
from okr_jira.storage.issues import snapshots, upsert_snapshots
from okr_jira.storage.links import open_link_ids
from okr_jira.storage.okrs import load_okrs, resolve_mappings
from okr_jira.sync.facts import install_stored_facts, refresh_facts, site_time_zone
from okr_jira.sync.plan import (
    REFUSED,
    SyncPlan,
    find_bad_queries,
    make_plan,
    request_fields,
)
from okr_jira.sync.remote import full_remote
from okr_jira.sync.summary import SyncSummary

if TYPE_CHECKING:
    from okr_jira.sync.syncer import Syncer


def full_sync(s: Syncer) -> SyncSummary:
    s.begin()
    summary = SyncSummary(mode="full")
    now = s.clock()
    with session_scope(s.engine) as session:
        okrs = load_okrs(session=session)
        state.FULL_SYNC_STARTED.set(now, session=session)
    stored = install_stored_facts(s.engine, s.jira, okrs, now)
    plan = make_plan(s.jira, compile_matchers(okrs))
    if stored is not None:
        request_fields(plan, s.jira.fields())  # known: mark unknown fields first
    returned: dict[str, IssueSnapshot] = {}
    attempts = 0
    while plan.queries:
        try:
            _read_union(s, plan, returned, summary)
            break
        except JiraError as exc:
            if exc.status not in REFUSED or attempts > 0:
                raise
            attempts += 1
            find_bad_queries(s.jira, plan)
    # Jira's clock when the read started (our clock plus the skew its answers showed): what
    # changed after it, the next sync reads.
    facts = refresh_facts(s.engine, s.jira, stored, now, s.clock())
    _, tz = site_zone(site_time_zone(s.engine, s.jira, s.time_zone))
    mark = now + dt.timedelta(seconds=float(facts.get("clock_offset") or 0.0))
    matchers = {m.kr.key: m for m in compile_matchers(okrs)}
    remote_members = full_remote(s.jira, plan, matchers, returned, now)
    with session_scope(s.engine) as session:
        change = _rebuild_links(session, okrs, plan, matchers, returned, remote_members, now)
        summary.krs_changed = len(change.krs)
        summary.joined, summary.left = len(change.joined), len(change.left)
        returned.clear()  # progress is computed from storage: free the snapshots first
        resolve_mappings(session=session, planned=plan.sources, errors=plan.errors, at=now)
        state.WATERMARK.set(mark, session=session)
        state.FULL_SYNC_STARTED.set(None, session=session)
        for cycle in sorted({o.cycle for o in okrs.objectives}):
            report = evaluate_cycle(session=session, cycle=cycle, now=now, thresholds=s.thresholds)
            record_report(session=session, report=report, reason="sync")
        # A mapping's first sync: its days so far, from the issues it selects now.
        summary.backfilled = backfill_history(
            session=session, now=now, tz=tz, thresholds=s.thresholds
        )
    summary.errors = dict(plan.errors)
    return s.finish(summary)


def _read_union(
    s: Syncer, plan: SyncPlan, returned: dict[str, IssueSnapshot], summary: SyncSummary
) -> None:
    union = plan.union()
    total = None
    if s.progress is not None and s.jira.flavor == "cloud":
        total = s.jira.count(union)  # only to draw the bar; Cloud has no total
    read = 0
    fmap: FieldMap | None = None
    pages = s.jira.search_pages(union, lambda known: request_fields(plan, known))
    for page in pages:
        if fmap is None:
            # Known from the first page on (Data Center learns the site's fields from it).
            fmap = s.jira.fields()
            request_fields(plan, fmap)
        total = page.total if page.total is not None else total
        snaps = [parse_issue(raw, fmap, plan.numbers) for raw in page.issues]
        with session_scope(s.engine) as session:
            upsert_snapshots(session=session, snapshots=snaps, now=s.clock())
        for snap in snaps:
            returned[snap.key] = snap
        read += len(snaps)
        summary.issues_read += len(snaps)
        if s.progress:
            s.progress("reading issues", read, total)


def _rebuild_links(
    session: Session,
    okrs: OkrSet,
    plan: SyncPlan,
    matchers: dict[str, KrMatcher],
    returned: dict[str, IssueSnapshot],
    remote_members: dict[str, set[str]],
    now: dt.datetime,
) -> ScopeChange:
    """Every KR's scope as the issues just read say; a broken mapping keeps its last scope."""
    index = IssueIndex(returned.values())
    links = open_link_ids(session=session)
    known = snapshots(session=session, keys={issue for _, issue in links} - returned.keys())
    known.update(returned)
    sourced = [kr for o in okrs.objectives for kr in o.key_results if kr.source is not None]
    active = {kr.key for kr in sourced}
    decided = {kr.key for kr in sourced if kr.key not in plan.errors}
    wanted: set[Pair] = set()
    for kr in sourced:
        if kr.key not in decided:
            continue
        m = matchers[kr.key]
        if kr.key in plan.remote:
            members = {k for k in remote_members.get(kr.key, set()) if k in returned}
        else:
            query = m.query

            def jql_match(snap: IssueSnapshot, q: JqlQuery | None = query) -> bool:
                return q is None or q.matches(SnapshotView(snap), now=now)

            chosen = index.select(
                kr.source,  # type: ignore[arg-type]
                scope_projects=m.scope_projects,
                jql_match=jql_match if m.query is not None else None,
            )
            members = {snap.key for snap in chosen}
        wanted.update((kr.key, key) for key in members)

    def left_as(kr: str, key: str) -> tuple[bool | None, str]:
        if kr not in active:
            # KRs that no longer exist (archived) keep their history but no open links.
            return None, "key result archived or unmapped"
        last = known.get(key)
        done = last.status_category == "done" if last else None
        return done, "sync" if key in returned else "no longer matches (or deleted)"

    return reconcile(
        session=session,
        current={p: i for p, i in links.items() if p[0] in decided or p[0] not in active},
        wanted=wanted,
        joined_done=lambda key: known[key].status_category == "done",
        left_as=left_as,
        changed=(),
        now=now,
        reason="sync",
    )
