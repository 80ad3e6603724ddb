"""Planning a sync: the JQL each KR asks Jira, which of it only Jira can answer, which fields.

Our parser answers most JQL from the stored snapshots; what it refuses, Jira judges (its words are
what the admin needs), and what it accepts but cannot answer exactly is marked remote.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from okr_jira.adapters.jira import JiraAdapter
from okr_jira.adapters.jira_fields import FieldMap, epic_clause
from okr_jira.domain.matching import KrMatcher
from okr_jira.domain.selectors import jql_value, scope_applies, source_to_jql
from okr_jira.storage.codec import source_to_json

KEY_LIST_MAX = 500  # keys in one JQL `key in (...)` clause
# Above this many distinct KR queries, the union is shortened (SyncPlan.union): thousands of KRs
# would otherwise make a JQL Jira evaluates clause by clause for every issue of the site.
UNION_MAX = 1_000
_SINGLE_IN = re.compile(r'^(\w+|"[^"()]+") in \(([^()]*)\)$')
REFUSED = (400, 403, 404)  # Jira's answers to JQL it will not run


@dataclass
class SyncPlan:
    """What the KRs ask Jira for."""

    queries: dict[str, str]  # kr -> JQL
    numbers: dict[str, str]  # field name used by a KR -> field id
    errors: dict[str, str]
    remote: set[str]  # KRs whose JQL only Jira can answer
    sources: dict[str, str] = field(default_factory=dict)  # kr -> source JSON planned with
    summed: dict[str, str] = field(default_factory=dict)  # kr -> field name it sums
    # kr -> the projects its JQL is limited to (a `project in` clause ANDed, no include)
    bounds: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def union(self) -> str:
        """One JQL for every KR's issues: each issue is read once. With more than UNION_MAX
        distinct queries it is shortened: the KRs limited to projects read those projects whole
        (their issues are then judged locally, as always), and `field in (...)` queries on the
        same field are merged into one clause."""
        distinct = list(dict.fromkeys(self.queries.values()))
        if len(distinct) <= UNION_MAX:
            return " OR ".join(f"({q})" for q in distinct)
        projects = dict.fromkeys(self.wide_projects())
        merged: dict[str, dict[str, None]] = {}
        rest: dict[str, None] = {}
        for kr, jql in self.queries.items():
            if self.bounds.get(kr) and kr not in self.remote:
                continue
            single = _SINGLE_IN.match(jql)
            if single:
                values = (v.strip() for v in single.group(2).split(","))
                merged.setdefault(single.group(1), {}).update(dict.fromkeys(values))
            else:
                rest[jql] = None
        parts = []
        if projects:
            parts.append(f"project in ({key_list(list(projects))})")
        parts += [f"{name} in ({', '.join(values)})" for name, values in merged.items()]
        parts += [f"({q})" for q in rest]
        return " OR ".join(parts)

    def wide_projects(self) -> list[str]:
        """The projects the union reads whole (none unless it is shortened)."""
        if len(set(self.queries.values())) <= UNION_MAX:
            return []
        out: dict[str, None] = {}
        for kr in self.queries:
            if kr not in self.remote:
                out.update(dict.fromkeys(self.bounds.get(kr, ())))
        return list(out)

    def set_aside(self, kr: str, error: str) -> None:
        """Mark a KR's mapping as broken: it keeps its last known scope."""
        self.errors[kr] = error
        self.queries.pop(kr, None)
        self.remote.discard(kr)


def make_plan(
    jira: JiraAdapter,
    matchers: list[KrMatcher],
    *,
    check: bool = True,
    known_errors: dict[str, str] | None = None,
) -> SyncPlan:
    """Each KR's JQL. `check`: ask Jira about JQL our parser refuses (else trust the errors
    stored by the last full sync, to keep incremental syncs at a request or two). Field ids are
    resolved later, by `request_fields`, once the site's field map is known."""
    known_errors = known_errors or {}
    epic_field = epic_clause(jira.flavor)
    plan = SyncPlan({}, {}, {}, set())
    for m in matchers:
        kr = m.kr
        assert kr.source is not None
        plan.sources[kr.key] = source_to_json(kr.source)
        if kr.kind == "field_sum" and kr.field:
            plan.summed[kr.key] = kr.field
        try:
            jql = source_to_jql(kr.source, scope_projects=m.scope_projects, epic_clause=epic_field)
        except ValueError as exc:
            plan.errors[kr.key] = str(exc)
            continue
        if m.parse_error:
            # Our parser refused it. Jira decides: its words are what the admin needs, and what
            # it accepts (a clause we do not know) it answers itself.
            message = jira.check_jql(jql) if check else known_errors.get(kr.key)
            if message is None:
                plan.remote.add(kr.key)
                plan.queries[kr.key] = jql
            else:
                plan.errors[kr.key] = message
            continue
        if not m.local:
            plan.remote.add(kr.key)
        plan.queries[kr.key] = jql
        projects = m.scope_projects if scope_applies(kr.source) else kr.source.projects
        if projects and not kr.source.include:
            plan.bounds[kr.key] = tuple(projects)
    return plan


def request_fields(plan: SyncPlan, fmap: FieldMap) -> list[str]:
    """The fields to ask Jira for; KRs summing a field the site lacks are set aside."""
    for kr, name in plan.summed.items():
        if kr in plan.errors:
            continue
        fid = fmap.resolve(name)
        if fid is None:
            plan.set_aside(kr, f"Field '{name}' does not exist in Jira.")
        else:
            plan.numbers[name] = fid
    return fmap.request_fields(plan.numbers.values())


def find_bad_queries(jira: JiraAdapter, plan: SyncPlan) -> None:
    """Jira refused the union: ask about each KR's query and set the refused ones aside."""
    for kr, jql in list(plan.queries.items()):
        message = jira.check_jql(jql)
        if message is not None:
            plan.set_aside(kr, message)


def key_list(keys: list[str] | set[str] | tuple[str, ...]) -> str:
    return ", ".join(jql_value(k) for k in keys)
