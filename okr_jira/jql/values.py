"""Jira's second check after parsing: do the named projects, types, statuses... exist?"""

from __future__ import annotations

from collections.abc import Callable

from okr_jira.jql.errors import JqlError
from okr_jira.jql.query import JqlQuery, Value

_KEY_FIELDS = frozenset({"key", "parent", "Epic Link"})

# (canonical field, value as written) -> True exists, False missing, None not checked
ValueExists = Callable[[str, str], bool | None]


def check_values(query: JqlQuery, exists: ValueExists) -> None:
    """Raise JqlError (validation kind) for every value Jira would not find, in Jira's words."""
    problems: list[str] = []
    for clause in query.clauses():
        for operand in clause.operands:
            if (
                not isinstance(operand, Value)
                or exists(clause.field.name, operand.text) is not False
            ):
                continue
            if clause.field.name in _KEY_FIELDS:
                message = (
                    f"An issue with key '{operand.text}' does not exist for field "
                    f"'{clause.written}'."
                )
            else:
                message = (
                    f"The value '{operand.text}' does not exist for the field '{clause.written}'."
                )
            if message not in problems:
                problems.append(message)
    if problems:
        raise JqlError(problems, kind="validation")
