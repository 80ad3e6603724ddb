"""Full sync: read the union of every KR's query, then rebuild every KR's scope.

Each page is stored as it arrives (a large site never sits in memory twice); the links are
rebuilt, the mapping errors stored, the watermark moved and progress recorded in one transaction.
The links and the reconstructed history are worked on a chunk of KRs at a time (Syncer.chunk;
progress reads the issues of 1,000 KRs at a time), and so is the health after them: a large
site's pairs, days and scope history are never all in memory at once.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlmodel import Session

from okr_jira.adapters.jira import JiraError
from okr_jira.adapters.jira_fields import FieldMap, parse_issue
from okr_jira.domain.matching import compile_matchers
from okr_jira.domain.models import IssueSnapshot, OkrSet
from okr_jira.report.backfill import backfill_history
from okr_jira.report.evaluate import evaluate_cycle, site_zone
from okr_jira.report.record import record_report
from okr_jira.scope.links import Pair, reconcile
from okr_jira.storage import state
from okr_jira.storage.db import session_scope
from okr_jira.storage.issues import snapshots, upsert_snapshots
from okr_jira.storage.links import krs_with_open_links, open_link_ids
from okr_jira.storage.okrs import load_okrs, resolve_mappings
from okr_jira.sync.facts import install_stored_facts, refresh_facts, site_time_zone
from okr_jira.sync.members import ScopeCollector
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
    matchers = {m.kr.key: m for m in compile_matchers(okrs)}
    collector = None
    attempts = 0
    while plan.queries:
        collector = ScopeCollector(
            {kr: m for kr, m in matchers.items() if kr in plan.queries}, set(plan.remote), now
        )
        try:
            _read_union(s, plan, collector, summary)
            break
        except JiraError as exc:
            if exc.status not in REFUSED or attempts > 0:
                raise
            attempts += 1
            find_bad_queries(s.jira, plan)
    if collector is None:
        collector = ScopeCollector({}, set(), now)
    # Jira's clock when the read started (our clock plus the skew its answers showed): what
    # changed after it, the next sync reads.
    facts = refresh_facts(s.engine, s.jira, stored, now, s.clock())
    _, tz = site_zone(site_time_zone(s.engine, s.jira, s.time_zone))
    mark = now + dt.timedelta(seconds=float(facts.get("clock_offset") or 0.0))
    remote_members = full_remote(s.jira, plan, collector.candidates)
    with session_scope(s.engine) as session:
        joined, left, krs = _rebuild_links(
            session, okrs, plan, collector, remote_members, now, s.chunk
        )
        summary.krs_changed, summary.joined, summary.left = krs, joined, left
        # Progress is computed from storage: let the pairs and the keys read go first.
        collector.wanted.clear()
        collector.read.clear()
        collector.done.clear()
        resolve_mappings(session=session, planned=plan.sources, errors=plan.errors, at=now)
        state.WATERMARK.set(mark, session=session)
        state.FULL_SYNC_STARTED.set(None, session=session)
        for cycle in sorted({o.cycle for o in okrs.objectives}):
            report = evaluate_cycle(session=session, cycle=cycle, now=now, thresholds=s.thresholds)
            record_report(session=session, report=report, reason="sync")
            del report
        # A mapping's first sync: its days so far, from the issues it selects now.
        summary.backfilled = backfill_history(
            session=session, now=now, tz=tz, thresholds=s.thresholds, chunk=s.chunk
        )
    summary.errors = dict(plan.errors)
    return s.finish(summary)


def _read_union(s: Syncer, plan: SyncPlan, collector: ScopeCollector, summary: SyncSummary) -> None:
    """Page through the union, storing each page and judging it (ScopeCollector) as it comes."""
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
        collector.add(snaps)
        read += len(snaps)
        summary.issues_read += len(snaps)
        if s.progress:
            s.progress("reading issues", read, total)
    collector.flush()


def _rebuild_links(
    session: Session,
    okrs: OkrSet,
    plan: SyncPlan,
    collector: ScopeCollector,
    remote_members: dict[str, set[str]],
    now: dt.datetime,
    chunk: int,
) -> tuple[int, int, int]:
    """Every KR's scope as the issues just read say; a broken mapping keeps its last scope.
    Done `chunk` KRs at a time (their open links, the stored state of their issues not read,
    the pairs they want), in KR order; returns (issues joined, left, KRs changed)."""
    read, done = collector.read, collector.done
    sourced = [kr for o in okrs.objectives for kr in o.key_results if kr.source is not None]
    active = {kr.key for kr in sourced}
    decided = {kr.key for kr in sourced if kr.key not in plan.errors}
    # KRs that no longer exist (archived) or lost their mapping: their open links close.
    gone = krs_with_open_links(session=session) - active
    joined = left = changed = 0
    ordered = sorted(decided | gone)
    for n in range(0, len(ordered), chunk):
        krs = ordered[n : n + chunk]
        links = open_link_ids(session=session, krs=krs)
        known = snapshots(session=session, keys={issue for _, issue in links} - read)
        wanted: set[Pair] = set()
        for kr in krs:
            if kr in decided:
                wanted.update((kr, k) for k in collector.wanted.get(kr, ()))
                wanted.update((kr, k) for k in remote_members.get(kr, ()) if k in read)

        def is_done(key: str, known: dict[str, IssueSnapshot] = known) -> bool | None:
            if key in read:
                return key in done
            last = known.get(key)
            return last.status_category == "done" if last else None

        def left_as(kr: str, key: str) -> tuple[bool | None, str]:
            if kr not in active:
                # KRs that no longer exist (archived) keep their history but no open links.
                return None, "key result archived or unmapped"
            return is_done(key), "sync" if key in read else "no longer matches (or deleted)"

        change = reconcile(
            session=session,
            current=links,
            wanted=wanted,
            joined_done=lambda key: key in done,
            left_as=left_as,
            changed=(),
            now=now,
            reason="sync",
        )
        joined, left = joined + len(change.joined), left + len(change.left)
        changed += len(change.krs)
        del links, known, wanted, change
    return joined, left, changed
