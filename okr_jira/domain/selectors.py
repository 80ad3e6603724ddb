"""Which issue snapshots a KR's ``Source`` selects, evaluated locally, and the JQL that asks Jira.

Semantics (the same in ``matches``, ``select``, ``IssueIndex.select`` and ``source_to_jql``):

* the selectors present are ANDed: projects, epics (the issue's parent epic), issues (keys), labels
  (any of), components (any of), issue_types, fix_versions (any of), jql (``jql_match(issue)``);
* ``scope_projects`` (the team's Jira projects) applies only when the source names no project
  itself: no ``projects``, ``issues``, ``epics`` and no ``jql``;
* a source with no selector selects every issue of ``scope_projects``, or nothing without a scope
  (never "all of Jira");
* ``include`` keys are added, then ``exclude`` keys removed (exclude wins); deleted snapshots are
  never selected.

Case, as Jira compares: issue and project keys, issue types, components and versions ignore case;
labels are case-sensitive.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from okr_jira.domain.models import IssueSnapshot, OkrSet, Source

JqlMatch = Callable[[IssueSnapshot], bool]


def matches(
    source: Source,
    issue: IssueSnapshot,
    *,
    scope_projects: Sequence[str] = (),
    jql_match: JqlMatch | None = None,
) -> bool:
    """Whether ``source`` selects ``issue``. ValueError if the source has jql but no evaluator."""
    return _Compiled.of(source, scope_projects, jql_match).matches(issue)


def select(
    source: Source,
    issues: Iterable[IssueSnapshot],
    *,
    scope_projects: Sequence[str] = (),
    jql_match: JqlMatch | None = None,
) -> list[IssueSnapshot]:
    """The snapshots ``source`` selects, in input order. For many sources, use ``IssueIndex``."""
    compiled = _Compiled.of(source, scope_projects, jql_match)
    return [issue for issue in issues if compiled.matches(issue)]


@dataclass(frozen=True, slots=True)
class _Compiled:
    """A source with its values normalised once, so matching one snapshot is a few set lookups."""

    projects: frozenset[str] | None
    epics: frozenset[str] | None
    keys: frozenset[str] | None
    labels: frozenset[str] | None
    components: frozenset[str] | None
    issue_types: frozenset[str] | None
    fix_versions: frozenset[str] | None
    jql_match: JqlMatch | None
    include: frozenset[str]
    exclude: frozenset[str]
    selects_nothing: bool

    @classmethod
    def of(
        cls, source: Source, scope_projects: Sequence[str], jql_match: JqlMatch | None
    ) -> _Compiled:
        if source.jql and jql_match is None:
            raise ValueError("source has jql: pass jql_match to evaluate it")
        projects = source.projects
        if scope_applies(source):
            projects = tuple(scope_projects)
        return cls(
            projects=_upper(projects),
            epics=_upper(source.epics),
            keys=_upper(source.issues),
            labels=frozenset(source.labels) or None,
            components=_fold(source.components),
            issue_types=_fold(source.issue_types),
            fix_versions=_fold(source.fix_versions),
            jql_match=jql_match if source.jql else None,
            include=_upper(source.include) or frozenset(),
            exclude=_upper(source.exclude) or frozenset(),
            selects_nothing=not source.has_selector() and not scope_projects,
        )

    def matches(self, issue: IssueSnapshot) -> bool:
        if issue.deleted:
            return False
        key = issue.key.upper()
        if key in self.exclude:
            return False
        if key in self.include:
            return True
        if self.selects_nothing:
            return False
        if self.projects is not None and issue.project.upper() not in self.projects:
            return False
        if self.keys is not None and key not in self.keys:
            return False
        if self.epics is not None and (issue.epic is None or issue.epic.upper() not in self.epics):
            return False
        if self.labels is not None and self.labels.isdisjoint(issue.labels):
            return False
        if self.components is not None and self.components.isdisjoint(
            c.casefold() for c in issue.components
        ):
            return False
        if self.issue_types is not None and issue.issue_type.casefold() not in self.issue_types:
            return False
        if self.fix_versions is not None and self.fix_versions.isdisjoint(
            v.casefold() for v in issue.fix_versions
        ):
            return False
        return self.jql_match is None or self.jql_match(issue)


class IssueIndex:
    """Snapshots indexed once by key, project, epic, label, component, type and fix version.

    ``select`` intersects the candidate sets of the selectors present (in C, smallest first), so a
    KR costs about the size of its narrowest selector, not the number of snapshots. Only a source
    whose sole narrowing selector is ``jql`` walks all candidates through ``jql_match``.
    Deleted snapshots are left out; when a key repeats, the last snapshot wins.
    """

    def __init__(self, snapshots: Iterable[IssueSnapshot]) -> None:
        latest: dict[str, IssueSnapshot] = {}
        for snapshot in snapshots:
            latest[snapshot.key.upper()] = snapshot
        self.snapshots: list[IssueSnapshot] = [s for s in latest.values() if not s.deleted]
        self._by_key: dict[str, int] = {}
        # Lists while building (append is cheaper than add), sets for lookups.
        projects: defaultdict[str, list[int]] = defaultdict(list)
        epics: defaultdict[str, list[int]] = defaultdict(list)
        labels: defaultdict[str, list[int]] = defaultdict(list)
        components: defaultdict[str, list[int]] = defaultdict(list)
        types: defaultdict[str, list[int]] = defaultdict(list)
        versions: defaultdict[str, list[int]] = defaultdict(list)
        for i, s in enumerate(self.snapshots):
            self._by_key[s.key.upper()] = i
            projects[s.project.upper()].append(i)
            if s.epic is not None:
                epics[s.epic.upper()].append(i)
            for label in s.labels:
                labels[label].append(i)
            for component in s.components:
                components[component.casefold()].append(i)
            types[s.issue_type.casefold()].append(i)
            for version in s.fix_versions:
                versions[version.casefold()].append(i)
        self._by_project = _sets(projects)
        self._by_epic = _sets(epics)
        self._by_label = _sets(labels)
        self._by_component = _sets(components)
        self._by_type = _sets(types)
        self._by_version = _sets(versions)
        self._all: frozenset[int] = frozenset(range(len(self.snapshots)))

    def __len__(self) -> int:
        return len(self.snapshots)

    def get(self, key: str) -> IssueSnapshot | None:
        """The live snapshot with this key (any case), or None."""
        i = self._by_key.get(key.upper())
        return None if i is None else self.snapshots[i]

    def select(
        self,
        source: Source,
        *,
        scope_projects: Sequence[str] = (),
        jql_match: JqlMatch | None = None,
    ) -> list[IssueSnapshot]:
        """Same result as ``select(source, snapshots, ...)``, in index (input) order."""
        compiled = _Compiled.of(source, scope_projects, jql_match)
        found: set[int] = set()
        if not compiled.selects_nothing:
            candidates = self._candidates(compiled)
            if compiled.jql_match is not None:
                match = compiled.jql_match
                found = {i for i in candidates if match(self.snapshots[i])}
            else:
                found = candidates
        for key in compiled.include:
            i = self._by_key.get(key)
            if i is not None:
                found.add(i)
        for key in compiled.exclude:
            found.discard(self._by_key.get(key, -1))
        return list(map(self.snapshots.__getitem__, sorted(found)))

    def _candidates(self, c: _Compiled) -> set[int]:
        """A new set of the snapshots every present selector admits (before jql/include/exclude)."""
        # Per selector, the member sets of its values (any of them); absent selectors are skipped.
        keys = None if c.keys is None else [{self._by_key[k] for k in c.keys if k in self._by_key}]
        selectors = [
            groups
            for groups in (
                keys,
                _members(self._by_project, c.projects),
                _members(self._by_epic, c.epics),
                _members(self._by_label, c.labels),
                _members(self._by_component, c.components),
                _members(self._by_type, c.issue_types),
                _members(self._by_version, c.fix_versions),
            )
            if groups is not None
        ]
        if not selectors:
            return set(self._all)
        # Start from the narrowest selector; never materialise the union of a wide one.
        selectors.sort(key=lambda groups: sum(map(len, groups)))
        found: set[int] = set().union(*selectors[0])
        for groups in selectors[1:]:
            if not found:
                break
            if len(groups) == 1:
                found &= groups[0]
            else:
                found = set().union(*(found & group for group in groups))
        return found


def _sets(lists: dict[str, list[int]]) -> dict[str, set[int]]:
    return {value: set(members) for value, members in lists.items()}


def _members(index: dict[str, set[int]], values: frozenset[str] | None) -> list[set[int]] | None:
    """The member sets of ``values`` (read-only); None when the selector is absent."""
    if values is None:
        return None
    return [index[v] for v in values if v in index]


def scope_applies(source: Source) -> bool:
    """The team's projects limit a source that names no projects, issues, epics or JQL."""
    return not (source.projects or source.issues or source.epics or source.jql)


def _upper(values: Iterable[str]) -> frozenset[str] | None:
    return frozenset(v.upper() for v in values) or None


def _fold(values: Iterable[str]) -> frozenset[str] | None:
    return frozenset(v.casefold() for v in values) or None


# --- JQL

# Words JQL reserves: a value equal to one of them must be quoted.
_JQL_RESERVED_WORDS = """
    a an abort access add after alias all alter and any are as asc at audit avg be before begin
    between boolean break but by byte catch cf char character check checkpoint collate collation
    column commit connect continue count create current date decimal declare decrement default
    defaults define delete delimiter desc difference distinct divide do double drop else empty
    encoding end equals escape exclusive exec execute exists explain false fetch file field first
    float for from function go goto grant greater group having identified if immediate in increment
    index initial inner inout input insert int integer intersect intersection into is isempty isnull
    join last left less like limit lock long max min minus mode modify modulo more multiply next
    noaudit not notin nowait null number object of on option or order outer output power previous
    prior privileges public raise raw remainder rename resource return returns revoke right row
    rowid rownum rows select session set share size sqrt start strict string subtract sum synonym
    table then to trans transaction trigger true uid union unique update user validate values view
    when whenever where while with"""
_JQL_RESERVED = frozenset(_JQL_RESERVED_WORDS.split())
_BARE_VALUE = re.compile(r"[A-Za-z0-9_]+(?:-[A-Za-z0-9_]+)*")
_FIELD_REF = re.compile(r"[A-Za-z0-9_]+|cf\[\d+\]")
_ORDER_BY = re.compile(r"\border\s+by\b", re.IGNORECASE)


def jql_value(value: str) -> str:
    """A JQL literal: bare when safe (SUP, SUP-12, crash), else double-quoted with \\ escapes."""
    if _BARE_VALUE.fullmatch(value) and value.casefold() not in _JQL_RESERVED:
        return value
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    escaped = escaped.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    return f'"{escaped}"'


def _jql_field(name: str) -> str:
    """A field reference: bare (parent, cf[10006]) or quoted ("Epic Link")."""
    return name if _FIELD_REF.fullmatch(name) else jql_value(name)


def source_to_jql(
    source: Source, *, scope_projects: Sequence[str] = (), epic_clause: str = "parent"
) -> str:
    """The JQL that selects exactly what ``select`` selects (deleted issues are gone from Jira).

    ``epic_clause`` is the field naming an issue's epic: ``parent`` on Cloud, ``"Epic Link"`` on
    Data Center. A raw ``jql`` is parenthesised (its ORDER BY dropped) and ANDed. Raises ValueError
    for a source that selects nothing: an empty JQL would ask Jira for every issue.
    """
    clauses: list[str] = []
    projects = tuple(scope_projects) if scope_applies(source) else source.projects
    for field, values in (
        ("project", projects),
        (_jql_field(epic_clause), source.epics),
        ("key", source.issues),
        ("labels", source.labels),
        ("component", source.components),
        ("issuetype", source.issue_types),
        ("fixVersion", source.fix_versions),
    ):
        if values:
            clauses.append(f"{field} in ({', '.join(jql_value(v) for v in values)})")
    if source.jql:
        clauses.append(f"({strip_order_by(source.jql)})")
    jql = " AND ".join(clauses)
    if source.include:
        included = f"key in ({', '.join(jql_value(k) for k in source.include)})"
        jql = f"({jql}) OR {included}" if jql else included
    if not jql:
        raise ValueError("source selects no issues: name a selector, a team project or include")
    if source.exclude:
        excluded = f"key not in ({', '.join(jql_value(k) for k in source.exclude)})"
        # Only the OR of include needs parentheses; the rest is a chain of ANDs.
        jql = f"({jql}) AND {excluded}" if source.include else f"{jql} AND {excluded}"
    return jql


def strip_order_by(jql: str) -> str:
    """``jql`` without its ORDER BY clause (outside quotes), which cannot be parenthesised."""
    in_quote: str | None = None
    escaped = False
    cut = len(jql)
    for i, char in enumerate(jql):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif in_quote:
            if char == in_quote:
                in_quote = None
        elif char in "\"'":
            in_quote = char
        elif _ORDER_BY.match(jql, i) and (i == 0 or not jql[i - 1].isalnum()):
            cut = i
            break
    return jql[:cut].strip()


def mapped_projects(okrs: OkrSet) -> list[str]:
    """Every Jira project the OKRs read: the teams' projects, and those sources name (directly or
    by an issue or epic key), upper-case and sorted."""
    projects = {p.upper() for t in okrs.teams for p in t.jira_projects if p}
    for objective in okrs.objectives:
        for kr in objective.key_results:
            source = kr.source
            if source is None:
                continue
            projects.update(p.upper() for p in source.projects if p)
            keys = (*source.epics, *source.issues, *source.include)
            projects.update(k.rsplit("-", 1)[0].upper() for k in keys if "-" in k)
    return sorted(projects)
