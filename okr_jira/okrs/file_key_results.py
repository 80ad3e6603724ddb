"""The key results of the OKR file: each one's fields, its source (the selectors and the JQL,
whose syntax errors are placed inside the string) and the checks between them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ruamel.yaml.comments import CommentedMap

from okr_jira.domain.models import KR_KINDS, METRIC_KINDS, SELECTOR_FIELDS, KeyResult, Source
from okr_jira.jql import JqlError, parse_jql
from okr_jira.jql.lexer import tokenize
from okr_jira.okrs.checker import Checker

# A key result's target while the team has not set it (a rollover leaves it so).
TARGET_TO_SET = "tbd"
KR_FIELDS = (
    "key", "title", "kind", "start", "target", "unit", "weight", "indicator", "weight_by",
    "in_progress_credit", "default_weight", "field", "done_only", "source", "carried_from",
)  # fmt: skip
_SOURCE = (*SELECTOR_FIELDS, "include", "exclude")
_HISTORY = frozenset({"was", "changed"})  # JQL's history operators


def a_kind(kind: str) -> str:
    """ "an 'issues'", "a 'manual'": the kind as the file spells it, with the right article."""
    return f"{'an' if kind[:1] in 'aeiou' else 'a'} '{kind}'"


def positive(chk: Checker, m: CommentedMap, name: str, path: str, default: float = 1.0) -> float:
    value = chk.number(m, name, path)
    if value is None:
        return default
    if value <= 0:
        chk.add(m, name, f"{path}.{name}", "must be greater than 0")
        return default
    return value


def key_result(chk: Checker, node: Any, path: str, seq: Any, index: int) -> KeyResult | None:
    m = chk.mapping(node, path, KR_FIELDS, ("key", "title", "kind"), seq, index)
    if m is None:
        return None
    kind = chk.choice(m, "kind", path, KR_KINDS, None)
    key = chk.string(m, "key", path)
    start = chk.number(m, "start", path)
    to_set = isinstance(m.get("target"), str) and m["target"].strip().lower() == TARGET_TO_SET
    target = None if to_set else chk.number(m, "target", path)
    credit = chk.number(m, "in_progress_credit", path)
    if credit is not None and not 0 <= credit <= 1:
        chk.add(m, "in_progress_credit", f"{path}.in_progress_credit", "must be between 0 and 1")
        credit = None
    if to_set and kind is not None and kind not in METRIC_KINDS:
        chk.add(m, "target", f"{path}.target", f"{a_kind(kind)} key result takes no target")
    if kind in METRIC_KINDS and not to_set:
        if target is None and (m.get("target") is None):
            chk.add(m, None if "target" not in m else "target", f"{path}.target",
                    f"{a_kind(kind)} key result needs a target (a number, or '{TARGET_TO_SET}' "
                    "while the team sets it)")  # fmt: skip
        elif target == (start if start is not None else 0.0):
            chk.add(m, "target", f"{path}.target", "target must differ from start")
    source = None
    if "source" in m and m["source"] is not None:
        source = _source(chk, m, path)
        if kind == "manual":
            chk.add(m, "source", f"{path}.source", "a 'manual' key result takes no source")
    elif kind in ("issues", "issue_count", "field_sum"):
        chk.add(m, None, f"{path}.source", f"{a_kind(kind)} key result needs a source")
    field = chk.string(m, "field", path)
    if kind == "field_sum" and field is None:
        chk.add(m, None, f"{path}.field", "a 'field_sum' key result needs a field")
    if kind is None or key is None:
        return None
    return KeyResult(
        key=key,
        title=chk.string(m, "title", path) or "",
        kind=kind,  # type: ignore[arg-type]
        start=start if start is not None else (0.0 if kind in METRIC_KINDS else None),
        target=target,
        unit=chk.string(m, "unit", path),
        weight=positive(chk, m, "weight", path),
        indicator=chk.choice(m, "indicator", path, ("leading", "lagging"), None),  # type: ignore[arg-type]
        weight_by=chk.choice(m, "weight_by", path, ("count", "story_points", "estimate"), "count"),  # type: ignore[arg-type]
        in_progress_credit=credit or 0.0,
        default_weight=positive(chk, m, "default_weight", path),
        field=field,
        done_only=chk.boolean(m, "done_only", path),
        source=source,
        carried_from=chk.string(m, "carried_from", path),
    )


def _source(chk: Checker, kr: CommentedMap, kr_path: str) -> Source | None:
    path = f"{kr_path}.source"
    m = chk.mapping(kr["source"], path, _SOURCE, (), kr, "source")
    if m is None:
        return None
    upper: Callable[[tuple[str, ...]], tuple[str, ...]] = lambda t: tuple(s.upper() for s in t)  # noqa: E731
    jql = None
    if "jql" in m:
        raw = m["jql"]
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            chk.add(m, "jql", f"{path}.jql", "JQL must not be empty")
        elif not isinstance(raw, str):
            chk.add(m, "jql", f"{path}.jql", "must be a string")
        else:
            jql = raw.strip()
            _check_jql(chk, m, f"{path}.jql", raw)
    source = Source(
        jql=jql,
        projects=upper(chk.strings(m, "projects", path)),
        epics=upper(chk.strings(m, "epics", path)),
        issues=upper(chk.strings(m, "issues", path)),
        labels=chk.strings(m, "labels", path),
        components=chk.strings(m, "components", path),
        issue_types=chk.strings(m, "issue_types", path),
        fix_versions=chk.strings(m, "fix_versions", path),
        include=upper(chk.strings(m, "include", path)),
        exclude=upper(chk.strings(m, "exclude", path)),
    )
    if not source.has_selector() and "jql" not in m:
        chk.add(kr, "source", path, f"no selector; use one of: {', '.join(SELECTOR_FIELDS)}")
    return source


def _check_jql(chk: Checker, m: CommentedMap, path: str, raw: str) -> None:
    """A JQL syntax error, where it is inside the string. Unknown fields and functions are left
    to Jira (a custom field this parser does not know is not an error; check-config asks Jira),
    and so is a query with history operators (WAS, CHANGED and their AFTER / DURING / BY ...
    predicates), which this parser does not read in full."""
    lead = len(raw) - len(raw.lstrip())
    jql = raw.strip()
    try:
        if any(t.kind == "word" and t.text.casefold() in _HISTORY for t in tokenize(jql)):
            return
        parse_jql(jql)
    except JqlError as exc:
        if exc.kind != "syntax":
            return
        at = len(jql) - 1 if exc.position is None else exc.position
        chk.add_in_string(m, "jql", path, f"JQL syntax error: {exc.reason}", lead + at)
