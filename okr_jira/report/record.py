"""Progress into the history: the whole tree (sync, daily and weekly snapshots, the review), or
only what a change touched (webhooks).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlmodel import Session

from okr_jira.domain import pace
from okr_jira.domain.models import (
    Cycle,
    KrProgress,
    Objective,
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


@dataclass(frozen=True)
class _CycleShape:
    """A cycle's objectives as record_affected walks them: who owns each KR, each objective's
    parent and children (as build_tree links them), and whether the parents form a tree."""

    objectives: dict[str, Objective]
    position: dict[str, int]  # objective -> its place in the declaration
    owners: dict[str, str]  # KR key -> its objective
    parents: dict[str, str | None]
    children: dict[str, list[str]]
    acyclic: bool


# The shapes of the OKR set last seen (the worker's, kept while the declaration is unchanged).
_SHAPES: list[tuple[OkrSet, dict[str, _CycleShape]]] = []


def _shapes(okrs: OkrSet) -> dict[str, _CycleShape]:
    if _SHAPES and _SHAPES[0][0] is okrs:
        return _SHAPES[0][1]
    out: dict[str, _CycleShape] = {}
    for cycle_key in dict.fromkeys(o.cycle for o in okrs.objectives):
        objectives = {o.key: o for o in okrs.objectives if o.cycle == cycle_key}
        children: dict[str, list[str]] = {}
        for key, o in objectives.items():
            if o.parent is not None and o.parent in objectives and o.parent != key:
                children.setdefault(o.parent, []).append(key)
        out[cycle_key] = _CycleShape(
            objectives=objectives,
            position={key: n for n, key in enumerate(objectives)},
            owners={kr.key: o.key for o in objectives.values() for kr in o.key_results},
            parents={o.key: o.parent for o in objectives.values()},
            children=children,
            acyclic=_acyclic(objectives),
        )
    _SHAPES[:] = [(okrs, out)]
    return out


def _acyclic(objectives: dict[str, Objective]) -> bool:
    """No objective is its own ancestor (validation forbids it; build_tree copes)."""
    settled: set[str] = set()
    for start in objectives:
        path: set[str] = set()
        key: str | None = start
        while key is not None and key in objectives and key not in settled:
            if key in path:
                return False
            path.add(key)
            key = objectives[key].parent
        settled |= path
    return True


def _subtrees(shape: _CycleShape, touched: set[str]) -> list[Objective]:
    """The touched objectives and every objective under them: all the tree that a touched
    objective's progress reads (all of the cycle should its parents form a loop)."""
    if not shape.acyclic:
        return list(shape.objectives.values())
    needed: set[str] = set()
    stack = [key for key in touched if key in shape.objectives]
    while stack:
        key = stack.pop()
        if key not in needed:
            needed.add(key)
            stack.extend(shape.children.get(key, ()))
    return [shape.objectives[key] for key in sorted(needed, key=shape.position.__getitem__)]


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
    shapes = _shapes(okrs)
    cycles = {c for c, shape in shapes.items() if any(kr in shape.owners for kr in krs)}
    cycle_rows = {c.key: c for c in okrs.cycles}
    written = 0
    for cycle_key in cycles:
        shape = shapes[cycle_key]
        owners, parents = shape.owners, shape.parents
        touched: set[str] = set()
        for kr_key in krs:
            obj: str | None = owners.get(kr_key)
            while obj is not None and obj not in touched:
                touched.add(obj)
                obj = parents.get(obj)
        # Only the trees of the touched objectives are built: the other KRs of the cycle would
        # cost one progress lookup each and change nothing recorded.
        objectives = _subtrees(shape, touched)
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
