from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from okr_jira.domain.models import IssueSnapshot, Source
from okr_jira.domain.selectors import (
    IssueIndex,
    JqlMatch,
    jql_value,
    matches,
    select,
    source_to_jql,
    strip_order_by,
)
from tests.support.builders import make_issue, make_source

ISSUES = [
    make_issue("SUP-1", labels=["macros"], issue_type="Story"),
    make_issue("SUP-2", labels=["macros", "ux"], issue_type="Task", epic="SUP-12"),
    make_issue("SUP-3", labels=["billing"], issue_type="Bug", epic="SUP-12"),
    make_issue("SUP-7", labels=["macros"], issue_type="Story"),
    make_issue("SUP-8", labels=["Macros"], issue_type="Story"),
    make_issue("SUP-9", labels=["macros"], issue_type="Story", deleted=True),
    make_issue("PLAT-1", labels=["reliability"], issue_type="Incident", components=["API"]),
    make_issue("PLAT-2", labels=["reliability", "macros"], fix_versions=["2026.11"]),
    make_issue("MOB-1", labels=["reliability", "crash"], issue_type="Bug"),
    make_issue("SELF-1", components=["Help Center"], fix_versions=["2026.11", "2026.12"]),
    make_issue("SELF-2", components=["Help Center"], fix_versions=["2026.12"]),
]


def keys(
    source: Source, *, scope_projects: Sequence[str] = (), jql_match: JqlMatch | None = None
) -> list[str]:
    """Selected keys, checked to agree across select, IssueIndex.select and matches."""
    options: dict[str, Any] = {"scope_projects": scope_projects, "jql_match": jql_match}
    plain = [issue.key for issue in select(source, ISSUES, **options)]
    indexed = [issue.key for issue in IssueIndex(ISSUES).select(source, **options)]
    one_by_one = [issue.key for issue in ISSUES if matches(source, issue, **options)]
    assert plain == indexed == one_by_one
    return plain


def test_projects_selects_issues_of_those_projects_ignoring_case() -> None:
    assert keys(make_source(projects=["plat", "MOB"])) == ["PLAT-1", "PLAT-2", "MOB-1"]


def test_present_selectors_are_anded() -> None:
    source = make_source(projects=["PLAT", "MOB"], labels=["reliability"], issue_types=["Bug"])
    assert keys(source) == ["MOB-1"]


def test_labels_match_any_listed_label_case_sensitively() -> None:
    assert keys(make_source(labels=["ux", "billing"])) == ["SUP-2", "SUP-3"]
    assert keys(make_source(labels=["Macros"])) == ["SUP-8"]


def test_epics_select_the_children_of_those_epics() -> None:
    assert keys(make_source(epics=["sup-12"])) == ["SUP-2", "SUP-3"]


def test_issues_selects_listed_keys_that_exist_and_are_not_deleted() -> None:
    assert keys(make_source(issues=["SUP-3", "sup-1", "SUP-9", "SUP-404"])) == ["SUP-1", "SUP-3"]


def test_components_issue_types_and_fix_versions_ignore_case() -> None:
    assert keys(make_source(components=["help center"])) == ["SELF-1", "SELF-2"]
    assert keys(make_source(issue_types=["incident"])) == ["PLAT-1"]
    assert keys(make_source(fix_versions=["2026.11"])) == ["PLAT-2", "SELF-1"]
    both = make_source(components=["Help Center"], fix_versions=["2026.11"])
    assert keys(both) == ["SELF-1"]


def test_include_adds_and_exclude_removes_and_exclude_wins() -> None:
    source = make_source(
        labels=["macros"], issue_types=["Story", "Task"], include=["SUP-3"], exclude=["SUP-7"]
    )
    assert keys(source) == ["SUP-1", "SUP-2", "SUP-3", "PLAT-2"]
    assert keys(make_source(labels=["billing"], include=["SUP-1"], exclude=["sup-1"])) == ["SUP-3"]


def test_include_never_adds_a_deleted_or_unknown_issue() -> None:
    assert keys(make_source(labels=["billing"], include=["SUP-9", "SUP-404"])) == ["SUP-3"]


def test_deleted_snapshots_are_never_selected() -> None:
    assert "SUP-9" not in keys(make_source(projects=["SUP"]))


def test_scope_projects_narrow_a_source_that_names_no_project() -> None:
    assert keys(make_source(labels=["macros"]), scope_projects=["SUP"]) == [
        "SUP-1",
        "SUP-2",
        "SUP-7",
    ]


@pytest.mark.parametrize(
    "source",
    [
        make_source(projects=["PLAT"], labels=["macros"]),
        make_source(issues=["PLAT-2"], labels=["macros"]),
        make_source(epics=["PLAT-20"], labels=["macros"]),
    ],
)
def test_scope_projects_do_not_apply_when_the_source_names_projects(source: Source) -> None:
    selected = keys(source, scope_projects=["SUP"])
    assert all(key.startswith("PLAT") for key in selected)


def test_scope_projects_do_not_apply_with_jql() -> None:
    source = make_source(jql="labels = crash")
    selected = keys(source, scope_projects=["SUP"], jql_match=lambda i: "crash" in i.labels)
    assert selected == ["MOB-1"]


def test_jql_is_anded_with_the_other_selectors() -> None:
    source = make_source(projects=["PLAT"], jql="statusCategory != Done")
    selected = keys(source, jql_match=lambda issue: issue.issue_type == "Incident")
    assert selected == ["PLAT-1"]


def test_jql_without_an_evaluator_is_a_value_error() -> None:
    source = make_source(jql="project = SUP")
    with pytest.raises(ValueError, match="jql_match"):
        select(source, ISSUES)
    with pytest.raises(ValueError, match="jql_match"):
        IssueIndex(ISSUES).select(source)
    with pytest.raises(ValueError, match="jql_match"):
        matches(source, ISSUES[0])


def test_a_source_without_selector_selects_the_scope_or_only_its_includes() -> None:
    assert keys(make_source(), scope_projects=["MOB"]) == ["MOB-1"]
    assert keys(make_source()) == []
    assert keys(make_source(include=["SELF-2"])) == ["SELF-2"]


def test_index_keeps_the_last_snapshot_of_a_repeated_key() -> None:
    old = make_issue("SUP-1", labels=["macros"])
    new = make_issue("SUP-1", labels=["ux"])
    index = IssueIndex([old, new])
    assert index.select(make_source(labels=["ux"])) == [new]
    assert index.select(make_source(labels=["macros"])) == []
    assert index.get("sup-1") == new
    assert len(index) == 1


def test_index_forgets_an_issue_whose_latest_snapshot_is_deleted() -> None:
    index = IssueIndex([make_issue("SUP-1"), make_issue("SUP-1", deleted=True)])
    assert index.select(make_source(projects=["SUP"])) == []


# --- JQL


def test_jql_for_the_example_sources() -> None:
    assert source_to_jql(make_source(projects=["PLAT", "MOB"], labels=["reliability"])) == (
        "project in (PLAT, MOB) AND labels in (reliability)"
    )
    assert source_to_jql(make_source(epics=["SUP-12"])) == "parent in (SUP-12)"
    assert (
        source_to_jql(make_source(components=["Help Center"], fix_versions=["2026.11"]))
        == 'component in ("Help Center") AND fixVersion in ("2026.11")'
    )
    assert source_to_jql(make_source(issues=["SELF-2", "SELF-3"])) == "key in (SELF-2, SELF-3)"


def test_jql_epics_on_data_center_use_the_epic_link_field() -> None:
    source = make_source(epics=["SELF-5", "SELF-9"])
    assert source_to_jql(source, epic_clause="Epic Link") == '"Epic Link" in (SELF-5, SELF-9)'
    assert source_to_jql(source, epic_clause="cf[10006]") == "cf[10006] in (SELF-5, SELF-9)"


def test_jql_include_is_ored_and_exclude_anded() -> None:
    source = make_source(
        labels=["macros"], issue_types=["Story", "Task"], include=["SUP-3"], exclude=["SUP-7"]
    )
    assert source_to_jql(source, scope_projects=["SUP"]) == (
        "((project in (SUP) AND labels in (macros) AND issuetype in (Story, Task))"
        " OR key in (SUP-3)) AND key not in (SUP-7)"
    )
    assert source_to_jql(make_source(epics=["SUP-12"], exclude=["SUP-7"])) == (
        "parent in (SUP-12) AND key not in (SUP-7)"
    )


def test_jql_raw_query_is_parenthesised_anded_and_loses_its_order_by() -> None:
    source = make_source(
        projects=["PLAT"], issue_types=["Incident"], jql="statusCategory != Done ORDER BY created"
    )
    assert source_to_jql(source, scope_projects=["SUP"]) == (
        "project in (PLAT) AND issuetype in (Incident) AND (statusCategory != Done)"
    )


def test_jql_scope_applies_only_when_no_project_is_named() -> None:
    assert source_to_jql(make_source(labels=["crash"]), scope_projects=["MOB"]) == (
        "project in (MOB) AND labels in (crash)"
    )
    assert source_to_jql(make_source(), scope_projects=["MOB", "PLAT"]) == "project in (MOB, PLAT)"
    assert source_to_jql(make_source(include=["SUP-3"])) == "key in (SUP-3)"


def test_jql_of_a_source_that_selects_nothing_is_refused() -> None:
    with pytest.raises(ValueError, match="selects no issues"):
        source_to_jql(make_source(exclude=["SUP-1"]))


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        ("SUP", "SUP"),
        ("SUP-12", "SUP-12"),
        ("on_call", "on_call"),
        ("Help Center", '"Help Center"'),
        ("2026.11", '"2026.11"'),
        ("order", '"order"'),
        ("EMPTY", '"EMPTY"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("back\\slash", '"back\\\\slash"'),
        ("a'b", '"a\'b"'),
        ("", '""'),
    ],
)
def test_jql_values_are_quoted_and_escaped_when_jql_needs_it(value: str, literal: str) -> None:
    assert jql_value(value) == literal


@pytest.mark.parametrize(
    ("jql", "stripped"),
    [
        ("project = SUP ORDER BY rank", "project = SUP"),
        ("project = SUP order   by created DESC", "project = SUP"),
        ('summary ~ "order by" AND project = SUP', 'summary ~ "order by" AND project = SUP'),
        ("labels = border AND project = SUP", "labels = border AND project = SUP"),
    ],
)
def test_strip_order_by_ignores_quoted_text(jql: str, stripped: str) -> None:
    assert strip_order_by(jql) == stripped


# --- properties: the index agrees with the plain filter

PROJECTS = ["SUP", "PLAT", "MOB"]
LABELS = ["macros", "crash", "ux"]
TYPES = ["Story", "Bug", "Task"]


@st.composite
def snapshots(draw: st.DrawFn) -> list[IssueSnapshot]:
    size = draw(st.integers(min_value=0, max_value=25))
    return [
        make_issue(
            f"{draw(st.sampled_from(PROJECTS))}-{n}",
            issue_type=draw(st.sampled_from(TYPES)),
            labels=tuple(draw(st.lists(st.sampled_from(LABELS), max_size=2))),
            epic=draw(st.none() | st.sampled_from(["SUP-1", "PLAT-2"])),
            components=tuple(draw(st.lists(st.sampled_from(["API", "UI"]), max_size=2))),
            fix_versions=tuple(draw(st.lists(st.sampled_from(["1.0", "2.0"]), max_size=1))),
            deleted=draw(st.booleans()),
        )
        for n in range(size)
    ]


def few(values: list[str]) -> st.SearchStrategy[tuple[str, ...]]:
    return st.lists(st.sampled_from(values), max_size=2).map(tuple)


sources = st.builds(
    Source,
    jql=st.none() | st.just("labels = crash"),
    projects=few(PROJECTS),
    epics=few(["SUP-1", "PLAT-2"]),
    issues=few([f"SUP-{n}" for n in range(6)]),
    labels=few(LABELS),
    components=few(["API", "ui"]),
    issue_types=few(["story", "Bug"]),
    fix_versions=few(["1.0", "2.0"]),
    include=few([f"MOB-{n}" for n in range(6)]),
    exclude=few([f"PLAT-{n}" for n in range(6)]),
)


@settings(deadline=None)  # builds an index per example; CI's 2 busy cores must not make it flaky
@given(source=sources, issues=snapshots(), scope=few(PROJECTS))
def test_index_select_equals_filtering_every_snapshot(
    source: Source, issues: list[IssueSnapshot], scope: tuple[str, ...]
) -> None:
    def jql_match(issue: IssueSnapshot) -> bool:
        return "crash" in issue.labels

    expected = select(source, issues, scope_projects=scope, jql_match=jql_match)
    actual = IssueIndex(issues).select(source, scope_projects=scope, jql_match=jql_match)
    assert actual == expected
    assert not any(issue.deleted for issue in actual)
    assert not any(issue.key in source.exclude for issue in actual)
