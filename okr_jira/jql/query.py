"""The parsed JQL tree and how it evaluates against one issue."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Protocol, TypeVar

from okr_jira.jql import dates
from okr_jira.jql.fields import (
    LOCAL_FIELDS,
    PRIORITY_RANK,
    STATUS_CATEGORY_KEYS,
    STATUS_CATEGORY_RANK,
    SUBTASK_TYPES,
    FieldDef,
)


class JqlIssue(Protocol):
    def jql_values(self, field: str) -> Sequence[object]:
        """The issue's values for a canonical field name: strings, or datetimes for dates."""
        ...


IssueT = TypeVar("IssueT", bound=JqlIssue)


@dataclass(frozen=True, slots=True)
class Value:
    text: str
    quoted: bool = False


@dataclass(frozen=True, slots=True)
class Empty:
    pass


@dataclass(frozen=True, slots=True)
class Function:
    name: str
    args: tuple[str, ...] = ()


Operand = Value | Empty | Function


@dataclass(frozen=True, slots=True)
class Clause:
    field: FieldDef
    written: str  # the field name as the query wrote it, for messages
    op: str  # lower case: "=", "in", "not in", "is not", ...
    operands: tuple[Operand, ...]
    is_list: bool = False

    def fields(self) -> set[str]:
        return {self.field.name}

    def is_absolute(self) -> bool:
        """False when the clause's answer depends on the clock or the caller, or on an id or
        name that stored values do not hold (see _names_what_snapshots_lack)."""
        return (
            not any(isinstance(o, Function) for o in self.operands)
            and not (
                self.field.type == "date"
                and any(isinstance(o, Value) and dates.parse_period(o.text) for o in self.operands)
            )
            and not _names_what_snapshots_lack(self)
        )

    def clauses(self) -> list[Clause]:
        return [self]

    def evaluate(self, issue: JqlIssue, ctx: _Context) -> bool:
        values = issue.jql_values(self.field.name)
        if self.op in ("is", "is not"):
            return (not values) == (self.op == "is")
        if self.field.type == "text":
            return _text_clause(self, values)
        if self.field.type == "date":
            return _date_clause(self, values, ctx)
        if self.field.type == "key" and self.op in (">", ">=", "<", "<="):
            return _key_range(self, values)
        return _value_clause(self, values, ctx)


@dataclass(frozen=True, slots=True)
class Not:
    """NOT, evaluated as Jira does: never as a boolean complement.

    Jira pushes NOT down to the clauses (De Morgan) and flips each operator before searching
    (its DeMorgansVisitor: `=` <-> `!=`, `in` <-> `not in`, `is` <-> `is not`, `<` <-> `>=`,
    `>` <-> `<=`, `~` <-> `!~`). The operators reference says so too: "field != value is the same
    as NOT field = value". So `NOT labels = x` is `labels != x`, which, like every `!=`, never
    matches an issue whose labels are empty, and `NOT resolved < "2026-11-01"` is
    `resolved >= "2026-11-01"`, which never matches an unresolved issue.
    """

    inner: Node
    flipped: Node | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "flipped", _negated(self.inner))

    def clauses(self) -> list[Clause]:
        return self.inner.clauses()

    def evaluate(self, issue: JqlIssue, ctx: _Context) -> bool:
        if self.flipped is None:  # an operator without a negated form (none parses today)
            return not self.inner.evaluate(issue, ctx)
        return self.flipped.evaluate(issue, ctx)


@dataclass(frozen=True, slots=True)
class BoolOp:
    op: str  # "and" | "or"
    parts: tuple[Node, ...]

    def clauses(self) -> list[Clause]:
        return [c for p in self.parts for c in p.clauses()]

    def evaluate(self, issue: JqlIssue, ctx: _Context) -> bool:
        if self.op == "and":
            return all(p.evaluate(issue, ctx) for p in self.parts)
        return any(p.evaluate(issue, ctx) for p in self.parts)


Node = Clause | Not | BoolOp

_NEGATED_OP = {
    "=": "!=",
    "!=": "=",
    "in": "not in",
    "not in": "in",
    "is": "is not",
    "is not": "is",
    "~": "!~",
    "!~": "~",
    "<": ">=",
    ">=": "<",
    ">": "<=",
    "<=": ">",
}


def _negated(node: Node) -> Node | None:
    """NOT node with the negation pushed down to the clauses, as Jira's DeMorgansVisitor does;
    None when some clause has no negated operator."""
    if isinstance(node, Not):
        return node.inner  # NOT NOT a is a
    if isinstance(node, BoolOp):
        parts: list[Node] = []
        for part in node.parts:
            flipped = _negated(part)
            if flipped is None:
                return None
            parts.append(flipped)
        return BoolOp("or" if node.op == "and" else "and", tuple(parts))
    op = _NEGATED_OP.get(node.op)
    return None if op is None else replace(node, op=op)


@dataclass(frozen=True, slots=True)
class _Context:
    now: datetime
    current_user: str | None


@dataclass(frozen=True, slots=True)
class JqlQuery:
    text: str
    where: Node | None
    order_by: list[tuple[str, bool]] = field(default_factory=list)  # (canonical field, asc)

    def matches(self, issue: JqlIssue, *, now: datetime, current_user: str | None = None) -> bool:
        if self.where is None:
            return True
        return self.where.evaluate(issue, _Context(now, current_user))

    def clauses(self) -> list[Clause]:
        return [] if self.where is None else self.where.clauses()

    def fields_used(self) -> set[str]:
        """Canonical names of the fields the WHERE part reads (ORDER BY not included)."""
        return {c.field.name for c in self.clauses()}

    @property
    def is_bounded(self) -> bool:
        """Jira Cloud refuses a search without any restriction (empty or ORDER BY only)."""
        return self.where is not None

    def sorted(
        self, issues: Sequence[IssueT], *, default: Callable[[IssueT], object] | None = None
    ) -> list[IssueT]:
        """The issues in ORDER BY order; ties and a missing ORDER BY fall back to `default`."""
        result = list(issues)
        if default is not None:
            result.sort(key=default)  # type: ignore[arg-type]
        for name, asc in reversed(self.order_by):
            result.sort(key=lambda issue: _sort_key(issue, name, asc), reverse=not asc)
        return result


def is_local_subset(
    query: JqlQuery, local_fields: frozenset[str] | set[str] = LOCAL_FIELDS
) -> bool:
    """True when stored snapshots answer the query exactly as Jira would."""
    return all(c.field.name in local_fields and c.is_absolute() for c in query.clauses())


# Jira also takes a numeric id for these fields ("You can search by ... name or ... ID": project
# 10000, status 3, fixVersion 10001, key or parent 10003, ...), and a project by its name as well
# as its key. A snapshot holds keys and names only, so such a clause is Jira's to answer. The
# statusCategory ids (2 To Do, 4 In Progress, 3 Done) are the same on every site: answered here.
_ID_FIELDS = frozenset(
    {"project", "key", "issuetype", "status", "priority", "component", "fixVersion"}
    | {"parent", "Epic Link"}
)
_PROJECT_KEY_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def _names_what_snapshots_lack(clause: Clause) -> bool:
    if clause.field.name not in _ID_FIELDS:
        return False
    for operand in clause.operands:
        if not isinstance(operand, Value):
            continue
        text = operand.text.strip()
        if text.isascii() and text.isdigit():
            return True
        # `project = "Customer Support"` names a project; a snapshot holds only its key. (A
        # key-shaped name, `project = Support` for SUP, cannot be told apart here.)
        if clause.field.name == "project" and not _PROJECT_KEY_RE.match(text):
            return True
    return False


# --- clause evaluation -------------------------------------------------------------------


def _norm(field: FieldDef, value: object) -> str:
    text = str(value).strip().casefold()
    if field.name == "statusCategory":
        return STATUS_CATEGORY_KEYS.get(text, text)
    return text


def _expand(clause: Clause, ctx: _Context) -> tuple[set[str], bool]:
    """Operand strings (normalised) and whether EMPTY is among them."""
    wanted: set[str] = set()
    empty = False
    for operand in clause.operands:
        if isinstance(operand, Empty):
            empty = True
        elif isinstance(operand, Value):
            wanted.add(_norm(clause.field, operand.text))
        else:
            fname = operand.name.casefold()
            if fname == "currentuser" and ctx.current_user is not None:
                wanted.add(ctx.current_user.casefold())
            elif fname == "subtaskissuetypes":
                wanted |= SUBTASK_TYPES
            elif fname == "standardissuetypes":
                wanted.add("\0standard")
    return wanted, empty


def _value_clause(clause: Clause, values: Sequence[object], ctx: _Context) -> bool:
    wanted, empty = _expand(clause, ctx)
    have = {_norm(clause.field, v) for v in values}
    hit = bool(have & wanted)
    if "\0standard" in wanted and have and not have & SUBTASK_TYPES:
        hit = True
    if clause.op in ("=", "in"):
        return hit or (empty and not have)
    # != and NOT IN never match an issue whose field is empty, as in Jira.
    return bool(have) and not hit


def _date_clause(clause: Clause, values: Sequence[object], ctx: _Context) -> bool:
    moments = [dates.aware(v) for v in values if isinstance(v, datetime)]
    targets: list[datetime] = []
    empty = False
    for operand in clause.operands:
        if isinstance(operand, Empty):
            empty = True
        elif isinstance(operand, Value):
            targets.append(dates.resolve_value(operand.text, ctx.now))
        else:
            targets.append(dates.resolve_function(operand.name, operand.args, ctx.now))
    op = clause.op
    if op in ("=", "in"):
        return any(m == t for m in moments for t in targets) or (empty and not moments)
    if op in ("!=", "not in"):
        return bool(moments) and not any(m == t for m in moments for t in targets)
    compare = _COMPARE[op]
    return any(compare(m, t) for m in moments for t in targets)


_COMPARE: dict[str, Callable[[object, object], bool]] = {
    ">": lambda a, b: a > b,  # type: ignore[operator]
    ">=": lambda a, b: a >= b,  # type: ignore[operator]
    "<": lambda a, b: a < b,  # type: ignore[operator]
    "<=": lambda a, b: a <= b,  # type: ignore[operator]
}

_KEY_RE = re.compile(r"^([A-Za-z][A-Za-z0-9_]*)-(\d+)$")


def split_key(key: str) -> tuple[str, int] | None:
    m = _KEY_RE.match(key.strip())
    return (m.group(1).upper(), int(m.group(2))) if m else None


def _key_range(clause: Clause, values: Sequence[object]) -> bool:
    compare = _COMPARE[clause.op]
    for operand in clause.operands:
        target = split_key(operand.text) if isinstance(operand, Value) else None
        for value in values:
            have = split_key(str(value))
            if target and have and have[0] == target[0] and compare(have[1], target[1]):
                return True
    return False


_WORD_RE = re.compile(r"\w+")


def _text_clause(clause: Clause, values: Sequence[object]) -> bool:
    words = {w for v in values for w in _WORD_RE.findall(str(v).casefold())}
    found = all(_term_found(o.text, words, values) for o in clause.operands if isinstance(o, Value))
    return found if clause.op == "~" else not found


def _term_found(query: str, words: set[str], values: Sequence[object]) -> bool:
    query = query.strip()
    if len(query) > 1 and query.startswith('"') and query.endswith('"'):  # an exact phrase
        phrase = query[1:-1].casefold()
        return any(phrase in str(v).casefold() for v in values)
    terms = re.findall(r"[\w*?]+", query.casefold())
    for term in terms:
        if "*" in term or "?" in term:
            pattern = re.compile(re.escape(term).replace(r"\*", r"\w*").replace(r"\?", r"\w"))
            if not any(pattern.fullmatch(w) for w in words):
                return False
        elif term not in words:
            return False
    return bool(terms)


def _sort_key(issue: JqlIssue, name: str, asc: bool) -> tuple[int, object]:
    values = issue.jql_values(name)
    if not values:
        # Jira ranks an empty value above every other: last ascending, first descending.
        return (1, 0)
    value = values[0]
    if isinstance(value, datetime):
        return (0, dates.aware(value).timestamp())
    text = str(value).casefold()
    if name == "priority":
        return (0, PRIORITY_RANK.get(text, 0))
    if name == "statusCategory":
        return (0, STATUS_CATEGORY_RANK.get(_norm_category(text), 0))
    if name in ("key", "parent", "Epic Link"):
        parts = split_key(text)
        return (0, (parts[0], parts[1]) if parts else (text, 0))
    return (0, text)


def _norm_category(text: str) -> str:
    return STATUS_CATEGORY_KEYS.get(text, text)
