"""Planning a claimed batch before any write: parse the payloads, keep each issue's newest state,
decide its scope. Reads only, so SQLite's write lock is taken after all of this.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlmodel import Session

from okr_jira.adapters.jira_fields import FieldMap, field_map, parse_issue
from okr_jira.domain.matching import Decisions, KrMatcher, RemoteMatch, decide_candidates
from okr_jira.domain.models import IssueSnapshot
from okr_jira.scope.changes import ScopeRules, load_rules
from okr_jira.storage import state
from okr_jira.storage.inbox import Event

log = logging.getLogger(__name__)

DELETED_EVENT = "jira:issue_deleted"
RemoteFor = Callable[[Sequence[KrMatcher]], RemoteMatch | None]


@dataclass
class IssueGroup:
    """The events of one issue in a batch, and the state they leave it in."""

    key: str
    events: list[Event]
    snapshot: IssueSnapshot | None = None  # newest state, unless the newest event is a delete
    deleted: bool = False
    moved_from: list[str] = field(default_factory=list)  # old keys of a moved issue
    newest: Event | None = None
    stale_reason: str | None = None
    error: str | None = None
    stored_jira_id: str | None = None  # the Jira id on the stored snapshot, if any


@dataclass
class BatchPlan:
    """A claimed batch, parsed and decided: what the write transactions need."""

    at: dt.datetime
    rules: ScopeRules
    decided: Decisions
    remote: RemoteMatch | None
    links: list[Event]
    groups: list[IssueGroup]

    def parts(self, size: int | None) -> list[tuple[list[Event], list[IssueGroup]]]:
        """(link events, issue groups) per write transaction: all at once, or about `size`
        issues each. The keys of one Jira issue (a moved issue's old and new key) stay in one
        part, so a move and the old key's events are applied together, as in one transaction."""
        if not size or len(self.groups) <= size:
            return [(self.links, self.groups)]
        same_issue: dict[str, list[IssueGroup]] = {}
        for g in self.groups:
            jira_id = next((e.issue_id for e in g.events if e.issue_id), None)
            same_issue.setdefault(jira_id or f"key:{g.key}", []).append(g)
        chunks: list[list[IssueGroup]] = [[]]
        for together in same_issue.values():
            if len(chunks[-1]) >= size:
                chunks.append([])
            chunks[-1].extend(together)
        return [(self.links if n == 0 else [], chunk) for n, chunk in enumerate(chunks)]


def stored_field_map(*, session: Session) -> FieldMap:
    """The site's field ids as the last sync stored them, else name-only defaults.

    Story points and Epic Link are custom fields whose ids only Jira's /field knows; the worker
    gets the FieldMap from the Jira adapter when one is configured.
    """
    raw = state.JIRA_FIELDS.get(session=session)
    if raw:
        try:
            return field_map(raw)
        except (ValueError, TypeError, AttributeError):
            log.warning("inbox.fields.unreadable")
    return FieldMap()


def plan_batch(
    session: Session,
    rows: list[Event],
    fields: FieldMap | None,
    remote_for: RemoteFor,
    now: dt.datetime,
) -> BatchPlan:
    """Parse the payloads, read the rules, decide each issue's scope."""
    fmap = fields if fields is not None else stored_field_map(session=session)
    rules = load_rules(session=session)
    numbers = {name: fmap.resolve(name) or name for name in rules.sum_fields}
    groups: dict[str, IssueGroup] = {}
    links = [row for row in rows if row.issue_key is None]
    for row in rows:
        if row.issue_key is not None:
            groups.setdefault(row.issue_key, IssueGroup(row.issue_key, [])).events.append(row)
    for group in groups.values():
        _plan_group(group, fmap, numbers)
    live = [g.snapshot for g in groups.values() if g.snapshot is not None and not g.deleted]
    # Jira is asked only about the KRs that may take an issue of the batch (its candidates):
    # any other KR decides False from the snapshot alone.
    asked = {m.kr.key: m for snap in live for m in rules.index.candidates(snap)}
    remote = remote_for(list(asked.values()))
    decided = decide_candidates(rules.index, live, now=now, remote=remote)
    return BatchPlan(now, rules, decided, remote, links, list(groups.values()))


def _plan_group(group: IssueGroup, fmap: FieldMap, numbers: dict[str, str]) -> None:
    """Pick the newest event of the issue; the others are superseded by it."""
    parsed: list[tuple[tuple[Any, ...], Event, IssueSnapshot]] = []
    for row in group.events:
        try:
            issue = json.loads(row.body).get("issue") or {}
            snap = parse_issue(issue, fmap, numbers)
        except (ValueError, TypeError, AttributeError) as exc:
            group.error = f"event {row.id}: unreadable payload ({type(exc).__name__})"
            return
        if snap.key != group.key:
            snap = replace(snap, key=group.key)
        if snap.updated is None:
            # Without `updated` an event cannot be ordered against the stored issue (and would
            # blank its time): Jira's event time stands in; without that either, it is ignored.
            snap = replace(snap, updated=_from_ms(row.event_ts))
        updated = snap.updated or dt.datetime.min.replace(tzinfo=dt.UTC)
        # A delete carries the issue as it was, with the same `updated` as the last change:
        # on a tie the delete wins, then Jira's event time, then arrival order.
        version = (updated, row.event_type == DELETED_EVENT, row.event_ts or 0, row.id)
        parsed.append((version, row, snap))
    _, newest, latest = max(parsed, key=lambda item: item[0])
    group.newest = newest
    group.deleted = newest.event_type == DELETED_EVENT
    group.snapshot = latest
    if latest.updated is None:
        group.stale_reason = "no updated time (fields.updated or timestamp): the next sync reads it"


def _from_ms(value: int | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        return dt.datetime.fromtimestamp(value / 1000, dt.UTC)
    except (OverflowError, OSError, ValueError):
        return None
