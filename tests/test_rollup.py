import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from okr_jira.domain.models import ObjectiveNode
from okr_jira.domain.rollup import build_tree, iter_nodes
from tests.support.builders import make_kr, make_objective, make_progress


def by_key(nodes: list[ObjectiveNode]) -> dict[str, ObjectiveNode]:
    return {node.objective.key: node for node in iter_nodes(nodes)}


def test_objective_progress_is_the_mean_of_its_key_results() -> None:
    objective = make_objective("SUP-1", key_results=[make_kr("SUP-1.1"), make_kr("SUP-1.2")])
    progress = {"SUP-1.1": make_progress("SUP-1.1", 0.2), "SUP-1.2": make_progress("SUP-1.2", 0.6)}
    [node] = build_tree([objective], progress)
    assert node.progress == pytest.approx(0.4)
    assert [kr.key for kr, _ in node.key_results] == ["SUP-1.1", "SUP-1.2"]
    assert node.key_results[1][1].progress == 0.6


def test_a_weight_2_key_result_counts_double() -> None:
    objective = make_objective(
        "SUP-1", key_results=[make_kr("SUP-1.1"), make_kr("SUP-1.2", weight=2)]
    )
    progress = {"SUP-1.1": make_progress("SUP-1.1", 0.0), "SUP-1.2": make_progress("SUP-1.2", 0.9)}
    [node] = build_tree([objective], progress)
    assert node.progress == pytest.approx(0.6)


def test_a_key_result_missing_from_progress_counts_as_zero() -> None:
    objective = make_objective("SUP-1", key_results=[make_kr("SUP-1.1"), make_kr("SUP-1.2")])
    [node] = build_tree([objective], {"SUP-1.1": make_progress("SUP-1.1", 1.0)})
    assert node.progress == 0.5
    assert node.key_results[1][1].progress == 0.0


def test_rollup_children_uses_child_objective_weights() -> None:
    objectives = [
        make_objective("CX-1", rollup="children", key_results=[make_kr("CX-1.1")]),
        make_objective("SUP-1", parent="CX-1", key_results=[make_kr("SUP-1.1")]),
        make_objective("SELF-1", parent="CX-1", weight=2, key_results=[make_kr("SELF-1.1")]),
    ]
    progress = {
        "CX-1.1": make_progress("CX-1.1", 1.0),  # ignored: rollup is children only
        "SUP-1.1": make_progress("SUP-1.1", 0.3),
        "SELF-1.1": make_progress("SELF-1.1", 0.6),
    }
    nodes = by_key(build_tree(objectives, progress))
    assert nodes["CX-1"].progress == pytest.approx((0.3 + 2 * 0.6) / 3)


def test_rollup_key_results_ignores_children() -> None:
    objectives = [
        make_objective("ENG-1", rollup="key_results", key_results=[make_kr("ENG-1.1")]),
        make_objective("PLAT-1", parent="ENG-1", key_results=[make_kr("PLAT-1.1")]),
    ]
    progress = {"ENG-1.1": make_progress("ENG-1.1", 0.2), "PLAT-1.1": make_progress("PLAT-1.1", 1)}
    assert by_key(build_tree(objectives, progress))["ENG-1"].progress == pytest.approx(0.2)


def test_rollup_both_averages_key_results_and_children_together() -> None:
    objectives = [
        make_objective("ENG-1", key_results=[make_kr("ENG-1.1")]),
        make_objective("PLAT-1", parent="ENG-1", key_results=[make_kr("PLAT-1.1")]),
        make_objective("MOB-1", parent="ENG-1", key_results=[make_kr("MOB-1.1")]),
    ]
    progress = {
        "ENG-1.1": make_progress("ENG-1.1", 0.0),
        "PLAT-1.1": make_progress("PLAT-1.1", 0.6),
        "MOB-1.1": make_progress("MOB-1.1", 0.9),
    }
    assert by_key(build_tree(objectives, progress))["ENG-1"].progress == pytest.approx(0.5)


def test_progress_rolls_up_through_several_levels() -> None:
    objectives = [
        make_objective("CO-1"),
        make_objective("CX-1", parent="CO-1", rollup="children"),
        make_objective("SUP-1", parent="CX-1", key_results=[make_kr("SUP-1.1")]),
    ]
    nodes = by_key(build_tree(objectives, {"SUP-1.1": make_progress("SUP-1.1", 0.7)}))
    assert nodes["CO-1"].progress == pytest.approx(0.7)


def test_an_objective_with_nothing_to_average_has_progress_zero() -> None:
    objectives = [
        make_objective("CX-1", rollup="children", key_results=[make_kr("CX-1.1")]),
        make_objective("CO-2"),
    ]
    progress = {"CX-1.1": make_progress("CX-1.1", 1.0)}
    assert [node.progress for node in build_tree(objectives, progress)] == [0.0, 0.0]


def test_zero_weight_children_are_ignored() -> None:
    objectives = [
        make_objective("CX-1", rollup="children"),
        make_objective("SUP-1", parent="CX-1", key_results=[make_kr("SUP-1.1")]),
        make_objective("SELF-1", parent="CX-1", weight=0, key_results=[make_kr("SELF-1.1")]),
    ]
    progress = {"SUP-1.1": make_progress("SUP-1.1", 0.8)}
    assert by_key(build_tree(objectives, progress))["CX-1"].progress == pytest.approx(0.8)


def test_top_level_objectives_come_first_sorted_by_key_with_children_sorted() -> None:
    objectives = [
        make_objective("SUP-1", parent="CX-1"),
        make_objective("CO-10"),
        make_objective("CX-1", parent="CO-1"),
        make_objective("SELF-1", parent="CX-1"),
        make_objective("CO-2"),
        make_objective("CO-1"),
    ]
    tree = build_tree(objectives, {})
    assert [node.objective.key for node in tree] == ["CO-1", "CO-2", "CO-10"]
    assert [node.objective.key for node in iter_nodes(tree)] == [
        "CO-1",
        "CX-1",
        "SELF-1",
        "SUP-1",
        "CO-2",
        "CO-10",
    ]


def test_an_objective_whose_parent_is_not_given_is_top_level() -> None:
    tree = build_tree([make_objective("SUP-1", parent="CX-1")], {})
    assert [node.objective.key for node in tree] == ["SUP-1"]


def test_a_parent_cycle_terminates_and_keeps_every_objective_once() -> None:
    objectives = [
        make_objective("A-1", parent="B-1", key_results=[make_kr("A-1.1")]),
        make_objective("B-1", parent="A-1"),
        make_objective("C-1", parent="C-1"),
    ]
    tree = build_tree(objectives, {"A-1.1": make_progress("A-1.1", 1.0)})
    assert [node.objective.key for node in iter_nodes(tree)] == ["A-1", "B-1", "C-1"]
    assert tree[0].progress == 0.5  # its KR (1.0) and its child B-1 (0.0)


def test_a_deep_chain_does_not_hit_the_recursion_limit() -> None:
    objectives = [make_objective(f"O-{n}", parent=f"O-{n - 1}" if n else None) for n in range(3000)]
    objectives.append(make_objective("O-2999.x", parent="O-2999", key_results=[make_kr("K")]))
    tree = build_tree(objectives, {"K": make_progress("K", 0.5)})
    assert tree[0].progress == 0.5
    assert sum(1 for _ in iter_nodes(tree)) == 3001


@given(
    progress=st.floats(min_value=0, max_value=1),
    count=st.integers(min_value=1, max_value=6),
    weight=st.floats(min_value=0.1, max_value=10),
    rollup=st.sampled_from(["children", "both"]),
)
def test_the_rollup_of_equal_children_equals_the_child(
    progress: float, count: int, weight: float, rollup: str
) -> None:
    objectives = [make_objective("P-1", rollup=rollup)]
    objectives += [
        make_objective(f"C-{n}", parent="P-1", weight=weight, key_results=[make_kr(f"C-{n}.1")])
        for n in range(count)
    ]
    krs = {f"C-{n}.1": make_progress(f"C-{n}.1", progress) for n in range(count)}
    [parent] = build_tree(objectives, krs)
    assert parent.progress == pytest.approx(progress)


@given(
    st.lists(
        st.tuples(st.floats(min_value=-1, max_value=2), st.floats(min_value=0, max_value=5)),
        max_size=8,
    )
)
def test_objective_progress_is_always_within_0_1(krs: list[tuple[float, float]]) -> None:
    key_results = [make_kr(f"K-{n}", weight=weight) for n, (_, weight) in enumerate(krs)]
    progress = {f"K-{n}": make_progress(f"K-{n}", value) for n, (value, _) in enumerate(krs)}
    [node] = build_tree([make_objective("O-1", key_results=key_results)], progress)
    assert 0.0 <= node.progress <= 1.0


@given(
    st.lists(st.tuples(st.floats(0, 1), st.floats(-1, 5)), max_size=4),
    st.lists(st.tuples(st.floats(0, 1), st.floats(-1, 5)), max_size=3),
    st.sampled_from(["key_results", "children", "both"]),
)
@example([(0.5, 5e-324)], [], "key_results")  # a weight x progress that underflowed to 0
def test_the_contributions_of_the_parts_add_up_to_the_objectives_progress(
    krs: list[tuple[float, float]], kids: list[tuple[float, float]], rollup: str
) -> None:
    from okr_jira.domain.rollup import contributions

    key_results = [make_kr(f"P-1.{n}", weight=w) for n, (_, w) in enumerate(krs)]
    progress = {
        kr.key: make_progress(kr.key, p) for kr, (p, _) in zip(key_results, krs, strict=True)
    }
    children = [make_objective(f"C-{n}", parent="P-1", weight=w) for n, (_, w) in enumerate(kids)]
    for n, (p, _) in enumerate(kids):
        children[n] = make_objective(
            f"C-{n}", parent="P-1", weight=kids[n][1],
            key_results=(make_kr(f"C-{n}.1"),),
        )  # fmt: skip
        progress[f"C-{n}.1"] = make_progress(f"C-{n}.1", p)
    parent = make_objective("P-1", key_results=tuple(key_results), rollup=rollup)
    (node,) = [n for n in build_tree([parent, *children], progress) if n.objective.key == "P-1"]
    parts = contributions(node)
    assert sum(p.contribution for p in parts) == pytest.approx(node.progress, abs=1e-9)
    counted = [p for p in parts if p.counted]
    if any(p.weight > 0 for p in counted):
        assert sum(p.share for p in counted) == pytest.approx(1.0)
