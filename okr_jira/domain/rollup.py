"""Key results -> objectives -> the aligned tree.

An objective's progress is the weighted mean of its KRs (``KeyResult.weight``) and/or its child
objectives (``Objective.weight``), as its ``rollup`` says. Built without recursion, so neither a
deep chain nor a parent cycle (which validation forbids) can exhaust the stack or loop forever.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from okr_jira.domain.models import KeyResult, KrProgress, Objective, ObjectiveNode

_DIGITS = re.compile(r"(\d+)")


def sort_key(key: str) -> tuple[tuple[int, int | str], ...]:
    """Natural order, as people read keys: CO-2 before CO-10."""
    return tuple((1, int(part)) if part.isdigit() else (0, part) for part in _DIGITS.split(key))


def build_tree(
    objectives: Sequence[Objective], progress: Mapping[str, KrProgress]
) -> list[ObjectiveNode]:
    """The objectives as a forest of ``ObjectiveNode``, top-level objectives first.

    Top level: objectives whose parent is None or not among ``objectives``. Siblings are sorted by
    key (natural order). A KR missing from ``progress`` counts as 0. Should parents form a cycle,
    the cycle's smallest key becomes a top-level objective, so every objective appears exactly once.
    """
    by_key = {objective.key: objective for objective in objectives}
    child_keys: dict[str, list[str]] = {}
    roots: list[str] = []
    for key, objective in by_key.items():
        parent = objective.parent
        if parent is None or parent not in by_key or parent == key:
            roots.append(key)
        else:
            child_keys.setdefault(parent, []).append(key)
    for keys in child_keys.values():
        keys.sort(key=sort_key)
    roots.sort(key=sort_key)

    # Depth-first pre-order from the roots; then objectives stuck in cycles, smallest key first.
    order: list[str] = []
    tree_children: dict[str, list[str]] = {}
    visited: set[str] = set()
    top: list[str] = []
    for root in [*roots, *sorted(by_key, key=sort_key)]:
        if root in visited:
            continue
        visited.add(root)
        top.append(root)
        stack = [root]
        while stack:
            key = stack.pop()
            order.append(key)
            kids = [k for k in child_keys.get(key, ()) if k not in visited]
            visited.update(kids)
            tree_children[key] = kids
            stack.extend(reversed(kids))

    # Children before parents: build nodes in reverse pre-order.
    nodes: dict[str, ObjectiveNode] = {}
    for key in reversed(order):
        objective = by_key[key]
        children = tuple(nodes[k] for k in tree_children[key])
        pairs = tuple((kr, _progress_of(kr, progress)) for kr in objective.key_results)
        nodes[key] = ObjectiveNode(
            objective=objective,
            progress=objective_progress(objective.rollup, pairs, children),
            key_results=pairs,
            children=children,
        )
    return [nodes[key] for key in sorted(top, key=sort_key)]


def objective_progress(
    rollup: str,
    key_results: Sequence[tuple[KeyResult, KrProgress]],
    children: Sequence[ObjectiveNode],
) -> float:
    """Weighted mean per ``rollup`` (key_results | children | both); 0 with nothing to average.

    Summed as share x progress, as `contributions` shows it: weight x progress first would
    underflow for a tiny weight (5e-324 x 0.5 is 0) and the parts would not add up."""
    parts: list[tuple[float, float]] = []
    if rollup in ("key_results", "both"):
        parts += [(max(kr.weight, 0.0), p.progress) for kr, p in key_results]
    if rollup in ("children", "both"):
        parts += [(max(c.objective.weight, 0.0), c.progress) for c in children]
    total = sum(weight for weight, _ in parts)
    if total == 0:
        return 0.0
    return _clamp(sum(weight / total * _clamp(progress) for weight, progress in parts))


@dataclass(frozen=True, slots=True)
class Contribution:
    """What one key result or aligned child objective adds to its objective's progress."""

    key: str
    title: str
    kind: Literal["key_result", "objective"]
    progress: float  # 0..1, clamped as the rollup counts it
    weight: float  # as declared (negative counts as 0)
    counted: bool  # False when the objective's rollup leaves this kind out
    share: float  # weight / total weight counted (0 when not counted)
    contribution: float  # share x progress: the parts sum to the objective's progress


def contributions(node: ObjectiveNode) -> list[Contribution]:
    """How `node.progress` is made, part by part, in the order the page lists them."""
    rollup = node.objective.rollup
    parts: list[tuple[str, str, Literal["key_result", "objective"], float, float, bool]] = []
    for kr, state in node.key_results:
        counted = rollup in ("key_results", "both")
        parts.append((kr.key, kr.title, "key_result", state.progress, kr.weight, counted))
    for child in node.children:
        counted = rollup in ("children", "both")
        o = child.objective
        parts.append((o.key, o.title, "objective", child.progress, o.weight, counted))
    total = sum(max(weight, 0.0) for *_, weight, counted in parts if counted)
    out = []
    for key, title, kind, progress, weight, counted in parts:
        share = max(weight, 0.0) / total if counted and total else 0.0
        value = _clamp(progress)
        out.append(Contribution(key, title, kind, value, weight, counted, share, share * value))
    return out


def iter_nodes(nodes: Sequence[ObjectiveNode]) -> Iterator[ObjectiveNode]:
    """Every node of the forest, depth-first, parents before children, siblings in order."""
    stack = list(reversed(nodes))
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(node.children))


def walk(
    nodes: Sequence[ObjectiveNode],
) -> Iterator[tuple[ObjectiveNode, ObjectiveNode | None, int]]:
    """iter_nodes with each node's parent and depth, roots at depth 0."""
    stack: list[tuple[ObjectiveNode, ObjectiveNode | None, int]] = [
        (root, None, 0) for root in reversed(nodes)
    ]
    while stack:
        node, parent, depth = stack.pop()
        yield node, parent, depth
        stack.extend((child, node, depth + 1) for child in reversed(node.children))


def _progress_of(kr: KeyResult, progress: Mapping[str, KrProgress]) -> KrProgress:
    found = progress.get(kr.key)
    if found is None:
        return KrProgress(key=kr.key, progress=0.0, warnings=("progress not computed yet",))
    return found


def _clamp(value: float) -> float:
    return min(max(value, 0.0), 1.0)


def tree_chunks(objectives: Sequence[Objective], size: int) -> Iterator[list[Objective]]:
    """`objectives` in runs of about `size` key results, each objective in the run of its whole
    tree (parents and children among `objectives`), in their order: build_tree over a run gives
    each of its objectives the node it has over all of them. A tree larger than `size` is one
    run."""
    by_key = {o.key: o for o in objectives}
    root: dict[str, str] = {}

    def find(key: str) -> str:
        while root.get(key, key) != key:
            key = root[key]
        return key

    for o in objectives:
        if o.parent is not None and o.parent in by_key:
            a, b = find(o.key), find(o.parent)
            if a != b:
                root[a] = b
    trees: dict[str, list[Objective]] = {}
    for o in objectives:
        trees.setdefault(find(o.key), []).append(o)
    run: list[Objective] = []
    count = 0
    for tree in trees.values():
        run.extend(tree)
        count += sum(len(o.key_results) for o in tree)
        if count >= size:
            yield run
            run, count = [], 0
    if run:
        yield run
