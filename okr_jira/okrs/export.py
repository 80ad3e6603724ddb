"""The declaration as an OKR file: what `okr-jira export` writes, and how web and API edits are
checked by the file's own rules (an edit is the stored file, changed, parsed again).

Only what differs from the file's defaults is written, so `apply` takes the output back as a
no-op: parse(dump(okrs)) declares the same rows as okrs.
"""

from __future__ import annotations

import io
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from okr_jira.domain.models import SELECTOR_FIELDS, KeyResult, Objective, OkrSet, Source

_HEADER = "# okr-jira: the stored OKRs, exported. Apply with `okr-jira apply FILE`.\n"


def dump_okr_text(okrs: OkrSet, *, header: bool = True) -> str:
    root = CommentedMap()
    root["cycles"] = _seq(
        _map(key=c.key, name=c.name, start=c.start, end=c.end) for c in okrs.cycles
    )
    root["teams"] = _seq(
        _map(key=t.key, name=t.name, parent=t.parent, jira_projects=_flow(t.jira_projects))
        for t in okrs.teams
    )
    root["objectives"] = _seq(_objective(o) for o in okrs.objectives)
    out = io.StringIO()
    yaml = YAML(typ="rt")
    yaml.width = 4096  # long JQL stays on one line
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.dump(root, out)
    return (_HEADER if header else "") + out.getvalue()


def _objective(o: Objective) -> CommentedMap:
    return _map(
        key=o.key, cycle=o.cycle, team=o.team, title=o.title, parent=o.parent,
        weight=None if o.weight == 1.0 else _number(o.weight),
        rollup=None if o.rollup == "both" else o.rollup,
        description=o.description, cross_cycle=True if o.cross_cycle else None,
        key_results=_seq(_key_result(kr) for kr in o.key_results) or None,
    )  # fmt: skip


def _key_result(kr: KeyResult) -> CommentedMap:
    return _map(
        key=kr.key, title=kr.title, kind=kr.kind,
        start=_number(kr.start), target=_number(kr.target), unit=kr.unit,
        weight=None if kr.weight == 1.0 else _number(kr.weight),
        indicator=kr.indicator,
        weight_by=None if kr.weight_by == "count" else kr.weight_by,
        in_progress_credit=_number(kr.in_progress_credit) or None,
        default_weight=None if kr.default_weight == 1.0 else _number(kr.default_weight),
        field=kr.field, done_only=True if kr.done_only else None,
        source=None if kr.source is None else source_map(kr.source),
    )  # fmt: skip


def source_map(source: Source) -> CommentedMap:
    """A source as the file writes it (also the API's `source` object, as plain data)."""
    values: dict[str, Any] = {"jql": source.jql}
    for name in (*SELECTOR_FIELDS[1:], "include", "exclude"):
        values[name] = _flow(getattr(source, name))
    return _map(**values)


def _map(**values: Any) -> CommentedMap:
    m = CommentedMap()
    for name, value in values.items():
        if value is not None and value != ():
            m[name] = value
    return m


def _seq(items: Any) -> CommentedSeq:
    return CommentedSeq(list(items))


def _flow(values: tuple[str, ...]) -> CommentedSeq | None:
    if not values:
        return None
    seq = CommentedSeq(values)
    seq.fa.set_flow_style()
    return seq


def _number(value: float | None) -> float | int | None:
    if value is None:
        return None
    return int(value) if float(value).is_integer() else value
