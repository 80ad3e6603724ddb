"""What a key result's source would select now, and how its progress would move: the mapping
editor's live preview, and the check a source passes before it is saved.

Decided like a sync decides: selectors and JQL the stored issues answer exactly are evaluated here
over the snapshots (domain.selectors, the JQL evaluator); JQL only Jira answers is asked of Jira in
one keys-only search. Nothing is saved by a preview.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

from sqlmodel import Session

from okr_jira.adapters.jira import JiraAdapter, JiraError
from okr_jira.adapters.jira_fields import epic_clause
from okr_jira.domain.matching import compile_matchers
from okr_jira.domain.models import (
    IssueSnapshot,
    KeyResult,
    KrProgress,
    OkrSet,
    PaceThresholds,
    Source,
)
from okr_jira.domain.progress import compute_kr_progress
from okr_jira.domain.rollup import sort_key
from okr_jira.domain.selectors import select, source_to_jql
from okr_jira.domain.snapshot_view import SnapshotView
from okr_jira.errors import NotFoundError
from okr_jira.okrs.edit import Edited, EditError, declared, set_source
from okr_jira.report.evaluate import kr_states
from okr_jira.storage import state
from okr_jira.storage.issues import candidate_snapshots, snapshots
from okr_jira.storage.links import open_links
from okr_jira.storage.tables import utcnow

REFUSED = (400, 403, 404)  # Jira's answers to JQL it will not run


@dataclass(frozen=True)
class Preview:
    kr: str
    kr_value: KeyResult  # the key result with the previewed source
    jql: str
    issues: list[str]  # keys selected, natural order
    snapshots: list[IssueSnapshot]  # the stored ones among them
    answered_by: str  # "okr-jira" (stored issues) or "jira"
    now: KrProgress
    after: KrProgress
    added: list[str]
    removed: list[str]
    warnings: list[str]


def preview_source(
    session: Session,
    kr_key: str,
    source: Source,
    *,
    jira: JiraAdapter | None,
    now: dt.datetime | None = None,
) -> Preview:
    """The selection and progress of `kr_key` with `source`; EditError naming `source.jql` (our
    parser's words, or Jira's for JQL only Jira answers) when it cannot be answered."""
    moment = now or utcnow()
    okrs = declared(session)
    found = [(o, kr) for o in okrs.objectives for kr in o.key_results if kr.key == kr_key]
    if not found:
        raise NotFoundError(f"key result '{kr_key}' does not exist")
    objective, kr = found[0]
    if kr.kind == "manual":
        raise EditError([("source", "a manual key result takes no source: it is checked in")])
    teams = {t.key: t for t in okrs.teams}
    scope = teams[objective.team].jira_projects if objective.team in teams else ()
    new_kr = dataclasses.replace(kr, source=source)
    single = OkrSet(
        objectives=(dataclasses.replace(objective, key_results=(new_kr,)),), teams=okrs.teams
    )
    matcher = compile_matchers(single)[0]
    facts = state.SITE_FACTS.get(session=session) or {}
    flavor = facts.get("flavor") or (jira.flavor if jira is not None else None)
    try:
        jql = source_to_jql(source, scope_projects=scope, epic_clause=epic_clause(flavor))
    except ValueError as exc:
        raise EditError([("source", str(exc))]) from None
    warnings: list[str] = []
    if matcher.local:
        query = matcher.query
        candidates = candidate_snapshots(
            session=session, projects=_narrowing(source, scope), keys=source.include
        )
        selected = select(
            source,
            candidates,
            scope_projects=scope,
            jql_match=(lambda s: query.matches(SnapshotView(s), now=moment)) if query else None,
        )
        keys, answered_by = [s.key for s in selected], "okr-jira"
    else:
        keys = _ask_jira(jira, jql, matcher.parse_error)
        stored = snapshots(session=session, keys=keys)
        selected = [stored[k] for k in keys if k in stored and not stored[k].deleted]
        missing = len(keys) - len(selected)
        if missing:
            warnings.append(
                f"{missing} of the {len(keys)} issues Jira selects are not synced yet; "
                "they count from the next sync"
            )
        answered_by = "jira"
    keys = sorted(set(keys), key=sort_key)
    current = open_links(session=session, krs=[kr_key]).get(kr_key, set())
    before = kr_states(session=session, okrs=okrs, krs=[kr])[kr_key]
    after = compute_kr_progress(new_kr, selected, field_id=new_kr.field)
    return Preview(
        kr=kr_key,
        kr_value=new_kr,
        jql=jql,
        issues=keys,
        snapshots=sorted(selected, key=lambda s: sort_key(s.key)),
        answered_by=answered_by,
        now=before,
        after=after,
        added=sorted(set(keys) - current, key=sort_key),
        removed=sorted(current - set(keys), key=sort_key),
        warnings=[*warnings, *after.warnings],
    )


def save_source(
    session: Session,
    kr_key: str,
    source: Source,
    *,
    jira: JiraAdapter | None,
    actor: str,
    thresholds: PaceThresholds,
) -> Edited:
    """Check the source as the preview does (a source Jira or our parser refuses is not saved),
    then store it, audited."""
    preview_source(session, kr_key, source, jira=jira)
    return set_source(session, kr_key, source, actor=actor, thresholds=thresholds)


def _narrowing(source: Source, scope: tuple[str, ...]) -> list[str] | None:
    """The projects every selected issue is in (None: any project), so only those are read;
    `include` keys are read besides."""
    if source.projects:
        return list(source.projects)
    if source.issues:
        return sorted({k.rsplit("-", 1)[0] for k in source.issues if "-" in k})
    if not (source.epics or source.jql):
        return list(scope)  # the team's projects, or none: only `include` is selected
    return None


def _ask_jira(jira: JiraAdapter | None, jql: str, parse_error: str | None) -> list[str]:
    if jira is None:
        reason = parse_error or "this JQL needs Jira to answer it (text search, functions, ...)"
        raise EditError([("source.jql", f"{reason}; Jira is not configured here")])
    try:
        return [k.upper() for k in jira.search_keys(jql)]
    except JiraError as exc:
        if exc.status in REFUSED:
            raise EditError([("source.jql", f"Jira: {exc.message}")]) from None
        raise
