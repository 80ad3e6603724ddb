"""Writing one part of a planned batch: snapshots, scope, progress, and every event's outcome,
in one transaction. An issue whose events cannot be applied becomes a dead letter; the others
proceed.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from okr_jira.domain.matching import Decisions, RemoteMatch
from okr_jira.domain.models import IssueSnapshot, PaceThresholds
from okr_jira.inbox.plan import BatchPlan, IssueGroup
from okr_jira.scope.changes import ScopeRules
from okr_jira.storage.inbox import (
    APPLIED,
    FAILED,
    IGNORED,
    Event,
    Outcome,
    begin_write,
    still_pending,
    write_outcomes,
)
from okr_jira.storage.issues import live_keys_of_jira_ids, set_jira_ids, stored_versions

log = logging.getLogger(__name__)


class ApplyChanges(Protocol):
    """The signature of okr_jira.scope.apply_issue_changes."""

    def __call__(
        self,
        *,
        session: Session,
        snapshots: Sequence[IssueSnapshot],
        thresholds: PaceThresholds,
        deleted_keys: Sequence[str] = (),
        remote_match: RemoteMatch | None = None,
        now: dt.datetime | None = None,
        rules: ScopeRules | None = None,
        decided: Decisions | None = None,
    ) -> Any: ...


@dataclass
class BatchResult:
    claimed: int = 0
    applied: int = 0
    ignored: int = 0
    failed: int = 0
    krs: set[str] = field(default_factory=set)

    def add(self, other: BatchResult) -> None:
        self.claimed += other.claimed
        self.applied += other.applied
        self.ignored += other.ignored
        self.failed += other.failed
        self.krs |= other.krs


def apply_part(
    session: Session,
    plan: BatchPlan,
    links: list[Event],
    groups: list[IssueGroup],
    result: BatchResult,
    apply: ApplyChanges,
    thresholds: PaceThresholds,
) -> None:
    """Write one part of a plan: snapshots, scope, progress and the events' outcomes."""
    begin_write(session=session)
    if session.get_bind().dialect.name == "sqlite":
        # Under the lock: drop events another worker applied since we read them. Left pending
        # or done: the next batch sees it whole.
        still = still_pending(
            session=session, ids=[r.id for r in links] + [r.id for g in groups for r in g.events]
        )
        links = [r for r in links if r.id in still]
        groups = [g for g in groups if all(r.id in still for r in g.events)]
    outcomes: list[Outcome] = []
    # Issue links do not change any KR's selection (no selector reads links).
    outcomes += [Outcome(r.id, IGNORED, "issue links do not change KR scope") for r in links]
    result.ignored += len(links)
    _check_stored(session, groups)
    live = [g for g in groups if g.error is None and g.stale_reason is None]
    try:
        with session.begin_nested():
            change = _apply_groups(session, plan, live, apply, thresholds)
        result.krs |= set(getattr(change, "krs", ()) or ())
    except OperationalError:
        raise
    except Exception as exc:
        # Find the issue(s) at fault: apply one issue at a time, each in its own savepoint.
        log.warning("inbox.batch_failed", extra={"error": type(exc).__name__, "size": len(live)})
        for group in live:
            try:
                with session.begin_nested():
                    change = _apply_groups(session, plan, [group], apply, thresholds)
                result.krs |= set(getattr(change, "krs", ()) or ())
            except OperationalError:
                raise
            except Exception as one:
                group.error = f"{type(one).__name__}: {one}"[:2000]
    for group in groups:
        outcomes += _outcomes(group, result)
    write_outcomes(session=session, outcomes=outcomes, at=plan.at)


def _check_stored(session: Session, groups: list[IssueGroup]) -> None:
    """Do not roll an issue back: skip events older than its stored state, and notice moves."""
    keys = [g.key for g in groups if g.snapshot is not None]
    if not keys:
        return
    by_id = {g.newest.issue_id: g for g in groups if g.newest is not None and g.newest.issue_id}
    stored = stored_versions(session=session, keys=keys)
    for old_key, jira_id in live_keys_of_jira_ids(session=session, ids=list(by_id)):
        group = by_id.get(jira_id or "")
        if group is not None and old_key != group.key:
            group.moved_from.append(old_key)
    for group in groups:
        assert group.snapshot is not None
        updated, deleted, group.stored_jira_id = stored.get(group.key, (None, False, None))
        new = group.snapshot.updated
        if updated is None or new is None:
            continue
        if new < updated or (deleted and not group.deleted and new <= updated):
            group.stale_reason = f"older than the stored issue (updated {updated.isoformat()})"
            group.moved_from.clear()


def _apply_groups(
    session: Session,
    plan: BatchPlan,
    groups: Sequence[IssueGroup],
    apply: ApplyChanges,
    thresholds: PaceThresholds,
) -> Any:
    snapshots = [g.snapshot for g in groups if not g.deleted and g.snapshot is not None]
    deleted = [g.key for g in groups if g.deleted]
    deleted += [old for g in groups for old in g.moved_from]
    if not snapshots and not deleted:
        return None
    change = apply(
        session=session, snapshots=snapshots, deleted_keys=deleted, remote_match=plan.remote,
        now=plan.at, rules=plan.rules, decided=plan.decided, thresholds=thresholds,
    )  # fmt: skip
    # IssueSnapshot has no Jira id; keep it on the row so a moved issue (new key, same id) is
    # recognised and its old key leaves every KR.
    set_jira_ids(
        session=session,
        ids={
            g.key: g.newest.issue_id
            for g in groups
            if not g.deleted
            and g.newest is not None
            and g.newest.issue_id
            and g.newest.issue_id != g.stored_jira_id
        },
    )
    return change


def _outcomes(group: IssueGroup, result: BatchResult) -> list[Outcome]:
    if group.error is not None:
        result.failed += len(group.events)
        log.warning(
            "inbox.failed",
            extra={"issue": group.key, "events": len(group.events), "error": group.error},
        )
        return [Outcome(r.id, FAILED, group.error) for r in group.events]
    if group.stale_reason is not None:
        result.ignored += len(group.events)
        return [Outcome(r.id, IGNORED, group.stale_reason) for r in group.events]
    assert group.newest is not None
    older = [r for r in group.events if r is not group.newest]
    result.applied += 1
    result.ignored += len(older)
    superseded = f"superseded by event {group.newest.id}"
    return [Outcome(group.newest.id, APPLIED), *(Outcome(r.id, IGNORED, superseded) for r in older)]
