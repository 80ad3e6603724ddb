"""Changed issues -> snapshots, scope links and the progress of what they touch.

The webhook worker hands its batches here: snapshots are upserted (never rolled back by an older
state), each issue's KR links are re-evaluated, and the progress of the KRs it touches and of
their ancestor objectives is recorded. The sync stores pages of issues the same way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session

from okr_jira.domain.matching import (
    Decisions,
    KrMatcher,
    MatcherIndex,
    RemoteMatch,
    compile_matchers,
)
from okr_jira.domain.models import IssueSnapshot, OkrSet, PaceThresholds
from okr_jira.report.record import record_affected
from okr_jira.report.stored import declared_okrs
from okr_jira.scope.links import ScopeChange, relink
from okr_jira.storage.issues import mark_deleted, upsert_snapshots
from okr_jira.storage.okrs import mapping_errors
from okr_jira.storage.tables import utcnow


@dataclass(frozen=True)
class ScopeRules:
    """What decides scope, read once per batch: the OKRs, every sourced KR's compiled rule, and
    the index of the rules by what they select (which KRs may take a given issue)."""

    okrs: OkrSet
    matchers: list[KrMatcher]
    index: MatcherIndex
    sum_fields: frozenset[str]  # the fields field_sum KRs add up (names or ids, as declared)


# Per database: the rules last compiled, with the declaration and mapping errors they came from.
_RULES: dict[str, tuple[OkrSet, dict[str, str], ScopeRules]] = {}


def load_rules(*, session: Session) -> ScopeRules:
    # The declaration is read again only when it changed (20,000 KRs take a second to load), and
    # compiled and indexed again only when it or a mapping error changed: the worker reads the
    # rules for every batch, and one webhook should not cost as much as the site's KRs.
    okrs = declared_okrs(session)
    errors = mapping_errors(session=session)
    where = str(session.connection().engine.url)
    cached = _RULES.get(where)
    if cached is not None and cached[0] is okrs and cached[1] == errors:
        return cached[2]
    matchers = compile_matchers(okrs, errors)
    fields = frozenset(
        kr.field for o in okrs.objectives for kr in o.key_results
        if kr.kind == "field_sum" and kr.field
    )  # fmt: skip
    rules = ScopeRules(okrs, matchers, MatcherIndex(matchers), fields)
    _RULES[where] = (okrs, errors, rules)
    return rules


def apply_issue_changes(
    *,
    session: Session,
    snapshots: Sequence[IssueSnapshot],
    thresholds: PaceThresholds,
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
    stored = upsert_snapshots(session=session, snapshots=snapshots, now=at)
    gone = mark_deleted(session=session, keys=deleted_keys, now=at)
    # A touched issue (only `updated` moved: a comment, okr-jira's own remote link) is decided
    # again, but changes no KR it stays in: no progress is recorded for it.
    change = relink(
        session=session, matchers=rules.matchers, issues=[*stored.applied, *gone], now=at,
        remote=remote_match, reason=reason, decided=decided, quiet=stored.touched,
        index=rules.index,
    )  # fmt: skip
    change.stale = stored.stale
    change.recorded = record_affected(
        session=session, okrs=rules.okrs, krs=change.krs, now=at, reason=reason,
        thresholds=thresholds,
    )  # fmt: skip
    return change
