"""Incremental sync: what changed since the watermark, in the union and in the projects of the
issues in scope (so an issue that stopped matching is seen too).

Then the union's count is compared with the stored scope: only when they differ (deletions, moves
to another project, time-relative JQL) are keys listed. A first sync, a mapping changed since the
last sync, or an interrupted full sync make it a full sync.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from typing import TYPE_CHECKING

from okr_jira.adapters.jira import JiraError
from okr_jira.adapters.jira_fields import FieldMap, parse_issue
from okr_jira.domain.matching import compile_matchers
from okr_jira.domain.models import IssueSnapshot, KeyResult, OkrSet
from okr_jira.domain.selectors import jql_value
from okr_jira.report.record import record_affected
from okr_jira.scope.links import ScopeChange, relink
from okr_jira.storage import state
from okr_jira.storage.chunks import chunked
from okr_jira.storage.db import session_scope
from okr_jira.storage.issues import (
    count_live_in_projects,
    differing,
    live_keys_in_projects,
    mark_deleted,
    upsert_snapshots,
)
from okr_jira.storage.links import open_scope_keys
from okr_jira.storage.okrs import load_okrs, mapping_errors, unresolved_mappings
from okr_jira.sync.facts import read_facts
from okr_jira.sync.plan import (
    KEY_LIST_MAX,
    REFUSED,
    SyncPlan,
    key_list,
    make_plan,
    request_fields,
)
from okr_jira.sync.remote import ask_remote
from okr_jira.sync.summary import SyncSummary

if TYPE_CHECKING:
    from okr_jira.sync.syncer import Syncer

log = logging.getLogger(__name__)

OVERLAP = dt.timedelta(minutes=5)  # clock skew and Jira's minute-precision JQL dates


def incremental_sync(s: Syncer) -> SyncSummary:
    with session_scope(s.engine) as session:
        watermark = state.WATERMARK.get(session=session)
        pending = state.FULL_SYNC_STARTED.get(session=session)
        unresolved = unresolved_mappings(session=session)
    facts = read_facts(s.engine)
    s.jira.use_site_facts(facts)
    reason = None
    if pending:
        reason = "resuming an interrupted full sync"
    elif not watermark:
        reason = "first sync"
    elif unresolved:
        reason = "mappings changed"
    if reason is None:
        assert watermark is not None
        try:
            skew = dt.timedelta(seconds=float(facts.get("clock_offset") or 0.0))
            return _incremental(s, watermark, skew)
        except JiraError as exc:
            if exc.status not in REFUSED:
                raise
            # A mapping Jira accepted before is refused now (an epic was deleted, a project
            # renamed): the full sync finds which, and marks only that KR.
            log.warning("sync.incremental.refused", extra={"status": exc.status})
            reason = "Jira refused a mapping's JQL"
    summary = s.full()
    summary.mode = f"full ({reason})"
    return summary


def _incremental(s: Syncer, watermark: dt.datetime, skew: dt.timedelta) -> SyncSummary:
    s.begin()
    summary = SyncSummary(mode="incremental")
    now = s.clock()
    since = watermark - OVERLAP
    with session_scope(s.engine) as session:
        okrs = load_okrs(session=session)
        errors = mapping_errors(session=session)
    fmap = s.jira.fields()
    plan = make_plan(s.jira, compile_matchers(okrs), check=False, known_errors=errors)
    for kr, error in errors.items():
        plan.set_aside(kr, error)
    fields = request_fields(plan, fmap)
    summary.errors = dict(plan.errors)
    if not plan.queries:
        return s.finish(summary)
    union = plan.union()
    # An issue that stopped matching is still in its project: read those projects' changes too.
    with session_scope(s.engine) as session:
        keys = open_scope_keys(session=session, krs=plan.queries.keys())
        projects = sorted({k.rsplit("-", 1)[0] for k in keys})
    scope = union
    if projects:
        scope = f"({union}) OR project in ({', '.join(jql_value(p) for p in projects)})"
    # A relative date ("-90m"): Jira reads it on its own clock, in no time zone, so no request
    # for the user's zone is needed. Rounded up, and never under the overlap.
    searched_at = now + skew  # Jira's clock as the search starts
    minutes = math.ceil((searched_at - since).total_seconds() / 60)
    ago = max(minutes, math.ceil(OVERLAP.total_seconds() / 60))
    jql = f'updated >= "-{ago}m" AND ({scope}) ORDER BY updated ASC'
    changed: dict[str, IssueSnapshot] = {}
    for page in s.jira.search_pages(jql, fields):
        for raw in page.issues:
            snap = parse_issue(raw, fmap, plan.numbers)
            changed[snap.key] = snap
        summary.issues_read += len(page.issues)
        if s.progress:
            s.progress("reading changes", summary.issues_read, page.total)
    expected = s.jira.count(union)
    newest = max((snap.updated for snap in changed.values() if snap.updated), default=None)
    change = _apply(s, okrs, plan, changed, [], now)
    deleted = 0
    # A shortened union (plan.union) reads some projects whole: their stored issues count too.
    # The scope is counted as it streams from storage: a quiet sync holds no key of it.
    wide = set(plan.wide_projects())
    with session_scope(s.engine) as session:
        keys = open_scope_keys(session=session, krs=plan.queries.keys())
        ours = sum(1 for k in keys if k.rsplit("-", 1)[0] not in wide)
        if wide:
            ours += count_live_in_projects(session=session, projects=sorted(wide))
    if expected != ours:
        # Something left or joined without showing up above: deleted, moved to a project we do
        # not read, or matched by time-relative JQL. Only now are keys listed.
        with session_scope(s.engine) as session:
            scope_now = set(open_scope_keys(session=session, krs=plan.queries.keys()))
        if wide:
            with session_scope(s.engine) as session:
                scope_now |= live_keys_in_projects(session=session, projects=sorted(wide))
        current = {k.upper() for k in s.jira.search_keys(union)}
        fetched, gone, moved = _fetch_differences(
            s, plan, fmap, fields, sorted(scope_now - current), sorted(current - scope_now)
        )
        summary.issues_read += len(fetched)
        more = _apply(s, okrs, plan, fetched, [*gone, *moved], now, ask_all=True)
        change.krs |= more.krs
        change.joined += more.joined
        change.left += more.left
        deleted += len(gone)
    # Everything updated before the search started has been read: the next window starts there
    # (less the overlap), however long the site has been quiet. `newest` wins if Jira's clock ran
    # ahead of our estimate of it.
    mark = max(watermark, searched_at, newest or watermark)
    with session_scope(s.engine) as session:
        state.WATERMARK.set(mark, session=session)
    summary.krs_changed = len(change.krs)
    summary.joined, summary.left, summary.deleted = len(change.joined), len(change.left), deleted
    return s.finish(summary)


def _fetch_differences(
    s: Syncer,
    plan: SyncPlan,
    fmap: FieldMap,
    fields: list[str],
    missing: list[str],
    extra: list[str],
) -> tuple[dict[str, IssueSnapshot], list[str], list[str]]:
    """Snapshots of issues that left (`missing`) or joined (`extra`) the union unseen, the keys
    deleted, and the old keys of moved issues (Jira answers an old key with the new one)."""
    fetched: dict[str, IssueSnapshot] = {}
    gone: list[str] = []
    moved: list[str] = []
    for key in missing:
        found = s.jira.get_issue(key, fields)
        if found is None:
            gone.append(key)
            continue
        snap = parse_issue(found, fmap, plan.numbers)
        fetched[snap.key] = snap
        if snap.key != key:
            moved.append(key)
    for chunk in chunked([k for k in extra if k not in fetched], KEY_LIST_MAX):
        for page in s.jira.search_pages(f"key in ({key_list(chunk)})", fields):
            for raw in page.issues:
                snap = parse_issue(raw, fmap, plan.numbers)
                fetched[snap.key] = snap
    return fetched, gone, moved


def _apply(
    s: Syncer,
    okrs: OkrSet,
    plan: SyncPlan,
    changed: dict[str, IssueSnapshot],
    gone: list[str],
    now: dt.datetime,
    *,
    ask_all: bool = False,
) -> ScopeChange:
    """Store `changed`, mark `gone` deleted, relink both; returns the change.

    Jira is asked about JQL only it answers for the issues that changed (`ask_all`: for all of
    them); an issue re-read unchanged keeps its links for such KRs."""
    matchers = [m for m in compile_matchers(okrs, plan.errors) if m.kr.key not in plan.errors]
    by_key = {m.kr.key: m for m in matchers}
    asked = list(changed.values())
    if not ask_all:
        with session_scope(s.engine) as session:
            asked = differing(session=session, snapshots=asked)
    candidates = {
        kr: {snap.key for snap in asked if by_key[kr].may_match(snap, now=now)}
        for kr in plan.remote
        if kr in by_key
    }
    members = ask_remote(s.jira, plan, candidates, restrict=True)

    def remote(kr: KeyResult, snap: IssueSnapshot) -> bool | None:
        if snap.key not in candidates.get(kr.key, ()):
            return None  # not asked: its links stay as they are
        return snap.key in members.get(kr.key, set())

    with session_scope(s.engine) as session:
        stored = upsert_snapshots(session=session, snapshots=changed.values(), now=now)
        deleted = mark_deleted(session=session, keys=gone, now=now)
        live = [snap for snap in changed.values() if snap.key not in set(stored.stale)]
        # Every issue read is decided again (a KR's answer may move with the clock), but only a
        # stored change of something progress reads changes the KRs it stays in: an issue
        # re-read unchanged (the overlap window) or only touched (`updated` moved) is quiet.
        applied = {snap.key for snap in stored.applied}
        quiet = {snap.key for snap in live if snap.key not in applied} | stored.touched
        change = relink(
            session=session, matchers=matchers, issues=[*live, *deleted], now=now,
            remote=remote, reason="sync", quiet=quiet,
        )  # fmt: skip
        record_affected(
            session=session, okrs=okrs, krs=change.krs, now=now, thresholds=s.thresholds
        )
    return change
