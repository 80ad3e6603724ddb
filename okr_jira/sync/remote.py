"""JQL only Jira can answer (`text ~`, functions, relative dates): asked with as few searches as
possible, keys only.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from okr_jira.adapters.jira import JiraAdapter, JiraError
from okr_jira.adapters.jira_fields import epic_clause
from okr_jira.domain.matching import KrMatcher, RemoteMatch
from okr_jira.domain.models import IssueSnapshot, KeyResult
from okr_jira.domain.selectors import jql_value, source_to_jql
from okr_jira.sync.plan import KEY_LIST_MAX, REFUSED, SyncPlan, key_list

log = logging.getLogger(__name__)


def ask_remote(
    jira: JiraAdapter, plan: SyncPlan, candidates: Mapping[str, set[str]], *, restrict: bool
) -> dict[str, set[str]]:
    """Which candidates each remote KR selects, as Jira answers.

    One keys-only search for the OR of the KRs' queries answers every issue that only one of
    them could select (local conditions already ruled the others out); KRs sharing an issue that
    matched are asked one by one. `restrict` limits the search to the candidates' keys
    (incremental); a full sync searches the queries as they are.
    """
    krs = [k for k in sorted(plan.remote) if candidates.get(k) and k in plan.queries]
    out: dict[str, set[str]] = {k: set() for k in krs}
    if not krs:
        return out
    every = sorted(set().union(*(candidates[k] for k in krs)))
    restricted = restrict and len(every) <= KEY_LIST_MAX
    combined = " OR ".join(f"({plan.queries[k]})" for k in krs)
    jql = f"key in ({key_list(every)}) AND ({combined})" if restricted else combined
    hits = {k.upper() for k in jira.search_keys(jql)}
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
            query = f"key in ({key_list(sorted(keys))}) AND ({query})"
        out[kr] |= {k.upper() for k in jira.search_keys(query)} & keys
    return out


def full_remote(
    jira: JiraAdapter,
    plan: SyncPlan,
    found: Mapping[str, set[str]],
) -> dict[str, set[str]]:
    """Members of every remote KR among the candidates a full sync found in what it read
    (sync/members.py)."""
    candidates = {kr: found.get(kr, set()) for kr in plan.remote}
    try:
        return ask_remote(jira, plan, candidates, restrict=False)
    except JiraError as exc:
        if exc.status not in REFUSED:
            raise
    # One of the queries is refused (they all passed the union a moment ago): ask one by one.
    out: dict[str, set[str]] = {}
    for kr in sorted(plan.remote):
        try:
            out.update(ask_remote(jira, plan, {kr: candidates[kr]}, restrict=False))
        except JiraError as exc:
            if exc.status not in REFUSED:
                raise
            plan.errors[kr] = exc.message
    return out


def remote_matcher(jira: JiraAdapter, matchers: Sequence[KrMatcher]) -> RemoteMatch | None:
    """For the webhook worker: asks Jira whether one issue matches one KR whose JQL only Jira
    answers (one keys-only search per question); None when no KR needs it."""
    queries: dict[str, str] = {}
    clause = None
    for m in matchers:
        if m.kr.source is None or m.local:
            continue
        clause = clause or epic_clause(jira.flavor)
        try:
            queries[m.kr.key] = source_to_jql(
                m.kr.source, scope_projects=m.scope_projects, epic_clause=clause
            )
        except ValueError:
            continue
    if not queries:
        return None

    def ask(kr: KeyResult, issue: IssueSnapshot) -> bool | None:
        jql = queries.get(kr.key)
        if jql is None:
            return False
        try:
            return bool(jira.search_keys(f"({jql}) AND key = {jql_value(issue.key)}"))
        except JiraError as exc:
            # Undecided: the link stays as it is, and the next sync settles it.
            log.warning(
                "inbox.remote_match_failed",
                extra={"kr": kr.key, "issue": issue.key, "status": exc.status},
            )
            return None

    return ask
