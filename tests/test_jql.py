"""The JQL parser and evaluator: Jira's answers and Jira's error messages."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from okr_jira.domain.models import IssueSnapshot
from okr_jira.domain.snapshot_view import SnapshotView
from okr_jira.jql import JqlError, check_values, is_local_subset, parse_jql

NOW = datetime(2026, 11, 15, 12, 0, tzinfo=UTC)


@dataclass
class FakeIssue:
    values: dict[str, tuple[object, ...]] = field(default_factory=dict)

    def jql_values(self, field: str) -> tuple[object, ...]:
        return self.values.get(field, ())


def issue(**values: object) -> FakeIssue:
    def as_tuple(v: object) -> tuple[object, ...]:
        return tuple(v) if isinstance(v, (list, tuple)) else (v,)

    aliases = {"epic": "Epic Link", "type": "issuetype", "category": "statusCategory"}
    return FakeIssue({aliases.get(k, k): as_tuple(v) for k, v in values.items()})


def matches(jql: str, item: FakeIssue, **kwargs: object) -> bool:
    return parse_jql(jql).matches(item, now=NOW, **kwargs)  # type: ignore[arg-type]


def test_kr_query_from_the_example_okr_file_selects_open_p1_bugs() -> None:
    jql = "project = SUP AND type = Bug AND priority = Highest AND statusCategory != Done"
    open_p1 = issue(project="SUP", type="Bug", priority="Highest", category="indeterminate")
    done_p1 = issue(project="SUP", type="Bug", priority="Highest", category="done")
    assert matches(jql, open_p1)
    assert not matches(jql, done_p1)
    assert not matches(jql, issue(project="SUP", type="Story", priority="Highest", category="new"))


def test_keywords_fields_and_values_are_case_insensitive() -> None:
    item = issue(project="SUP", status="In Progress", category="indeterminate")
    assert matches(
        'PROJECT = sup and Status = "in progress" AND statuscategory = "In Progress"', item
    )


def test_status_category_accepts_names_keys_and_ids() -> None:
    item = issue(category="done")
    for value in ("Done", "done", "3"):
        assert matches(f"statusCategory = {value}", item)
    assert matches('statusCategory in ("To Do", indeterminate, done)', item)


def test_not_equal_and_not_in_never_match_an_empty_field_like_jira() -> None:
    assert not matches("labels != macros", issue())
    assert matches("labels != macros", issue(labels=["crash"]))
    assert not matches("labels not in (macros)", issue())
    assert matches("labels is EMPTY", issue())
    assert not matches("not labels = macros", issue())  # NOT flips the operator to !=


def test_in_with_empty_and_multi_valued_fields() -> None:
    assert matches("component in (EMPTY, Billing)", issue())
    assert matches("labels in (crash, reliability)", issue(labels=["q4", "reliability"]))
    assert not matches("labels = macros", issue(labels=["q4"]))


def test_precedence_not_binds_tighter_than_and_than_or() -> None:
    item = issue(project="SUP", labels=["x"])
    assert matches("project = PLAT AND labels = y OR project = SUP", item)
    assert not matches("project = PLAT AND (labels = y OR project = SUP)", item)
    assert matches("NOT project = PLAT AND labels = x", item)
    assert matches("project = PLAT || !(labels = y) && project = SUP", item)


def test_absolute_and_relative_dates() -> None:
    item = issue(created=datetime(2026, 11, 10, 9, 30, tzinfo=UTC))
    assert matches('created >= "2026-10-01" AND created < "2026/11/10 09:31"', item)
    assert not matches("created > 2026-11-10", issue(created=datetime(2026, 11, 9, tzinfo=UTC)))
    assert matches("created >= -7d", item)
    assert not matches("created >= -2d", item)
    assert matches('created > "-1w 2d"', item)
    assert matches("created < startOfDay(-4)", item)
    assert matches("created <= now() AND created >= startOfMonth()", item)
    assert matches("resolved is EMPTY", item)


def test_dates_without_zone_are_taken_as_utc() -> None:
    naive = issue(updated=datetime(2026, 11, 15, 11, 0))
    assert matches("updated >= -90m", naive)
    assert not matches("updated >= -30m", naive)


def test_text_search_matches_words_and_prefixes() -> None:
    item = issue(summary="Ship self-service refunds", text=["Ship self-service refunds", "Details"])
    assert matches('summary ~ "refunds ship"', item)
    assert matches('text ~ "refun*"', item)
    assert not matches('summary ~ "refund"', item)
    assert matches('summary !~ "crash"', item)
    assert matches('summary ~ "\\"self-service refunds\\""', item)


def test_current_user_matches_the_searching_user() -> None:
    item = issue(assignee=["acc-1", "jdoe", "Jane Doe"])
    assert matches("assignee = currentUser()", item, current_user="jdoe")
    assert not matches("assignee = currentUser()", item, current_user="other")
    assert matches("assignee is not EMPTY", item)


def test_key_ranges_compare_numbers_within_a_project() -> None:
    assert matches("key > SUP-9", issue(key="SUP-10"))
    assert not matches("key > SUP-9", issue(key="PLAT-10"))
    assert matches("issuekey in (SUP-3, SELF-2)", issue(key="SELF-2"))


def test_order_by_sorts_priority_by_rank_and_puts_empty_values_last() -> None:
    query = parse_jql("project = X ORDER BY priority DESC, key ASC")
    items = [
        issue(key="X-2", priority="Low"),
        issue(key="X-10", priority="Highest"),
        issue(key="X-1", priority="Highest"),
    ]
    ordered = query.sorted(items)
    assert [i.values["key"][0] for i in ordered] == ["X-1", "X-10", "X-2"]
    assert query.order_by == [("priority", False), ("key", True)]
    by_due = parse_jql("ORDER BY resolved").sorted(
        [issue(key="A-1"), issue(key="A-2", resolved=datetime(2026, 10, 1, tzinfo=UTC))]
    )
    assert [i.values["key"][0] for i in by_due] == ["A-2", "A-1"]


def test_fields_used_and_local_subset() -> None:
    query = parse_jql('project in (PLAT, MOB) AND labels = reliability AND "Epic Link" = PLAT-20')
    assert query.fields_used() == {"project", "labels", "Epic Link"}
    assert is_local_subset(query)
    assert is_local_subset(parse_jql('resolved >= "2026-10-01" AND parent = SUP-12'))
    for not_local in ("created >= -7d", "updated > startOfDay()", 'text ~ "x"', "assignee = bob"):
        assert not is_local_subset(parse_jql(not_local)), not_local


def test_snapshot_view_answers_from_a_stored_snapshot() -> None:
    snap = IssueSnapshot(
        key="SELF-8",
        project="SELF",
        issue_type="Story",
        status="In Review",
        status_category="indeterminate",
        components=("Help Center",),
        fix_versions=("2026.11",),
        epic="SELF-5",
        parent="SELF-5",  # a story under its epic, as Cloud has it
        created=datetime(2026, 10, 2, tzinfo=UTC),
    )
    view = SnapshotView(snap)
    query = parse_jql(
        'component = "Help Center" AND fixVersion = "2026.11" AND parent = SELF-5 '
        'AND statusCategory = "In Progress" AND created < 2026-10-03'
    )
    assert query.matches(view, now=NOW)
    assert not parse_jql("statusCategory = Done").matches(view, now=NOW)
    # A sub-task: `parent` is its story, `"Epic Link"` the epic.
    subtask = SnapshotView(replace(snap, key="SELF-9", parent="SELF-8"))
    assert parse_jql("parent = SELF-8").matches(subtask, now=NOW)
    assert parse_jql('"Epic Link" = SELF-5').matches(subtask, now=NOW)
    assert not parse_jql("parent = SELF-5").matches(subtask, now=NOW)


@pytest.mark.parametrize(
    ("jql", "message"),
    [
        (
            "project foo",
            "Error in the JQL Query: Expecting operator but got 'foo'. The valid operators are "
            "'=', '!=', '<', '>', '<=', '>=', '~', '!~', 'IN', 'NOT IN', 'IS' and 'IS NOT'. "
            "(line 1, character 9)",
        ),
        (
            "project = SUP AND",
            "Error in the JQL Query: Expecting a field name before the end of the query.",
        ),
        ("(project = SUP", "Error in the JQL Query: Expecting ')' before the end of the query."),
        (
            'summary ~ "abc',
            "Error in the JQL Query: The quoted string 'abc' has not been completed. "
            "(line 1, character 11)",
        ),
        (
            "project = SUP @",
            "Error in the JQL Query: The character '@' is a reserved JQL character. You must "
            "enclose it in a string or use the escape '\\u0040' instead. (line 1, character 15)",
        ),
        (
            "project = OR",
            "Error in the JQL Query: Expecting either a value, list or function but got 'OR'. You "
            "must surround 'OR' in quotation marks to use it as a value. (line 1, character 11)",
        ),
        (
            "set = 1",
            "Error in the JQL Query: 'set' is a reserved JQL word. You must surround it in "
            "quotation marks to use it in a query. (line 1, character 1)",
        ),
    ],
)
def test_syntax_errors_carry_jiras_messages(jql: str, message: str) -> None:
    with pytest.raises(JqlError) as caught:
        parse_jql(jql)
    assert caught.value.messages == [message]
    assert caught.value.response_body() == {"errorMessages": [message], "errors": {}}


def test_validation_errors_list_every_problem() -> None:
    with pytest.raises(JqlError) as caught:
        parse_jql('foo = 1 AND project ~ x AND created > yesterday AND key = "1.0"')
    assert caught.value.kind == "validation"
    assert caught.value.messages == [
        "Field 'foo' does not exist or you do not have permission to view it.",
        "The operator '~' is not supported by the 'project' field.",
        "Date value 'yesterday' for field 'created' is invalid. Valid formats include: "
        "'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period format "
        "e.g. '-5d', '4w 2d'.",
        "The issue key '1.0' for field 'key' is invalid.",
    ]
    assert "warningMessages" in caught.value.response_body()


def test_check_values_reports_unknown_values_in_jiras_words() -> None:
    known = {"project": {"sup"}, "key": {"sup-1"}}

    def exists(field: str, value: str) -> bool | None:
        return value.casefold() in known[field] if field in known else None

    check_values(parse_jql("project = SUP AND labels = anything"), exists)
    with pytest.raises(JqlError) as caught:
        check_values(parse_jql("project in (SUP, XYZ) AND key = SUP-99"), exists)
    assert caught.value.messages == [
        "The value 'XYZ' does not exist for the field 'project'.",
        "An issue with key 'SUP-99' does not exist for field 'key'.",
    ]


def test_quoted_values_and_escapes() -> None:
    item = issue(summary='say "hi"', component="Help Center")
    assert matches("component = 'Help Center'", item)
    assert matches('summary ~ "say \\"hi\\""', item)


_WORDS = "AND OR NOT in is EMPTY project status created -7d now() SUP labels @ && ORDER BY"
_JQL_ALPHABET = st.sampled_from([*"()=!~<>,\"'\\ -", *_WORDS.split(), '"Epic Link"', "not in"])


@given(st.lists(_JQL_ALPHABET, max_size=14).map(" ".join))
def test_parser_never_fails_with_anything_but_jql_error(text: str) -> None:
    try:
        query = parse_jql(text)
    except JqlError as exc:
        assert exc.messages
        return
    query.matches(issue(project="SUP", created=NOW), now=NOW)


@given(st.text(max_size=40))
def test_parser_survives_arbitrary_text(text: str) -> None:
    try:
        parse_jql(text)
    except JqlError as exc:
        assert all(isinstance(m, str) and m for m in exc.messages)
