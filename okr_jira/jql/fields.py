"""The JQL fields this evaluator knows: canonical names, aliases, types and operators."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

FieldType = Literal["value", "key", "user", "date", "text"]

VALUE_OPS = frozenset({"=", "!=", "in", "not in", "is", "is not"})
KEY_OPS = frozenset({"=", "!=", "in", "not in", ">", ">=", "<", "<="})
DATE_OPS = frozenset({"=", "!=", "in", "not in", "is", "is not", ">", ">=", "<", "<="})
TEXT_OPS = frozenset({"~", "!~", "is", "is not"})
ALL_OPS = ("=", "!=", "<", ">", "<=", ">=", "~", "!~", "IN", "NOT IN", "IS", "IS NOT")
VALID_OPERATORS = (
    "The valid operators are '=', '!=', '<', '>', '<=', '>=', '~', '!~', 'IN', 'NOT IN', "
    "'IS' and 'IS NOT'."
)


@dataclass(frozen=True, slots=True)
class FieldDef:
    name: str  # canonical: the name Jira's JQL autocomplete shows
    type: FieldType
    operators: frozenset[str]
    sortable: bool = True


_DEFS = (
    FieldDef("project", "value", VALUE_OPS),
    FieldDef("key", "key", KEY_OPS),
    FieldDef("issuetype", "value", VALUE_OPS),
    FieldDef("status", "value", VALUE_OPS),
    FieldDef("statusCategory", "value", VALUE_OPS),
    FieldDef("labels", "value", VALUE_OPS),
    FieldDef("component", "value", VALUE_OPS),
    FieldDef("fixVersion", "value", VALUE_OPS),
    FieldDef("priority", "value", VALUE_OPS),
    FieldDef("assignee", "user", VALUE_OPS),
    FieldDef("reporter", "user", VALUE_OPS),
    FieldDef("parent", "key", frozenset({"=", "!=", "in", "not in", "is", "is not"})),
    FieldDef("Epic Link", "key", frozenset({"=", "!=", "in", "not in", "is", "is not"})),
    FieldDef("created", "date", DATE_OPS),
    FieldDef("updated", "date", DATE_OPS),
    FieldDef("resolved", "date", DATE_OPS),
    FieldDef("summary", "text", TEXT_OPS),
    FieldDef("description", "text", TEXT_OPS, sortable=False),
    FieldDef("text", "text", frozenset({"~"}), sortable=False),
)
FIELDS: dict[str, FieldDef] = {d.name.casefold(): d for d in _DEFS}
_ALIASES = {
    "issuekey": "key",
    # Jira's issue key clause also answers to `issue` and `id` (its IssueKeyConstants clause
    # names: key, issue, issuekey, id; Cloud's JQL fields page lists `id` as an alias of key).
    "issue": "key",
    "id": "key",
    "type": "issuetype",
    "createddate": "created",
    "updateddate": "updated",
    "resolutiondate": "resolved",
    "fixversion": "fixVersion",
    "cf[10006]": "Epic Link",  # Data Center's usual Epic Link id
    "cf[10014]": "Epic Link",  # Cloud's usual (deprecated) Epic Link id
}
for _alias, _name in _ALIASES.items():
    FIELDS[_alias] = FIELDS[_name.casefold()]

# Fields an okr_jira IssueSnapshot holds exactly (see SnapshotView).
LOCAL_FIELDS: frozenset[str] = frozenset(
    {
        "project",
        "key",
        "issuetype",
        "status",
        "statusCategory",
        "labels",
        "component",
        "fixVersion",
        "priority",
        "parent",
        "Epic Link",
        "created",
        "updated",
        "resolved",
    }
)

STATUS_CATEGORY_KEYS = {
    "to do": "new",
    "new": "new",
    "2": "new",
    "in progress": "indeterminate",
    "indeterminate": "indeterminate",
    "4": "indeterminate",
    "done": "done",
    "complete": "done",
    "3": "done",
    "no category": "undefined",
    "undefined": "undefined",
    "1": "undefined",
}
PRIORITY_RANK = {"lowest": 1, "low": 2, "medium": 3, "high": 4, "highest": 5}
STATUS_CATEGORY_RANK = {"undefined": 0, "new": 1, "indeterminate": 2, "done": 3}
SUBTASK_TYPES = frozenset({"sub-task", "subtask"})

# Jira's reserved words: unquoted, they may be neither a field name nor a value.
_RESERVED_TEXT = """
a an abort access add after alias all alter and any are as asc audit avg before
begin between boolean break by byte catch cf char character check checkpoint collate
collation column commit connect continue count create current date decimal declare
decrement default defaults define delete delimiter desc difference distinct divide
do double drop else empty encoding end equals escape exclusive exec execute exists
explain false fetch file field first float for from function go goto grant greater
group having identified if immediate in increment index initial inner inout input
insert int integer intersect intersection into is isempty isnull join last left less
like limit lock long max min minus mode modify modulo more multiply next noaudit not
notin nowait null number object of on option or order outer output power previous
prior privileges public raise raw remainder rename resource return returns revoke
right row rowid rownum rows select session set share size sqrt start string subtract
sum synonym table then to trans transaction trigger true uid union unique update
user validate values view when whenever where while with
"""
RESERVED_WORDS = frozenset(_RESERVED_TEXT.split())


def lookup_field(name: str) -> FieldDef | None:
    return FIELDS.get(name.casefold())
