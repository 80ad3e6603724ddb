"""Progress into the history: the whole tree (sync, daily and weekly snapshots, the review), or
only what a change touched (webhooks).
"""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session

from okr_jira.domain import pace
from okr_jira.domain.models import (
    Cycle,
    KrProgress,
    ObjectiveNode,
    OkrSet,
    PaceStatus,
    PaceThresholds,
)
from okr_jira.domain.report import CycleReport
from okr_jira.domain.rollup import build_tree, iter_nodes
from okr_jira.report.evaluate import kr_states
from okr_jira.storage.progress import progress_as_of, record_progress


def objective_scope(node: ObjectiveNode) -> float | None:
    """An objective's scope in its chart: the issues of its own key results (None without)."""
    issues = sum(state.issues_total for _, state in node.key_results)
    return float(issues) if issues else None


def record_report(*, session: Session, report: CycleReport, reason: str = "sync") -> int:
    """Store one progress point per KR and objective of the report; returns rows written."""
    written = 0
    at = report.generated_at
    for node in report.all_nodes():
        record_progress(
            session=session, kind="objective", subject=node.objective.key,
            cycle=report.cycle.key, progress=node.progress, status=report.status(node.progress),
            scope=objective_scope(node), reason=reason, at=at,
        )  # fmt: skip
        written += 1
        for kr, state in node.key_results:
            record_progress(
                session=session, kind="kr", subject=kr.key, cycle=report.cycle.key,
                progress=state.progress, current=state.current,
                status=report.status(state.progress),
                issues=(state.issues_total, state.issues_done, state.issues_in_progress),
                scope=state.scope, reason=reason, at=at,
            )  # fmt: skip
            written += 1
    return written


def record_affected(
    *,
    session: Session,
    okrs: OkrSet,
    krs: set[str],
    now: dt.datetime,
    thresholds: PaceThresholds,
    reason: str = "sync",
) -> int:
    """Record progress of `krs` and their ancestor objectives, computing only what is needed.

    KRs not affected reuse their last recorded progress, so one webhook costs a few queries, not
    a recomputation of the whole cycle.
    """
    if not krs:
        return 0
    cycles = {o.cycle for o in okrs.objectives if any(kr.key in krs for kr in o.key_results)}
    cycle_rows = {c.key: c for c in okrs.cycles}
    written = 0
    for cycle_key in cycles:
        objectives = [o for o in okrs.objectives if o.cycle == cycle_key]
        all_krs = [kr for o in objectives for kr in o.key_results]
        affected = [kr for kr in all_krs if kr.key in krs]
        live = kr_states(session=session, okrs=okrs, krs=affected)
        others = [kr.key for kr in all_krs if kr.key not in krs]
        last = progress_as_of(session=session, kind="kr", subjects=others, until=now)
        missing = [kr for kr in all_krs if kr.key not in krs and kr.key not in last]
        states: dict[str, KrProgress] = dict(live)
        states.update(kr_states(session=session, okrs=okrs, krs=missing))
        for key, row in last.items():
            states[key] = KrProgress(
                key=key, progress=row.progress, current=row.current,
                issues_total=row.issues_total, scope=row.scope,
            )  # fmt: skip
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

        def status(progress: float, cycle: Cycle | None = cycle) -> PaceStatus | None:
            if cycle is None:
                return None
            return pace.pace_status(progress, cycle, now.date(), thresholds)

        for node in iter_nodes(nodes):
            if node.objective.key in touched:
                record_progress(
                    session=session, kind="objective", subject=node.objective.key,
                    cycle=cycle_key, progress=node.progress, status=status(node.progress),
                    scope=objective_scope(node), reason=reason, at=now,
                )  # fmt: skip
                written += 1
        for kr in affected:
            st = live[kr.key]
            record_progress(
                session=session, kind="kr", subject=kr.key, cycle=cycle_key,
                progress=st.progress, current=st.current, status=status(st.progress),
                issues=(st.issues_total, st.issues_done, st.issues_in_progress),
                scope=st.scope, reason=reason, at=now,
            )  # fmt: skip
            written += 1
    return written
