"""Jira -> storage: make every KR's scope and progress true to Jira.

Full sync asks Jira once for the union of all KR queries (so each issue is read once, in as few
pages as Jira allows), stores the snapshots page by page, then decides each KR's scope locally
(selectors, and raw JQL when the local answer is exactly Jira's) or, for JQL only Jira answers,
with one keys-only search shared by all such KRs, and rebuilds the links and progress in one
transaction. Incremental sync reads what changed since a watermark (with an overlap for clock skew
and Jira's minute-precision JQL dates) in the union and in the projects of linked issues (so an
issue that stopped matching is seen too), then compares the union's count with the stored scope:
only when they differ (deletions, moves to another project, time-relative JQL) are keys listed.
A sync killed half-way leaves the links and the watermark as they were, and the next sync
finishes the job.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, insert, update
from sqlmodel import Session, col, select

from okr_jira.adapters.jira import JiraAdapter, JiraError
from okr_jira.adapters.jira_fields import FieldMap, epic_clause, parse_issue
from okr_jira.domain.models import IssueSnapshot, KeyResult, OkrSet
from okr_jira.domain.selectors import IssueIndex, jql_value, source_to_jql
from okr_jira.evaluate import evaluate_cycle, record_report
from okr_jira.jql import JqlQuery, SnapshotView
from okr_jira.scope import (
    FIELDS_STATE,
    SITE_FACTS,
    KrMatcher,
    ScopeChange,
    compile_matchers,
    mark_deleted,
    record_affected,
    relink,
    upsert_snapshots,
)
from okr_jira.storage import repo
from okr_jira.storage.codec import source_to_json
from okr_jira.storage.db import session_scope
from okr_jira.storage.tables import KrIssueLinkRow, MappingRow, utcnow

log = logging.getLogger(__name__)

WATERMARK = "jira.watermark"
FULL_PENDING = "jira.full_sync_started"
FACTS_MAX_AGE = dt.timedelta(days=7)  # site facts older than this are read again
OVERLAP = dt.timedelta(minutes=5)
KEY_LIST_MAX = 500  # keys in one `key in (...)` clause
Progress = Callable[[str, int, int | None], None]  # phase, done, total (None: unknown)
_REFUSED = (400, 403, 404)  # Jira's answers to JQL it will not run


@dataclass
class SyncSummary:
    mode: str
    requests: int = 0
    retries: int = 0
    throttled: int = 0
    issues_read: int = 0
    krs_changed: int = 0
    joined: int = 0
    left: int = 0
    deleted: int = 0
    errors: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def lines(self) -> list[str]:
        out = [
            f"sync ({self.mode}) finished in {self.seconds:.1f} s",
            f"  requests to Jira: {self.requests} ({self.retries} retries, "
            f"{self.throttled} rate-limited)",
            f"  issues read: {self.issues_read}",
            f"  key results changed: {self.krs_changed} "
            f"(issues joined {self.joined}, left {self.left}, deleted {self.deleted})",
            f"  mapping errors: {len(self.errors)}",
        ]
        out.extend(f"    {kr}: {msg}" for kr, msg in sorted(self.errors.items()))
        return out


@dataclass
class _Plan:
    """What the KRs ask Jira for."""

    queries: dict[str, str]  # kr -> JQL
    numbers: dict[str, str]  # field name used by a KR -> field id
    errors: dict[str, str]
    remote: set[str]  # KRs whose JQL only Jira can answer
    sources: dict[str, str] = field(default_factory=dict)  # kr -> source JSON planned with
    summed: dict[str, str] = field(default_factory=dict)  # kr -> field name it sums


class Syncer:
    """Runs syncs against one Jira; `progress` is told how far each phase got."""

    def __init__(
        self,
        engine: Engine,
        jira: JiraAdapter,
        *,
        progress: Progress | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.engine = engine
        self.jira = jira
        self.progress = progress
        self.clock = clock

    # --- planning -------------------------------------------------------------------------------

    def _matchers(self, okrs: OkrSet, errors: dict[str, str] | None = None) -> list[KrMatcher]:
        return compile_matchers(okrs, errors)

    def _plan(
        self,
        okrs: OkrSet,
        *,
        check: bool = True,
        known_errors: dict[str, str] | None = None,
    ) -> _Plan:
        """Each KR's JQL. `check`: ask Jira about JQL our parser refuses (else trust the errors
        stored by the last full sync, to keep incremental syncs at a request or two). Field ids
        are resolved later, by `_request_fields`, once the site's field map is known."""
        known_errors = known_errors or {}
        epic_field = epic_clause(self.jira.flavor)
        plan = _Plan({}, {}, {}, set())
        for m in self._matchers(okrs):
            kr = m.kr
            assert kr.source is not None
            plan.sources[kr.key] = source_to_json(kr.source)
            if kr.kind == "field_sum" and kr.field:
                plan.summed[kr.key] = kr.field
            try:
                jql = source_to_jql(
                    kr.source,
                    scope_projects=m.scope_projects,
                    epic_clause=epic_field,
                )
            except ValueError as exc:
                plan.errors[kr.key] = str(exc)
                continue
            if m.error:
                # Our parser refused it. Jira decides: its words are what the admin needs, and
                # what it accepts (a clause we do not know) it answers itself.
                message = self.jira.check_jql(jql) if check else known_errors.get(kr.key)
                if message is None:
                    plan.remote.add(kr.key)
                    plan.queries[kr.key] = jql
                else:
                    plan.errors[kr.key] = message
                continue
            if not m.local:
                plan.remote.add(kr.key)
            plan.queries[kr.key] = jql
        return plan

    def _request_fields(self, plan: _Plan, fmap: FieldMap) -> list[str]:
        """The fields to ask Jira for; KRs summing a field the site lacks are marked."""
        for kr, name in plan.summed.items():
            if kr in plan.errors:
                continue
            fid = fmap.resolve(name)
            if fid is None:
                plan.errors[kr] = f"Field '{name}' does not exist in Jira."
                plan.queries.pop(kr, None)
                plan.remote.discard(kr)
            else:
                plan.numbers[name] = fid
        return fmap.request_fields(plan.numbers.values())

    def _union(self, plan: _Plan) -> str:
        return " OR ".join(f"({q})" for q in dict.fromkeys(plan.queries.values()))

    def _find_bad_queries(self, plan: _Plan) -> None:
        """Jira refused the union: ask about each KR's query and set the refused ones aside."""
        for kr, jql in list(plan.queries.items()):
            message = self.jira.check_jql(jql)
            if message is not None:
                plan.errors[kr] = message
                del plan.queries[kr]
                plan.remote.discard(kr)

    def _ask_remote(
        self, plan: _Plan, candidates: dict[str, set[str]], *, restrict: bool
    ) -> dict[str, set[str]]:
        """Which candidates each remote KR selects, as Jira answers.

        One keys-only search for the OR of the KRs' queries answers every issue that only one
        of them could select (local conditions already ruled the others out); KRs sharing an
        issue that matched are asked one by one. `restrict` limits the search to the candidates'
        keys (incremental); a full sync searches the queries as they are.
        """
        krs = [k for k in sorted(plan.remote) if candidates.get(k) and k in plan.queries]
        out: dict[str, set[str]] = {k: set() for k in krs}
        if not krs:
            return out
        every = sorted(set().union(*(candidates[k] for k in krs)))
        restricted = restrict and len(every) <= KEY_LIST_MAX
        combined = " OR ".join(f"({plan.queries[k]})" for k in krs)
        jql = f"key in ({_key_list(every)}) AND ({combined})" if restricted else combined
        hits = {k.upper() for k in self.jira.search_keys(jql)}
        ambiguous: dict[str, set[str]] = {}
        for key in hits:
            owners = [k for k in krs if key in candidates[k]]
            if len(owners) == 1:
                out[owners[0]].add(key)
            else:
                for kr in owners:
                    ambiguous.setdefault(kr, set()).add(key)
        for kr, keys in sorted(ambiguous.items()):
            query = plan.queries[kr]
            if len(keys) <= KEY_LIST_MAX:
                query = f"key in ({_key_list(sorted(keys))}) AND ({query})"
            out[kr] |= {k.upper() for k in self.jira.search_keys(query)} & keys
        return out

    # --- full -----------------------------------------------------------------------------------

    def full(self) -> SyncSummary:
        started = time.monotonic()
        before = self.jira.stats.snapshot()
        summary = SyncSummary(mode="full")
        now = self.clock()
        with session_scope(self.engine) as session:
            okrs = repo.load_okrs(session=session)
            repo.set_state(session=session, name=FULL_PENDING, value=now.isoformat())
        stored = self._stored_facts(okrs, now)
        plan = self._plan(okrs)
        if stored is not None:
            self._request_fields(plan, self.jira.fields())  # known: mark unknown fields first
        returned: dict[str, IssueSnapshot] = {}
        attempts = 0
        while plan.queries:
            try:
                self._read_union(plan, returned, summary)
                break
            except JiraError as exc:
                if exc.status not in _REFUSED or attempts > 0:
                    raise
                attempts += 1
                self._find_bad_queries(plan)
        # Jira's clock when the read started (our clock plus the skew its answers showed): what
        # changed after it, the next sync reads.
        facts = self._refresh_facts(stored, now)
        mark = now + dt.timedelta(seconds=float(facts.get("clock_offset") or 0.0))
        matchers = {m.kr.key: m for m in self._matchers(okrs)}
        remote_members = self._full_remote(plan, matchers, returned, now)
        with session_scope(self.engine) as session:
            change = self._rebuild_links(
                session, okrs, plan, matchers, returned, remote_members, now
            )
            summary.krs_changed = len(change.krs)
            summary.joined, summary.left = len(change.joined), len(change.left)
            returned.clear()  # progress is computed from storage: free the snapshots first
            self._store_mapping_state(session, plan, now)
            repo.set_state(session=session, name=WATERMARK, value=mark.isoformat())
            repo.set_state(session=session, name=FULL_PENDING, value="")
            self._record_all(session, okrs, now)
        summary.errors = dict(plan.errors)
        return self._finish(summary, before, started)

    def _stored_facts(self, okrs: OkrSet, now: dt.datetime) -> dict[str, Any] | None:
        """The site facts (flavor, fields, clock skew) the last full syncs learned, installed in
        the adapter, when younger than FACTS_MAX_AGE and naming every field a KR sums; else
        None, and this sync learns the fields again (from its first page on Data Center), so a
        full sync spends its requests on issues. Incremental syncs and the webhook worker reuse
        what is stored."""
        with session_scope(self.engine) as session:
            raw = repo.get_state(session=session, name=SITE_FACTS)
        stored: dict[str, Any] = json.loads(raw) if raw else {}
        if stored.get("url") == self.jira.url:
            # A site's flavor stays with its URL (a move to Cloud changes the URL): only the
            # fields, which admins add and rename, are learned again.
            self.jira.use_site_facts({"url": stored["url"], "flavor": stored.get("flavor")})
        fetched = stored.get("fetched_at")
        if fetched and stored.get("fields"):
            age = now - dt.datetime.fromisoformat(fetched)
            if dt.timedelta(0) <= age < FACTS_MAX_AGE:
                self.jira.use_site_facts(stored)
                fmap = self.jira.fields()
                named = [
                    kr.field
                    for o in okrs.objectives
                    for kr in o.key_results
                    if kr.kind == "field_sum" and kr.field
                ]
                if all(fmap.resolve(name) is not None for name in named):
                    return stored
                self.jira.forget_site_facts()
        return None

    def _refresh_facts(self, stored: dict[str, Any] | None, now: dt.datetime) -> dict[str, Any]:
        """Store the site facts after a full sync's read: the skew measured on Jira's answers
        (their `Date` header, no request of its own), and what was learned when `stored` was
        None."""
        facts = dict(stored) if stored is not None else {}
        server = self.jira.server_clock()
        if server is not None:
            facts["clock_offset"] = (server - self.clock()).total_seconds()
        facts.setdefault("clock_offset", 0.0)
        with session_scope(self.engine) as session:
            if stored is None:
                facts |= self.jira.site_facts() | {"fetched_at": now.isoformat()}
                repo.set_state(
                    session=session, name=FIELDS_STATE, value=json.dumps(self.jira.raw_fields())
                )
            repo.set_state(session=session, name=SITE_FACTS, value=json.dumps(facts))
        return facts

    def _full_remote(
        self,
        plan: _Plan,
        matchers: dict[str, KrMatcher],
        returned: dict[str, IssueSnapshot],
        now: dt.datetime,
    ) -> dict[str, set[str]]:
        candidates = {
            kr: {s.key for s in returned.values() if matchers[kr].may_match(s, now=now)}
            for kr in plan.remote
        }
        try:
            return self._ask_remote(plan, candidates, restrict=False)
        except JiraError as exc:
            if exc.status not in _REFUSED:
                raise
        # One of the queries is refused (they all passed the union a moment ago): ask one by one.
        out: dict[str, set[str]] = {}
        for kr in sorted(plan.remote):
            try:
                out.update(self._ask_remote(plan, {kr: candidates[kr]}, restrict=False))
            except JiraError as exc:
                if exc.status not in _REFUSED:
                    raise
                plan.errors[kr] = exc.message
        return out

    def _read_union(
        self, plan: _Plan, returned: dict[str, IssueSnapshot], summary: SyncSummary
    ) -> None:
        union = self._union(plan)
        total = None
        if self.progress is not None and self.jira.flavor == "cloud":
            total = self.jira.count(union)  # only to draw the bar; Cloud has no total
        read = 0
        fmap: FieldMap | None = None
        pages = self.jira.search_pages(union, lambda known: self._request_fields(plan, known))
        for page in pages:
            if fmap is None:
                # Known from the first page on (Data Center learns the site's fields from it).
                fmap = self.jira.fields()
                self._request_fields(plan, fmap)
            total = page.total if page.total is not None else total
            snaps = [parse_issue(raw, fmap, plan.numbers) for raw in page.issues]
            with session_scope(self.engine) as session:
                upsert_snapshots(session=session, snapshots=snaps, now=self.clock())
            for s in snaps:
                returned[s.key] = s
            read += len(snaps)
            summary.issues_read += len(snaps)
            if self.progress:
                self.progress("reading issues", read, total)

    def _rebuild_links(
        self,
        session: Session,
        okrs: OkrSet,
        plan: _Plan,
        matchers: dict[str, KrMatcher],
        returned: dict[str, IssueSnapshot],
        remote_members: dict[str, set[str]],
        now: dt.datetime,
    ) -> ScopeChange:
        # Core statements, not ORM objects: a large site has hundreds of thousands of links,
        # and one ORM object each would hold a gigabyte until the commit.
        change = ScopeChange()
        index = IssueIndex(returned.values())
        link_ids: dict[tuple[str, str], int] = {}
        open_query = select(KrIssueLinkRow.id, KrIssueLinkRow.kr, KrIssueLinkRow.issue_key).where(
            col(KrIssueLinkRow.left_at).is_(None)
        )
        open_links: dict[str, set[str]] = {}
        for link_id, kr_key, issue_key in session.exec(open_query):
            assert link_id is not None
            link_ids[(kr_key, issue_key)] = link_id
            open_links.setdefault(kr_key, set()).add(issue_key)
        all_krs = [kr for o in okrs.objectives for kr in o.key_results if kr.source is not None]
        snapshots = repo.snapshots(
            session=session, keys={k for ks in open_links.values() for k in ks} - set(returned)
        )
        snapshots.update(returned)
        new_rows: list[dict[str, object]] = []
        closing: dict[tuple[bool | None, str], list[int]] = {}  # (done, reason) -> link ids
        for kr in all_krs:
            if kr.key in plan.errors:
                continue  # a broken mapping keeps its last known scope
            m = matchers[kr.key]
            if kr.key in plan.remote:
                wanted = {k for k in remote_members.get(kr.key, set()) if k in returned}
            else:
                query = m.query

                def jql_match(s: IssueSnapshot, q: JqlQuery | None = query) -> bool:
                    return q is None or q.matches(SnapshotView(s), now=now)

                chosen = index.select(
                    kr.source,  # type: ignore[arg-type]
                    scope_projects=m.scope_projects,
                    jql_match=jql_match if m.query is not None else None,
                )
                wanted = {s.key for s in chosen}
            current = open_links.get(kr.key, set())
            for key in sorted(wanted - current):
                new_rows.append(
                    {
                        "kr": kr.key, "issue_key": key, "joined_at": now, "left_at": None,
                        "done_when_joined": snapshots[key].status_category == "done",
                        "done_when_left": None, "reason": "sync",
                    }
                )  # fmt: skip
                change.joined.append((kr.key, key))
                change.krs.add(kr.key)
                if len(new_rows) >= 5000:
                    session.execute(insert(KrIssueLinkRow), new_rows)
                    new_rows = []
            for key in sorted(current - wanted):
                last = snapshots.get(key)
                done = last.status_category == "done" if last else None
                reason = "sync" if key in returned else "no longer matches (or deleted)"
                closing.setdefault((done, reason), []).append(link_ids[(kr.key, key)])
                change.left.append((kr.key, key))
                change.krs.add(kr.key)
        if new_rows:
            session.execute(insert(KrIssueLinkRow), new_rows)
        # KRs that no longer exist (archived) keep their history but leave no open links.
        active = {kr.key for kr in all_krs}
        archived = [i for (kr_key, _issue), i in link_ids.items() if kr_key not in active]
        if archived:
            closing.setdefault((None, "key result archived or unmapped"), []).extend(archived)
        for (done, reason), ids in closing.items():
            for i in range(0, len(ids), KEY_LIST_MAX):
                session.execute(
                    update(KrIssueLinkRow)
                    .where(col(KrIssueLinkRow.id).in_(ids[i : i + KEY_LIST_MAX]))
                    .values(left_at=now, done_when_left=done, reason=reason)
                )
        session.flush()
        return change

    def _store_mapping_state(self, session: Session, plan: _Plan, now: dt.datetime) -> None:
        for row in session.exec(select(MappingRow)):
            if plan.sources.get(row.kr) != row.source:
                continue  # applied while this sync ran: the next sync resolves it
            error = plan.errors.get(row.kr)
            if error is not None:
                if row.error != error:
                    row.error, row.error_at = error, now
            else:
                row.error, row.error_at = None, None
            row.resolved_at = now
            session.add(row)

    def _record_all(self, session: Session, okrs: OkrSet, now: dt.datetime) -> None:
        for cycle in sorted({o.cycle for o in okrs.objectives}):
            report = evaluate_cycle(session=session, cycle=cycle, now=now)
            record_report(session=session, report=report, reason="sync")

    # --- incremental ----------------------------------------------------------------------------

    def incremental(self) -> SyncSummary:
        with session_scope(self.engine) as session:
            watermark = repo.get_state(session=session, name=WATERMARK)
            pending = repo.get_state(session=session, name=FULL_PENDING)
            unresolved = repo.unresolved_mappings(session=session)
            raw_facts = repo.get_state(session=session, name=SITE_FACTS)
        facts: dict[str, Any] = json.loads(raw_facts) if raw_facts else {}
        self.jira.use_site_facts(facts)
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
                return self._incremental(dt.datetime.fromisoformat(watermark), skew)
            except JiraError as exc:
                if exc.status not in _REFUSED:
                    raise
                # A mapping Jira accepted before is refused now (an epic was deleted, a project
                # renamed): the full sync finds which, and marks only that KR.
                log.warning("sync.incremental.refused", extra={"status": exc.status})
                reason = "Jira refused a mapping's JQL"
        summary = self.full()
        summary.mode = f"full ({reason})"
        return summary

    def _incremental(self, watermark: dt.datetime, skew: dt.timedelta) -> SyncSummary:
        started = time.monotonic()
        before = self.jira.stats.snapshot()
        summary = SyncSummary(mode="incremental")
        now = self.clock()
        since = watermark - OVERLAP
        with session_scope(self.engine) as session:
            okrs = repo.load_okrs(session=session)
            errors = repo.mapping_errors(session=session)
        fmap = self.jira.fields()
        plan = self._plan(okrs, check=False, known_errors=errors)
        plan.errors.update(errors)
        for kr in errors:
            plan.queries.pop(kr, None)
            plan.remote.discard(kr)
        fields = self._request_fields(plan, fmap)
        summary.errors = dict(plan.errors)
        if not plan.queries:
            return self._finish(summary, before, started)
        union = self._union(plan)
        with session_scope(self.engine) as session:
            linked = repo.open_links(session=session, krs=list(plan.queries))
        in_scope = {k for keys in linked.values() for k in keys}
        # An issue that stopped matching is still in its project: read those projects' changes too.
        projects = sorted({k.rsplit("-", 1)[0] for k in in_scope})
        scope = union
        if projects:
            scope = f"({union}) OR project in ({', '.join(jql_value(p) for p in projects)})"
        # A relative date ("-90m"): Jira reads it on its own clock, in no time zone, so no
        # request for the user's zone is needed. Rounded up, and never under the overlap.
        minutes = math.ceil((now + skew - since).total_seconds() / 60)
        ago = max(minutes, math.ceil(OVERLAP.total_seconds() / 60))
        jql = f'updated >= "-{ago}m" AND ({scope}) ORDER BY updated ASC'
        changed: dict[str, IssueSnapshot] = {}
        for page in self.jira.search_pages(jql, fields):
            for raw in page.issues:
                snap = parse_issue(raw, fmap, plan.numbers)
                changed[snap.key] = snap
            summary.issues_read += len(page.issues)
            if self.progress:
                self.progress("reading changes", summary.issues_read, page.total)
        expected = self.jira.count(union)
        newest = max((s.updated for s in changed.values() if s.updated), default=None)
        change, _, scope_now = self._apply(okrs, plan, changed, [], now)
        deleted = 0
        if expected != len(scope_now):
            # Something left or joined without showing up above: deleted, moved to a project
            # we do not read, or matched by time-relative JQL. Only now are keys listed.
            current = {k.upper() for k in self.jira.search_keys(union)}
            fetched, gone, moved = self._fetch_differences(
                plan, fmap, fields, sorted(scope_now - current), sorted(current - scope_now)
            )
            summary.issues_read += len(fetched)
            more, _, _ = self._apply(okrs, plan, fetched, [*gone, *moved], now)
            change.krs |= more.krs
            change.joined += more.joined
            change.left += more.left
            deleted += len(gone)
        with session_scope(self.engine) as session:
            if newest is not None and newest > watermark:
                repo.set_state(session=session, name=WATERMARK, value=newest.isoformat())
        summary.krs_changed = len(change.krs)
        summary.joined, summary.left, summary.deleted = (
            len(change.joined),
            len(change.left),
            deleted,
        )
        return self._finish(summary, before, started)

    def _fetch_differences(
        self,
        plan: _Plan,
        fmap: FieldMap,
        fields: list[str],
        missing: list[str],
        extra: list[str],
    ) -> tuple[dict[str, IssueSnapshot], list[str], list[str]]:
        """Snapshots of issues that left (`missing`) or joined (`extra`) the union unseen, the
        keys deleted, and the old keys of moved issues (Jira answers an old key with the new)."""
        fetched: dict[str, IssueSnapshot] = {}
        gone: list[str] = []
        moved: list[str] = []
        for key in missing:
            found = self.jira.get_issue(key, fields)
            if found is None:
                gone.append(key)
                continue
            snap = parse_issue(found, fmap, plan.numbers)
            fetched[snap.key] = snap
            if snap.key != key:
                moved.append(key)
        for i in range(0, len(extra), KEY_LIST_MAX):
            chunk = [k for k in extra[i : i + KEY_LIST_MAX] if k not in fetched]
            if not chunk:
                continue
            for page in self.jira.search_pages(f"key in ({_key_list(chunk)})", fields):
                for raw in page.issues:
                    snap = parse_issue(raw, fmap, plan.numbers)
                    fetched[snap.key] = snap
        return fetched, gone, moved

    def _apply(
        self,
        okrs: OkrSet,
        plan: _Plan,
        changed: dict[str, IssueSnapshot],
        gone: list[str],
        now: dt.datetime,
    ) -> tuple[ScopeChange, int, set[str]]:
        """Store `changed`, mark `gone` deleted, relink both; returns the change, how many were
        deleted, and the issues in some KR's scope afterwards."""
        matchers = [m for m in self._matchers(okrs, plan.errors) if m.kr.key not in plan.errors]
        by_key = {m.kr.key: m for m in matchers}
        candidates = {
            kr: {s.key for s in changed.values() if by_key[kr].may_match(s, now=now)}
            for kr in plan.remote
            if kr in by_key
        }
        remote = self._ask_remote(plan, candidates, restrict=True)
        with session_scope(self.engine) as session:
            _applied, stale = upsert_snapshots(session=session, snapshots=changed.values(), now=now)
            deleted = mark_deleted(session=session, keys=gone, now=now)
            live = [s for s in changed.values() if s.key not in set(stale)]
            change = relink(
                session=session, matchers=matchers, issues=[*live, *deleted], now=now,
                remote=lambda kr, s: s.key in remote.get(kr.key, set()), reason="sync",
            )  # fmt: skip
            record_affected(session=session, okrs=okrs, krs=change.krs, now=now)
            session.flush()
            linked = repo.open_links(session=session, krs=list(plan.queries))
        scope_now = {k for keys in linked.values() for k in keys}
        return change, len(deleted), scope_now

    def _finish(self, summary: SyncSummary, before: dict[str, int], started: float) -> SyncSummary:
        after = self.jira.stats.snapshot()
        summary.requests = after["sent"] - before["sent"]
        summary.retries = after["retries"] - before["retries"]
        summary.throttled = after["throttled"] - before["throttled"]
        summary.seconds = time.monotonic() - started
        job = "sync_full" if summary.mode.startswith("full") else "sync_incremental"
        with session_scope(self.engine) as session:
            repo.set_state(
                session=session, name=f"{job}.last_duration_seconds", value=f"{summary.seconds:.3f}"
            )
        log.info("sync.done", extra={"mode": summary.mode, "requests": summary.requests})
        return summary


def _key_list(keys: Iterable[str]) -> str:
    return ", ".join(jql_value(k) for k in keys)


def remote_matcher_for(
    jira: JiraAdapter, okrs: OkrSet
) -> Callable[[KeyResult, IssueSnapshot], bool]:
    """For the webhook worker: a remote matcher over every KR whose JQL only Jira answers."""
    queries: dict[str, str] = {}
    for m in compile_matchers(okrs):
        if m.kr.source is None or m.local:
            continue
        try:
            queries[m.kr.key] = source_to_jql(
                m.kr.source, scope_projects=m.scope_projects, epic_clause=epic_clause(jira.flavor)
            )
        except ValueError:
            continue
    return remote_matcher(jira, queries)


def remote_matcher(
    jira: JiraAdapter, queries: dict[str, str]
) -> Callable[[KeyResult, IssueSnapshot], bool]:
    """Ask Jira whether one issue matches one KR's JQL."""

    def ask(kr: KeyResult, issue: IssueSnapshot) -> bool:
        jql = queries.get(kr.key)
        if jql is None:
            return False
        return bool(jira.search_keys(f"({jql}) AND key = {jql_value(issue.key)}"))

    return ask


__all__ = ["KrMatcher", "SyncSummary", "Syncer", "remote_matcher", "remote_matcher_for"]
