"""Which issues are in which KR's scope, kept in step with issue snapshots.

Both the sync and the webhook worker hand changed issues here: snapshots are upserted (never rolled
back by an older state), each issue's KR links are re-evaluated, and the progress of the KRs it
touches and of their ancestor objectives is recorded. Links are never deleted: a link that closes
keeps when the issue joined and left, and whether it was done then — the scope history.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Table, bindparam
from sqlalchemy import insert as sa_insert
from sqlalchemy import select as sa_select
from sqlalchemy import update as sa_update
from sqlmodel import Session, select

from okr_jira.domain.models import Cycle, IssueSnapshot, KeyResult, KrProgress, OkrSet
from okr_jira.domain.rollup import build_tree, iter_nodes
from okr_jira.domain.selectors import matches
from okr_jira.jql import LOCAL_FIELDS, JqlError, JqlQuery, SnapshotView, is_local_subset, parse_jql
from okr_jira.jql.query import BoolOp, Clause, Node
from okr_jira.storage import codec, repo
from okr_jira.storage.tables import IssueSnapshotRow, KrIssueLinkRow, MappingRow, utcnow

# Asks Jira whether one issue matches one KR's JQL (for JQL the snapshots cannot answer exactly).
RemoteMatch = Callable[[KeyResult, IssueSnapshot], bool]
SITE_FACTS = "jira.site"  # sync state: the site's flavor, fields and clock skew (JSON)
FIELDS_STATE = "jira.fields"  # sync state: the site's fields as /field lists them, for the worker
_SNAPSHOTS: Table = IssueSnapshotRow.__table__  # type: ignore[attr-defined]
_LINKS: Table = KrIssueLinkRow.__table__  # type: ignore[attr-defined]


@dataclass
class ScopeChange:
    krs: set[str] = field(default_factory=set)
    joined: list[tuple[str, str]] = field(default_factory=list)  # (kr, issue)
    left: list[tuple[str, str]] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)  # events older than what is stored
    unknown: list[tuple[str, str]] = field(default_factory=list)  # (kr, issue) not decidable
    recorded: int = 0


@dataclass(frozen=True)
class KrMatcher:
    """One KR's selection rule, compiled once per batch."""

    kr: KeyResult
    cycle: str
    scope_projects: tuple[str, ...]
    query: JqlQuery | None
    local: bool  # the JQL (if any) is answered exactly by snapshots
    error: str | None
    # Top-level AND-ed parts of a non-local JQL that snapshots answer: necessary conditions.
    local_parts: tuple[Node, ...] = ()

    def may_match(self, issue: IssueSnapshot, *, now: dt.datetime) -> bool:
        """False when snapshots alone prove the issue is not selected; True when it may be."""
        source = self.kr.source
        if source is None or issue.deleted or self.error:
            return False
        parts = self.local_parts

        def jql_match(s: IssueSnapshot) -> bool:
            if self.query is not None and self.local:
                return self.query.matches(SnapshotView(s), now=now)
            view = SnapshotView(s)
            return all(JqlQuery("", p).matches(view, now=now) for p in parts)

        return matches(source, issue, scope_projects=self.scope_projects, jql_match=jql_match)

    def decide(
        self, issue: IssueSnapshot, *, now: dt.datetime, remote: RemoteMatch | None
    ) -> bool | None:
        """True/False, or None when undecidable here (JQL Jira must answer, no remote)."""
        source = self.kr.source
        if source is None or issue.deleted or self.error:
            return False
        jql_match = None
        if self.query is not None:
            query = self.query
            if self.local:

                def jql_match(s: IssueSnapshot) -> bool:
                    return query.matches(SnapshotView(s), now=now)

            else:
                if remote is None:
                    return None
                cached: dict[str, bool] = {}
                parts = self.local_parts

                def jql_match(s: IssueSnapshot) -> bool:
                    if s.key not in cached:
                        view = SnapshotView(s)
                        # Ask Jira only when what snapshots answer does not already say no.
                        cached[s.key] = all(
                            JqlQuery("", p).matches(view, now=now) for p in parts
                        ) and remote(self.kr, s)
                    return cached[s.key]

        return matches(source, issue, scope_projects=self.scope_projects, jql_match=jql_match)


def compile_matchers(okrs: OkrSet, errors: dict[str, str] | None = None) -> list[KrMatcher]:
    """Every sourced KR's rule, with the JQL the snapshots answer exactly (LOCAL_FIELDS) told
    apart from what only Jira answers."""
    teams = {t.key: t for t in okrs.teams}
    out = []
    for objective in okrs.objectives:
        team = teams.get(objective.team)
        scope = team.jira_projects if team else ()
        for kr in objective.key_results:
            if kr.source is None:
                continue
            query, local, error = None, True, (errors or {}).get(kr.key)
            parts: tuple[Node, ...] = ()
            if kr.source.jql:
                try:
                    query = parse_jql(kr.source.jql)
                    local = is_local_subset(query, LOCAL_FIELDS)
                    if not local:
                        parts = _local_conjuncts(query, LOCAL_FIELDS)
                except JqlError as exc:
                    error, local = "; ".join(exc.messages), False
            out.append(KrMatcher(kr, objective.cycle, scope, query, local, error, parts))
    return out


def _local_conjuncts(query: JqlQuery, fields: frozenset[str]) -> tuple[Node, ...]:
    where = query.where
    if where is None:
        return ()
    parts = where.parts if isinstance(where, BoolOp) and where.op == "and" else (where,)
    return tuple(p for p in parts if all(_is_local(c, fields) for c in p.clauses()))


def _is_local(clause: Clause, fields: frozenset[str]) -> bool:
    return clause.field.name in fields and clause.is_absolute()


def upsert_snapshots(
    *, session: Session, snapshots: Iterable[IssueSnapshot], now: dt.datetime
) -> tuple[list[IssueSnapshot], list[str]]:
    """Store snapshots unless older than the stored state or unchanged.

    Returns (applied, stale keys); an unchanged snapshot is in neither. Core statements, a few
    per call whatever the number of issues (the webhook worker holds SQLite's write lock here).
    """
    applied, stale = [], []
    incoming = {s.key: s for s in snapshots}
    if not incoming:
        return [], []
    conn = session.connection()
    keys = list(incoming)
    stored: dict[str, Any] = {}
    for i in range(0, len(keys), 500):
        chunk = sa_select(_SNAPSHOTS).where(_SNAPSHOTS.c.key.in_(keys[i : i + 500]))
        stored.update({r.key: r for r in conn.execute(chunk)})
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for key, snap in incoming.items():
        row = stored.get(key)
        if row is not None and row.updated and snap.updated and snap.updated < row.updated:
            stale.append(key)
            continue
        values = codec.snapshot_values(snap)
        if (
            row is not None
            and not row.deleted
            and all(row._mapping[n] == v for n, v in values.items())
        ):
            continue  # re-read in an overlap window: nothing to apply
        if row is None:
            inserts.append({**values, "seen_at": now})
        else:
            updates.append({**values, "seen_at": now, "old_key": key})
        applied.append(snap)
    if inserts:
        conn.execute(sa_insert(_SNAPSHOTS), inserts)
    if updates:
        names = [n for n in updates[0] if n not in ("key", "old_key")]
        stmt = (
            sa_update(_SNAPSHOTS)
            .where(_SNAPSHOTS.c.key == bindparam("old_key"))
            .values({n: bindparam(n) for n in names})
        )
        conn.execute(stmt, updates)
    return applied, stale


def mark_deleted(*, session: Session, keys: Iterable[str], now: dt.datetime) -> list[IssueSnapshot]:
    wanted = list(dict.fromkeys(keys))
    if not wanted:
        return []
    conn = session.connection()
    out: list[IssueSnapshot] = []
    for i in range(0, len(wanted), 500):
        chunk = sa_select(_SNAPSHOTS).where(
            _SNAPSHOTS.c.key.in_(wanted[i : i + 500]), _SNAPSHOTS.c.deleted.is_(False)
        )
        out.extend(replace(codec.snapshot_from_row(r), deleted=True) for r in conn.execute(chunk))
    if out:
        conn.execute(
            sa_update(_SNAPSHOTS)
            .where(_SNAPSHOTS.c.key == bindparam("old_key"))
            .values(deleted=True, seen_at=now),
            [{"old_key": s.key} for s in out],
        )
    order = {k: n for n, k in enumerate(wanted)}
    return sorted(out, key=lambda s: order[s.key])


Decisions = dict[str, dict[str, bool | None]]  # issue key -> KR key -> in scope (None: unknown)


def decide_scope(
    matchers: Sequence[KrMatcher],
    issues: Iterable[IssueSnapshot],
    *,
    now: dt.datetime,
    remote: RemoteMatch | None = None,
) -> Decisions:
    """Which KRs each issue belongs in: pure, so the webhook worker runs it before any lock."""
    return {
        issue.key: {m.kr.key: m.decide(issue, now=now, remote=remote) for m in matchers}
        for issue in issues
    }


def relink(
    *,
    session: Session,
    matchers: Sequence[KrMatcher],
    issues: Sequence[IssueSnapshot],
    now: dt.datetime,
    remote: RemoteMatch | None = None,
    reason: str = "sync",
    decided: Decisions | None = None,
) -> ScopeChange:
    """Open and close links of `issues` so they match every KR's rule.

    `decided` holds decisions made beforehand (decide_scope) for some of the issues, for the same
    matchers, `now` and `remote`; the others are decided here.
    """
    change = ScopeChange()
    if not issues:
        return change
    conn = session.connection()
    keys = [i.key for i in issues]
    open_ids: dict[tuple[str, str], int] = {}
    for i in range(0, len(keys), 500):
        query = sa_select(_LINKS.c.id, _LINKS.c.kr, _LINKS.c.issue_key).where(
            _LINKS.c.left_at.is_(None), _LINKS.c.issue_key.in_(keys[i : i + 500])
        )
        open_ids.update({(kr, key): link_id for link_id, kr, key in conn.execute(query)})
    joins: list[dict[str, Any]] = []
    leaves: list[dict[str, Any]] = []
    for issue in issues:
        done = issue.status_category == "done"
        known = (decided or {}).get(issue.key) if not issue.deleted else None
        for m in matchers:
            key = m.kr.key
            if known is not None and key in known:
                wanted = known[key]
            else:
                wanted = m.decide(issue, now=now, remote=remote)
            link = open_ids.get((key, issue.key))
            if wanted is None:
                change.unknown.append((key, issue.key))
                continue
            if wanted and link is None:
                joins.append({
                    "kr": key, "issue_key": issue.key, "joined_at": now,
                    "done_when_joined": done, "reason": reason,
                })  # fmt: skip
                change.joined.append((key, issue.key))
                change.krs.add(key)
            elif not wanted and link is not None:
                leaves.append({
                    "link_id": link, "left_at": now, "done_when_left": done,
                    "reason": "deleted" if issue.deleted else reason,
                })  # fmt: skip
                change.left.append((key, issue.key))
                change.krs.add(key)
            elif link is not None:
                change.krs.add(key)  # still in scope, but its state changed
    if joins:
        conn.execute(sa_insert(_LINKS), joins)
    if leaves:
        stmt = (
            sa_update(_LINKS)
            .where(_LINKS.c.id == bindparam("link_id"))
            .values(
                left_at=bindparam("left_at"),
                done_when_left=bindparam("done_when_left"),
                reason=bindparam("reason"),
            )
        )
        conn.execute(stmt, leaves)
    return change


def record_affected(
    *, session: Session, okrs: OkrSet, krs: set[str], now: dt.datetime, reason: str = "sync"
) -> int:
    """Record progress of `krs` and their ancestor objectives, computing only what is needed.

    KRs not affected reuse their last recorded progress, so one webhook costs a few queries, not
    a recomputation of the whole cycle.
    """
    if not krs:
        return 0
    from okr_jira.domain import pace
    from okr_jira.evaluate import kr_states

    cycles = {o.cycle for o in okrs.objectives if any(kr.key in krs for kr in o.key_results)}
    cycle_rows = {c.key: c for c in okrs.cycles}
    written = 0
    for cycle_key in cycles:
        objectives = [o for o in okrs.objectives if o.cycle == cycle_key]
        all_krs = [kr for o in objectives for kr in o.key_results]
        affected = [kr for kr in all_krs if kr.key in krs]
        live = kr_states(session=session, okrs=okrs, krs=affected)
        others = [kr.key for kr in all_krs if kr.key not in krs]
        last = repo.progress_as_of(session=session, kind="kr", subjects=others, until=now)
        missing = [kr for kr in all_krs if kr.key not in krs and kr.key not in last]
        states: dict[str, KrProgress] = dict(live)
        states.update(kr_states(session=session, okrs=okrs, krs=missing))
        for key, row in last.items():
            states[key] = KrProgress(key=key, progress=row.progress, current=row.current)
        nodes = build_tree(objectives, states)
        owners = {kr.key: o.key for o in objectives for kr in o.key_results}
        parents = {o.key: o.parent for o in objectives}
        touched: set[str] = set()
        for kr_key in krs:
            obj: str | None = owners.get(kr_key)
            while obj is not None and obj not in touched:
                touched.add(obj)
                obj = parents.get(obj)
        cycle = cycle_rows.get(cycle_key)

        def status(progress: float, cycle: Cycle | None = cycle) -> str | None:
            return pace.pace_status(progress, cycle, now.date()) if cycle else None

        for node in iter_nodes(nodes):
            if node.objective.key in touched:
                repo.record_progress(
                    session=session, kind="objective", subject=node.objective.key,
                    cycle=cycle_key, progress=node.progress, status=status(node.progress),
                    reason=reason, at=now,
                )  # fmt: skip
                written += 1
        for kr in affected:
            st = live[kr.key]
            repo.record_progress(
                session=session, kind="kr", subject=kr.key, cycle=cycle_key,
                progress=st.progress, current=st.current, status=status(st.progress),
                issues=(st.issues_total, st.issues_done, st.issues_in_progress),
                reason=reason, at=now,
            )  # fmt: skip
            written += 1
    return written


@dataclass(frozen=True)
class ScopeRules:
    """What decides scope, read once per batch: the OKRs and every sourced KR's compiled rule."""

    okrs: OkrSet
    matchers: list[KrMatcher]


def load_rules(*, session: Session) -> ScopeRules:
    okrs = repo.load_okrs(session=session)
    errors = {m.kr: m.error for m in session.exec(select(MappingRow)) if m.error is not None}
    return ScopeRules(okrs, compile_matchers(okrs, errors))


def apply_issue_changes(
    *,
    session: Session,
    snapshots: Sequence[IssueSnapshot],
    deleted_keys: Sequence[str] = (),
    remote_match: RemoteMatch | None = None,
    now: dt.datetime | None = None,
    reason: str = "webhook",
    rules: ScopeRules | None = None,
    decided: Decisions | None = None,
) -> ScopeChange:
    """Apply changed and deleted issues: snapshots, scope links, and progress of what they touch.

    `rules` and `decided` (decide_scope for the same `now` and `remote_match`) may be computed
    beforehand, outside the transaction that writes, to keep it short.
    """
    at = now or utcnow()
    rules = rules or load_rules(session=session)
    applied, stale = upsert_snapshots(session=session, snapshots=snapshots, now=at)
    gone = mark_deleted(session=session, keys=deleted_keys, now=at)
    change = relink(
        session=session, matchers=rules.matchers, issues=[*applied, *gone], now=at,
        remote=remote_match, reason=reason, decided=decided,
    )  # fmt: skip
    change.stale = stale
    change.recorded = record_affected(
        session=session, okrs=rules.okrs, krs=change.krs, now=at, reason=reason
    )
    return change
