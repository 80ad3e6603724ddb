"""Walking the parsed OKR YAML: typed field reads that collect every problem with its position
(1-based line and column, and the field path) instead of stopping at the first."""

from __future__ import annotations

import datetime as dt
import difflib
import math
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from okr_jira.errors import Problem


class Checker:
    """Walks the parsed YAML, collecting problems with their positions."""

    def __init__(self, file: str, text: str = "") -> None:
        self.file = file
        self.text = text  # the file's text, to point inside a string (a JQL error's column)
        self.problems: list[Problem] = []

    def add(
        self, node: Any, key: str | int | None, path: str, message: str, *, at_key: bool = False
    ) -> None:
        line, col = _position(node, key, at_key=at_key)
        self.problems.append(Problem(self.file, line, col, path, message))

    def add_in_string(
        self, node: CommentedMap, key: str, path: str, message: str, offset: int
    ) -> None:
        """A problem at character `offset` of the string `node[key]` (a JQL syntax error)."""
        line, col = _position(node, key)
        value = node[key]
        if self.text and isinstance(value, str):
            line, col = string_position(self.text, line - 1, col - 1, value, offset)
        self.problems.append(Problem(self.file, line, col, path, message))

    def mapping(
        self,
        node: Any,
        path: str,
        allowed: tuple[str, ...],
        required: tuple[str, ...],
        parent: Any = None,
        parent_key: str | int | None = None,
    ) -> CommentedMap | None:
        if not isinstance(node, CommentedMap):
            self.add(parent, parent_key, path, "must be a mapping")
            return None
        for name in node:
            if name not in allowed:
                hint = _did_you_mean(str(name), allowed)
                self.add(node, name, f"{path}.{name}", f"unknown field{hint}", at_key=True)
        for name in required:
            if name not in node or node[name] is None:
                self.add(node, None, f"{path}.{name}", "missing required field")
        return node

    def string(self, node: CommentedMap, name: str, path: str) -> str | None:
        if name not in node or node[name] is None:
            return None
        value = node[name]
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.add(node, name, f"{path}.{name}", "must be a string")
            return None
        text = str(value).strip()
        if not text:
            self.add(node, name, f"{path}.{name}", "must not be empty")
            return None
        return text

    def number(self, node: CommentedMap, name: str, path: str) -> float | None:
        if name not in node or node[name] is None:
            return None
        value = node[name]
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            self.add(node, name, f"{path}.{name}", "must be a number")
            return None
        return float(value)

    def boolean(self, node: CommentedMap, name: str, path: str) -> bool:
        value = node.get(name)
        if value is None:
            return False
        if not isinstance(value, bool):
            self.add(node, name, f"{path}.{name}", "must be true or false")
            return False
        return value

    def date(self, node: CommentedMap, name: str, path: str) -> dt.date | None:
        value = node.get(name)
        if value is None:
            return None
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value.strip())
            except ValueError:
                pass
        self.add(node, name, f"{path}.{name}", "must be a date (YYYY-MM-DD)")
        return None

    def strings(self, node: CommentedMap, name: str, path: str) -> tuple[str, ...]:
        value = node.get(name)
        if value is None:
            return ()
        if not isinstance(value, CommentedSeq):
            self.add(node, name, f"{path}.{name}", "must be a list")
            return ()
        out: list[str] = []
        for i, item in enumerate(value):
            if (
                isinstance(item, bool)
                or not isinstance(item, str | int | float)
                or not str(item).strip()
            ):
                self.add(value, i, f"{path}.{name}[{i}]", "must be a non-empty string")
                continue
            out.append(str(item).strip())
        return tuple(out)

    def choice(self, node: CommentedMap, name: str, path: str, choices: tuple[str, ...],
               default: str | None) -> str | None:  # fmt: skip
        value = node.get(name)
        if value is None:
            return default
        if value not in choices:
            self.add(node, name, f"{path}.{name}", f"must be one of {', '.join(choices)}")
            return default
        return str(value)

    def sequence(self, root: CommentedMap, name: str) -> list[tuple[int, Any]]:
        value = root.get(name)
        if value is None:
            return []
        if not isinstance(value, CommentedSeq):
            self.add(root, name, name, "must be a list")
            return []
        return list(enumerate(value))


def positions(root: Any) -> dict[str, int]:
    """Field path (as problems name it: `objectives[2].key_results[0].title`) -> 1-based line."""
    out: dict[str, int] = {}

    def walk(node: Any, path: str) -> None:
        if isinstance(node, CommentedMap):
            for key in node:
                sub = f"{path}.{key}" if path else str(key)
                out[sub] = _position(node, key, at_key=True)[0]
                walk(node[key], sub)
        elif isinstance(node, CommentedSeq):
            for i, item in enumerate(node):
                sub = f"{path}[{i}]"
                out[sub] = _position(node, i)[0]
                walk(item, sub)

    walk(root, "")
    return out


def string_position(text: str, line: int, col: int, value: str, offset: int) -> tuple[int, int]:
    """1-based line and column of `value[offset]` in the YAML scalar that starts at 0-based
    (`line`, `col`) of `text`: plain, quoted or block. The parsed value is walked along the raw
    text, skipping what YAML folds or unescapes; where they part, the last place both agree is
    the answer. Never a place outside the scalar."""
    lines = text.split("\n")
    p = sum(len(s) + 1 for s in lines[:line]) + col
    quote = text[p] if p < len(text) and text[p] in "'\"" else ""
    if quote:
        p += 1
    elif p < len(text) and text[p] in "|>":  # block scalar: the content starts a line below
        end = text.find("\n", p)
        p = len(text) if end < 0 else end + 1
        while p < len(text) and text[p] == " ":
            p += 1
    offset = max(0, min(offset, len(value) - 1))
    i = 0
    while i < offset and p < len(text):
        want, got = value[i], text[p]
        if want == got:
            i, p = i + 1, p + 1
        elif want.isspace():  # a folded line break, or a run of spaces YAML kept as one
            i += 1
            while p < len(text) - 1 and text[p] in " \t\r\n":
                p += 1
        elif got in " \t\r\n" or (quote and got in "\\" + quote):
            p += 1  # indentation, or an escape / doubled quote that became one character
        else:
            break
    p = min(p, len(text) - 1)
    before = text[:p]
    return before.count("\n") + 1, p - (before.rfind("\n") + 1) + 1


def _position(node: Any, key: str | int | None, *, at_key: bool = False) -> tuple[int, int]:
    """1-based line and column of `node[key]` (or of the key itself, or of node)."""
    lc = getattr(node, "lc", None)
    if lc is None:
        return (1, 1)
    try:
        if key is not None and isinstance(node, CommentedMap) and key in node:
            line, col = lc.value(key) if node[key] is not None and not at_key else lc.key(key)
        elif key is not None and isinstance(node, CommentedSeq) and isinstance(key, int):
            line, col = lc.item(key)
        else:
            line, col = lc.line, lc.col
    except (KeyError, IndexError, TypeError):
        line, col = lc.line, lc.col
    return (line + 1, col + 1)


def _did_you_mean(name: str, allowed: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(name, allowed, n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""
