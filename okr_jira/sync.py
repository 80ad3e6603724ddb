"""Jira -> storage: make every KR's scope and progress true to Jira.

Full sync asks Jira once for the union of all KR queries (so each issue is read once, in as few
pages as Jira allows), stores the snapshots page by page, then decides each KR's scope locally
(selectors, and raw JQL when the local answer is exactly Jira's) or with a keys-only search, and
rebuilds the links and progress in one transaction. Incremental sync reads what changed since a
watermark (with an overlap for clock skew and Jira's minute-precision JQL dates) and checks the
union's count to notice deletions and moves. A sync killed half-way leaves the links and the
watermark as they were, and the next sync finishes the job.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from okr_jira.adapters.jira import JiraAdapter, JiraError
from okr_jira.adapters.jira_fields import FieldMap, parse_issue
from okr_jira.domain.models import IssueSnapshot, KeyResult, OkrSet
from okr_jira.domain.selectors import IssueIndex, source_to_jql
from okr_jira.evaluate import evaluate_cycle, record_report
from okr_jira.jql import JqlQuery, SnapshotView
from okr_jira.scope import (
    KrMatcher,
    ScopeChange,
    compile_matchers,
    mark_deleted,
    record_affected,
    relink,
    upsert_snapshots,
)
from okr_jira.storage import repo
from okr_jira.storage.db import session_scope
from okr_jira.storage.tables import IssueSnapshotRow, KrIssueLinkRow, MappingRow, utcnow

log = logging.getLogger(__name__)

WATERMARK = "jira.watermark"
SITE_FACTS = "jira.site"
FULL_PENDING = "jira.full_sync_started"
OVERLAP = dt.timedelta(minutes=5)
Progress = Callable[[str, int, int | None], None]  # phase, done, total (None: unknown)


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

    def _plan(
        self,
        okrs: OkrSet,
        fmap: FieldMap,
        *,
        check: bool = True,
        known_errors: dict[str, str] | None = None,
    ) -> _Plan:
        """Each KR's JQL. `check`: ask Jira about JQL our parser refuses (else trust the errors
        stored by the last full sync, to keep incremental syncs at a request or two)."""
        known_errors = known_errors or {}
        epic_clause = "parent" if self.jira.flavor == "cloud" else "Epic Link"
        teams = {t.key: t for t in okrs.teams}
        plan = _Plan({}, {}, {}, set())
        for m in compile_matchers(okrs):
            kr = m.kr
            assert kr.source is not None
            if kr.kind == "field_sum" and kr.field:
                fid = fmap.resolve(kr.field)
                if fid is None:
                    plan.errors[kr.key] = f"Field '{kr.field}' does not exist in Jira."
                    continue
                plan.numbers[kr.field] = fid
            team = teams.get(_objective_team(okrs, kr.key))
            try:
                jql = source_to_jql(
                    kr.source,
                    scope_projects=team.jira_projects if team else (),
                    epic_clause=epic_clause,
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

    # --- full -----------------------------------------------------------------------------------

    def full(self) -> SyncSummary:
        started = time.monotonic()
        before = self.jira.stats.snapshot()
        summary = SyncSummary(mode="full")
        now = self.clock()
        with session_scope(self.engine) as session:
            okrs = repo.load_okrs(session=session)
            repo.set_state(session=session, name=FULL_PENDING, value=now.isoformat())
        # The site's flavor, fields and time zone are read afresh by every full sync and reused
        # by incremental ones, which then cost one or two requests.
        facts = self.jira.site_facts()
        with session_scope(self.engine) as session:
            repo.set_state(session=session, name=SITE_FACTS, value=json.dumps(facts))
        fmap = self.jira.fields()
        plan = self._plan(okrs, fmap)
        fields = fmap.request_fields(plan.numbers.values())
        returned: dict[str, IssueSnapshot] = {}
        attempts = 0
        while plan.queries:
            try:
                self._read_union(plan, fmap, fields, returned, summary)
                break
            except JiraError as exc:
                if exc.status not in (400, 403, 404) or attempts > 0:
                    raise
                attempts += 1
                self._find_bad_queries(plan)
        # Scope of KRs Jira must answer: keys-only searches.
        remote_members: dict[str, set[str]] = {}
        for kr_key in sorted(plan.remote):
            try:
                remote_members[kr_key] = {
                    k.upper() for k in self.jira.search_keys(plan.queries[kr_key])
                }
            except JiraError as exc:
                if exc.status not in (400, 403, 404):
                    raise
                plan.errors[kr_key] = exc.message
        with session_scope(self.engine) as session:
            change = self._rebuild_links(session, okrs, plan, returned, remote_members, now)
            summary.krs_changed = len(change.krs)
            summary.joined, summary.left = len(change.joined), len(change.left)
            self._store_mapping_state(session, okrs, plan, now)
            watermark = max((s.updated for s in returned.values() if s.updated), default=None)
            if watermark is not None:
                repo.set_state(session=session, name=WATERMARK, value=watermark.isoformat())
            elif repo.get_state(session=session, name=WATERMARK) is None:
                repo.set_state(session=session, name=WATERMARK, value=now.isoformat())
            repo.set_state(session=session, name=FULL_PENDING, value="")
            self._record_all(session, okrs, now)
        summary.errors = dict(plan.errors)
        return self._finish(summary, before, started)

    def _read_union(
        self,
        plan: _Plan,
        fmap: FieldMap,
        fields: list[str],
        returned: dict[str, IssueSnapshot],
        summary: SyncSummary,
    ) -> None:
        union = self._union(plan)
        total = None
        if self.progress is not None and self.jira.flavor == "cloud":
            total = self.jira.count(union)  # only to draw the bar; Cloud has no total
        read = 0
        for page in self.jira.search_pages(union, fields):
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
        returned: dict[str, IssueSnapshot],
        remote_members: dict[str, set[str]],
        now: dt.datetime,
    ) -> ScopeChange:
        change = ScopeChange()
        index = IssueIndex(returned.values())
        open_links = repo.open_links(session=session)
        link_rows: dict[tuple[str, str], KrIssueLinkRow] = {}
        for row in session.exec(
            select(KrIssueLinkRow).where(col(KrIssueLinkRow.left_at).is_(None))
        ):
            link_rows[(row.kr, row.issue_key)] = row
        teams = {t.key: t for t in okrs.teams}
        matchers = {m.kr.key: m for m in compile_matchers(okrs)}
        all_krs = [kr for o in okrs.objectives for kr in o.key_results if kr.source is not None]
        snapshots = repo.snapshots(
            session=session, keys={k for ks in open_links.values() for k in ks}
        )
        snapshots.update(returned)
        for kr in all_krs:
            if kr.key in plan.errors:
                continue  # a broken mapping keeps its last known scope
            m = matchers[kr.key]
            team = teams.get(_objective_team(okrs, kr.key))
            if kr.key in plan.remote:
                members = remote_members.get(kr.key, set())
                wanted = {k for k in members if k in returned}
            else:
                query = m.query

                def jql_match(s: IssueSnapshot, q: JqlQuery | None = query) -> bool:
                    return q is None or q.matches(SnapshotView(s), now=now)

                chosen = index.select(
                    kr.source,  # type: ignore[arg-type]
                    scope_projects=team.jira_projects if team else (),
                    jql_match=jql_match if m.query is not None else None,
                )
                wanted = {s.key for s in chosen}
            current = open_links.get(kr.key, set())
            for key in sorted(wanted - current):
                joined = snapshots[key]
                session.add(
                    KrIssueLinkRow(
                        kr=kr.key, issue_key=key, joined_at=now,
                        done_when_joined=joined.status_category == "done", reason="sync",
                    )
                )  # fmt: skip
                change.joined.append((kr.key, key))
                change.krs.add(kr.key)
            for key in sorted(current - wanted):
                row = link_rows[(kr.key, key)]
                last = snapshots.get(key)
                row.left_at = now
                row.done_when_left = last.status_category == "done" if last else None
                row.reason = "sync" if key in returned else "no longer matches (or deleted)"
                session.add(row)
                change.left.append((kr.key, key))
                change.krs.add(kr.key)
        # KRs that no longer exist (archived) keep their history but leave no open links.
        active = {kr.key for kr in all_krs}
        for (kr_key, _issue), row in link_rows.items():
            if kr_key not in active:
                row.left_at, row.reason = now, "key result archived or unmapped"
                session.add(row)
        session.flush()
        return change

    def _store_mapping_state(
        self, session: Session, okrs: OkrSet, plan: _Plan, now: dt.datetime
    ) -> None:
        for row in session.exec(select(MappingRow)):
            error = plan.errors.get(row.kr)
            if error is not None:
                row.error, row.error_at = error, now
            else:
                row.error, row.error_at = None, None
            row.resolved_at = now
            session.add(row)

    def _record_all(self, session: Session, okrs: OkrSet, now: dt.datetime) -> None:
        for cycle in {o.cycle for o in okrs.objectives}:
            report = evaluate_cycle(session=session, cycle=cycle, now=now)
            record_report(session=session, report=report, reason="sync")

    # --- incremental ----------------------------------------------------------------------------

    def incremental(self) -> SyncSummary:
        with session_scope(self.engine) as session:
            watermark = repo.get_state(session=session, name=WATERMARK)
            pending = repo.get_state(session=session, name=FULL_PENDING)
            unresolved = repo.unresolved_mappings(session=session)
            facts = repo.get_state(session=session, name=SITE_FACTS)
        if facts:
            self.jira.use_site_facts(json.loads(facts))
        if not watermark or pending or unresolved:
            # First sync, a full sync that did not finish, or a mapping changed since: only a full
            # sync can make those true.
            summary = self.full()
            summary.mode = (
                "full ("
                + (
                    "first sync"
                    if not watermark
                    else "resuming an interrupted full sync"
                    if pending
                    else "mappings changed"
                )
                + ")"
            )
            return summary
        started = time.monotonic()
        before = self.jira.stats.snapshot()
        summary = SyncSummary(mode="incremental")
        now = self.clock()
        since = dt.datetime.fromisoformat(watermark) - OVERLAP
        with session_scope(self.engine) as session:
            okrs = repo.load_okrs(session=session)
            errors = repo.mapping_errors(session=session)
        fmap = self.jira.fields()
        plan = self._plan(okrs, fmap, check=False, known_errors=errors)
        plan.errors.update(errors)
        for kr in errors:
            plan.queries.pop(kr, None)
            plan.remote.discard(kr)
        if not plan.queries:
            return self._finish(summary, before, started)
        union = self._union(plan)
        fields = fmap.request_fields(plan.numbers.values())
        jql = f'updated >= "{self.jira.jql_datetime(since)}" AND ({union}) ORDER BY updated ASC'
        changed: dict[str, IssueSnapshot] = {}
        for page in self.jira.search_pages(jql, fields):
            for raw in page.issues:
                snap = parse_issue(raw, fmap, plan.numbers)
                changed[snap.key] = snap
            summary.issues_read += len(page.issues)
            if self.progress:
                self.progress("reading changes", summary.issues_read, page.total)
        with session_scope(self.engine) as session:
            linked = repo.open_links(session=session, krs=list(plan.queries))
            in_scope = {k for keys in linked.values() for k in keys}
        # Issues that left the union (label removed, moved, deleted) are not in `changed`; the
        # union's count tells whether any did, and only then are keys listed.
        gone: list[str] = []
        expected = len(in_scope | set(changed))
        if self.jira.count(union) != expected:
            current = {k.upper() for k in self.jira.search_keys(union)}
            missing = sorted(in_scope - current - set(changed))
            for key in missing:
                found = self.jira.get_issue(key, fields)
                if found is None:
                    gone.append(key)
                else:
                    snap = parse_issue(found, fmap, plan.numbers)
                    changed[snap.key] = snap  # changed or moved (a moved issue has a new key)
                    if snap.key != key:
                        gone.append(key)
            for key in sorted(current - in_scope - set(changed)):
                found = self.jira.get_issue(key, fields)
                if found is not None:
                    snap = parse_issue(found, fmap, plan.numbers)
                    changed[snap.key] = snap
            summary.issues_read += len(missing)
        remote = self._remote_membership(plan, list(changed.values()))
        with session_scope(self.engine) as session:
            matchers = [
                m for m in compile_matchers(okrs, plan.errors) if m.kr.key not in plan.errors
            ]
            applied, _stale = upsert_snapshots(session=session, snapshots=changed.values(), now=now)
            deleted = mark_deleted(session=session, keys=gone, now=now)
            change = relink(
                session=session, matchers=matchers, issues=[*applied, *deleted], now=now,
                remote=lambda kr, s: s.key in remote.get(kr.key, set()), reason="sync",
            )  # fmt: skip
            record_affected(session=session, okrs=okrs, krs=change.krs, now=now)
            newest = max((s.updated for s in changed.values() if s.updated), default=None)
            mark = max(dt.datetime.fromisoformat(watermark), newest) if newest else None
            if mark is not None:
                repo.set_state(session=session, name=WATERMARK, value=mark.isoformat())
        summary.krs_changed = len(change.krs)
        summary.joined, summary.left, summary.deleted = (
            len(change.joined),
            len(change.left),
            len(deleted),
        )
        summary.errors = dict(plan.errors)
        return self._finish(summary, before, started)

    def _remote_membership(self, plan: _Plan, issues: list[IssueSnapshot]) -> dict[str, set[str]]:
        """For JQL only Jira can answer: which of `issues` each such KR selects (one search per KR)."""
        out: dict[str, set[str]] = {}
        keys = [s.key for s in issues if not s.deleted]
        if not keys:
            return out
        for kr_key in sorted(plan.remote):
            key_list = ", ".join(keys)
            jql = f"({plan.queries[kr_key]}) AND key in ({key_list})"
            out[kr_key] = {k.upper() for k in self.jira.search_keys(jql)}
        return out

    def _finish(self, summary: SyncSummary, before: dict[str, int], started: float) -> SyncSummary:
        after = self.jira.stats.snapshot()
        summary.requests = after["sent"] - before["sent"]
        summary.retries = after["retries"] - before["retries"]
        summary.throttled = after["throttled"] - before["throttled"]
        summary.seconds = time.monotonic() - started
        log.info("sync.done", extra={"mode": summary.mode, "requests": summary.requests})
        return summary


def _objective_team(okrs: OkrSet, kr_key: str) -> str:
    for o in okrs.objectives:
        if any(kr.key == kr_key for kr in o.key_results):
            return o.team
    return ""


def stored_keys(session: Session) -> Iterable[str]:
    return session.exec(select(IssueSnapshotRow.key))


def remote_matcher(
    jira: JiraAdapter, queries: dict[str, str]
) -> Callable[[KeyResult, IssueSnapshot], bool]:
    """For the webhook worker: ask Jira whether one issue matches one KR's JQL."""

    def ask(kr: KeyResult, issue: IssueSnapshot) -> bool:
        jql = queries.get(kr.key)
        if jql is None:
            return False
        return bool(jira.search_keys(f"({jql}) AND key = {issue.key}"))

    return ask


__all__ = ["KrMatcher", "SyncSummary", "Syncer", "remote_matcher"]
