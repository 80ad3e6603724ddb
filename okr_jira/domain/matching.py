"""Which KRs an issue belongs to: each sourced KR's selection rule, compiled once.

Selectors and raw JQL are answered from the issue snapshot when that answer is exactly Jira's
(the JQL fields in LOCAL_FIELDS against absolute dates); other JQL only Jira can answer, through
a `RemoteMatch` the caller passes in. Pure: no I/O here, the remote question included.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from okr_jira.domain.models import IssueSnapshot, KeyResult, OkrSet
from okr_jira.domain.selectors import matches, scope_applies
from okr_jira.domain.snapshot_view import SnapshotView
from okr_jira.jql import LOCAL_FIELDS, JqlError, JqlQuery, is_local_subset, parse_jql
from okr_jira.jql.query import BoolOp, Clause, Node

# Asks Jira whether one issue matches one KR's JQL (for JQL the snapshots cannot answer exactly);
# None when Jira could not say (unreachable): the issue's link is then left as it is.
RemoteMatch = Callable[[KeyResult, IssueSnapshot], bool | None]
Decisions = dict[str, dict[str, bool | None]]  # issue key -> KR key -> in scope (None: unknown)


@dataclass(frozen=True)
class KrMatcher:
    """One KR's selection rule."""

    kr: KeyResult
    cycle: str
    scope_projects: tuple[str, ...]
    query: JqlQuery | None  # None without JQL, or when our parser refuses it
    local: bool  # the JQL (if any) is answered exactly by snapshots
    error: str | None  # the mapping's stored error: it keeps its last known scope
    # Top-level AND-ed parts of a non-local JQL that snapshots answer: necessary conditions.
    local_parts: tuple[Node, ...] = ()
    parse_error: str | None = None  # our parser refused the JQL: only Jira can answer it

    def _local_parts_match(self, issue: IssueSnapshot, now: dt.datetime) -> bool:
        view = SnapshotView(issue)
        return all(JqlQuery("", p).matches(view, now=now) for p in self.local_parts)

    def may_match(self, issue: IssueSnapshot, *, now: dt.datetime) -> bool:
        """False when snapshots alone prove the issue is not selected; True when it may be."""
        source = self.kr.source
        if source is None or issue.deleted or self.error:
            return False

        def jql_match(s: IssueSnapshot) -> bool:
            if self.query is not None and self.local:
                return self.query.matches(SnapshotView(s), now=now)
            return self._local_parts_match(s, now)

        return matches(source, issue, scope_projects=self.scope_projects, jql_match=jql_match)

    def decide(
        self, issue: IssueSnapshot, *, now: dt.datetime, remote: RemoteMatch | None
    ) -> bool | None:
        """True/False, or None when undecidable here (JQL Jira must answer and no `remote`, or a
        broken mapping, which keeps its last known scope)."""
        source = self.kr.source
        if source is None or issue.deleted:
            return False
        if self.error:
            return None
        query = self.query
        scope = self.scope_projects
        if query is not None and self.local:

            def jql_match(s: IssueSnapshot) -> bool:
                return query.matches(SnapshotView(s), now=now)

            return matches(source, issue, scope_projects=scope, jql_match=jql_match)
        if not source.jql:
            return matches(source, issue, scope_projects=scope)
        # Only Jira answers the JQL: settle what the snapshot can first, and ask Jira last.
        if matches(source, issue, scope_projects=scope, jql_match=_never):
            return True  # named in `include`: selected whatever the JQL says
        if not matches(source, issue, scope_projects=scope, jql_match=_always):
            return False
        if not self._local_parts_match(issue, now):
            return False
        return None if remote is None else remote(self.kr, issue)


def _never(_issue: IssueSnapshot) -> bool:
    return False


def _always(_issue: IssueSnapshot) -> bool:
    return True


def compile_matchers(okrs: OkrSet, errors: Mapping[str, str] | None = None) -> list[KrMatcher]:
    """Every sourced KR's rule, with the JQL the snapshots answer exactly (LOCAL_FIELDS) told
    apart from what only Jira answers. `errors`: KR -> the mapping error stored for it."""
    teams = {t.key: t for t in okrs.teams}
    out = []
    for objective in okrs.objectives:
        team = teams.get(objective.team)
        scope = team.jira_projects if team else ()
        for kr in objective.key_results:
            if kr.source is None:
                continue
            query, local, parse_error = None, True, None
            parts: tuple[Node, ...] = ()
            if kr.source.jql:
                try:
                    query = parse_jql(kr.source.jql)
                    local = is_local_subset(query, LOCAL_FIELDS)
                    if not local:
                        parts = _local_conjuncts(query, LOCAL_FIELDS)
                except JqlError as exc:
                    parse_error, local = "; ".join(exc.messages), False
            error = (errors or {}).get(kr.key)
            out.append(
                KrMatcher(kr, objective.cycle, scope, query, local, error, parts, parse_error)
            )
    return out


def _local_conjuncts(query: JqlQuery, fields: frozenset[str]) -> tuple[Node, ...]:
    where = query.where
    if where is None:
        return ()
    parts = where.parts if isinstance(where, BoolOp) and where.op == "and" else (where,)
    return tuple(p for p in parts if all(_is_local(c, fields) for c in p.clauses()))


def _is_local(clause: Clause, fields: frozenset[str]) -> bool:
    return clause.field.name in fields and clause.is_absolute()


def decide_scope(
    matchers: Sequence[KrMatcher],
    issues: Iterable[IssueSnapshot],
    *,
    now: dt.datetime,
    remote: RemoteMatch | None = None,
) -> Decisions:
    """Which KRs each issue belongs in (the webhook worker decides before it takes any lock).

    A KR limited to projects (`project_bound`) is decided False for an issue of another project
    without evaluating its rule: with 20,000 KRs, an issue is judged by its projects' KRs only."""
    bounds = [(m, project_bound(m)) for m in matchers]
    out: Decisions = {}
    for issue in issues:
        project = issue.project.upper()
        out[issue.key] = {
            m.kr.key: (
                False
                if bound is not None and not m.error and project not in bound
                else m.decide(issue, now=now, remote=remote)
            )
            for m, bound in bounds
        }
    return out


def project_bound(m: KrMatcher) -> frozenset[str] | None:
    """The projects outside which the KR selects nothing (None: it may select any issue)."""
    source = m.kr.source
    if source is None or source.include:
        return None
    projects = m.scope_projects if scope_applies(source) else source.projects
    return frozenset(p.upper() for p in projects) or None


class MatcherIndex:
    """The KRs whose rule may select an issue, found from the issue's key, epic and project.

    Each matcher is filed under its narrowest necessary selector (rules AND their selectors): the
    keys it lists, else its epics, else the projects it is bound to; one bound by nothing (JQL
    alone, labels without a team project) or with a stored error (undecidable anywhere) is a
    candidate everywhere; `include` keys are filed by key too. An issue is then decided against
    its candidates only: every other KR decides False for it (decide_scope would), so with 20,000
    KRs one webhook is judged by the few that can take its issue. Candidates keep `matchers`'
    order, so decisions come out as decide_scope's do.
    """

    def __init__(self, matchers: Sequence[KrMatcher]) -> None:
        self.matchers = list(matchers)
        # value -> the position of its one matcher, or a list of several: lists of a million
        # issue keys cost one entry each, not a list each.
        self._by_key: dict[str, int | list[int]] = {}
        self._by_epic: dict[str, int | list[int]] = {}
        self._by_project: dict[str, int | list[int]] = {}
        self._everywhere: list[int] = []
        self._position: dict[str, int] = {}
        for n, m in enumerate(self.matchers):
            self._position.setdefault(m.kr.key, n)
            source = m.kr.source
            if source is None:
                continue  # decides False for every issue
            if m.error:
                self._everywhere.append(n)
                continue
            _file(self._by_key, source.include, n)
            projects = m.scope_projects if scope_applies(source) else source.projects
            if source.issues:
                _file(self._by_key, source.issues, n)
            elif source.epics:
                _file(self._by_epic, source.epics, n)
            elif projects:
                _file(self._by_project, projects, n)
            elif source.has_selector():
                self._everywhere.append(n)
            # else: no selector and no team project selects nothing but its `include`

    def candidates(self, issue: IssueSnapshot, also: Iterable[str] = ()) -> list[KrMatcher]:
        """The matchers that may select `issue`, plus those of the KR keys in `also` (the KRs
        it is linked to, which may have to let it go), in `matchers`' order."""
        found: set[int] = set(self._everywhere)
        _found(found, self._by_key, issue.key)
        if issue.epic is not None:
            _found(found, self._by_epic, issue.epic)
        _found(found, self._by_project, issue.project)
        found.update(n for kr in also if (n := self._position.get(kr)) is not None)
        return [self.matchers[n] for n in sorted(found)]


def _file(table: dict[str, int | list[int]], values: Iterable[str], n: int) -> None:
    for value in values:
        key = value if value.isupper() else value.upper()  # keeps the declared string
        there = table.get(key)
        if there is None:
            table[key] = n
        elif isinstance(there, int):
            if there != n:
                table[key] = [there, n]
        elif there[-1] != n:
            there.append(n)


def _found(out: set[int], table: dict[str, int | list[int]], value: str) -> None:
    there = table.get(value.upper())
    if isinstance(there, int):
        out.add(there)
    elif there is not None:
        out.update(there)


def decide_candidates(
    index: MatcherIndex,
    issues: Iterable[IssueSnapshot],
    *,
    now: dt.datetime,
    remote: RemoteMatch | None = None,
) -> Decisions:
    """decide_scope for each issue's candidate KRs only (MatcherIndex): a KR left out decides
    False, as decide_scope would say."""
    return {
        issue.key: {
            m.kr.key: m.decide(issue, now=now, remote=remote) for m in index.candidates(issue)
        }
        for issue in issues
    }
