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

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []

    def add(
        self, node: Any, key: str | int | None, path: str, message: str, *, at_key: bool = False
    ) -> None:
        line, col = _position(node, key, at_key=at_key)
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
