"""The stored declaration written back as an OKR file: what `okr-jira export` writes, what web and
API edits are checked through (an edit is the stored file, changed, parsed again), and what
`cycle rollover` appends the next cycle to.

Applying the exported file changes nothing (tests keep it so): parse(dump(okrs)) declares the same
rows as okrs. Fields at their defaults are left out, as people write the file.
"""

from __future__ import annotations

import dataclasses
import io
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from okr_jira.domain.models import (
    METRIC_KINDS,
    SELECTOR_FIELDS,
    Cycle,
    KeyResult,
    Objective,
    OkrSet,
    Source,
    Team,
)
from okr_jira.okrs.file_key_results import TARGET_TO_SET


def number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def flow(items: list[Any]) -> CommentedSeq:
    seq = CommentedSeq(items)
    seq.fa.set_flow_style()
    return seq


def cycle_map(cycle: Cycle) -> CommentedMap:
    m = CommentedMap(key=cycle.key, name=cycle.name, start=cycle.start, end=cycle.end)
    m.fa.set_flow_style()
    return m


def team_map(team: Team) -> CommentedMap:
    m = CommentedMap(key=team.key, name=team.name)
    if team.parent:
        m["parent"] = team.parent
    if team.jira_projects:
        m["jira_projects"] = flow(list(team.jira_projects))
    n = team.notify
    if n.configured():
        notify = CommentedMap()
        if n.slack_env:
            notify["slack"] = CommentedMap(webhook_env=n.slack_env)
        if n.teams_env:
            notify["teams"] = CommentedMap(webhook_env=n.teams_env)
        if n.email:
            notify["email"] = flow(list(n.email))
        m["notify"] = notify
    return m


def source_map(source: Source) -> CommentedMap:
    m = CommentedMap()
    for name in (*SELECTOR_FIELDS, "include", "exclude"):
        value = getattr(source, name)
        if value:
            m[name] = value if isinstance(value, str) else flow(list(value))
    return m


def kr_map(kr: KeyResult) -> CommentedMap:
    defaults = KeyResult(key="", title="", kind=kr.kind)
    m = CommentedMap(key=kr.key, title=kr.title, kind=kr.kind)
    if kr.kind in METRIC_KINDS:
        m["start"] = number(kr.start if kr.start is not None else 0.0)
        m["target"] = number(kr.target) if kr.target is not None else TARGET_TO_SET
    for name in ("unit", "weight", "indicator", "weight_by", "in_progress_credit",
                 "default_weight", "field", "done_only"):  # fmt: skip
        value = getattr(kr, name)
        if value != getattr(defaults, name):
            m[name] = number(value) if isinstance(value, float) else value
    if kr.source is not None:
        m["source"] = source_map(kr.source)
    if kr.carried_from:
        m["carried_from"] = kr.carried_from
    return m


def objective_map(objective: Objective) -> CommentedMap:
    m = CommentedMap(
        key=objective.key, cycle=objective.cycle, team=objective.team, title=objective.title
    )
    defaults = Objective(key="", cycle="", team="", title="")
    for name in ("parent", "weight", "rollup", "description", "cross_cycle", "carried_from"):
        value = getattr(objective, name)
        if value != getattr(defaults, name):
            m[name] = number(value) if isinstance(value, float) else value
    if objective.key_results:
        m["key_results"] = CommentedSeq(kr_map(kr) for kr in objective.key_results)
    return m


def okr_document(okrs: OkrSet) -> CommentedMap:
    return CommentedMap(
        cycles=CommentedSeq(cycle_map(c) for c in okrs.cycles),
        teams=CommentedSeq(team_map(t) for t in okrs.teams),
        objectives=CommentedSeq(objective_map(o) for o in okrs.objectives),
    )


def dump(document: CommentedMap) -> str:
    yaml = YAML(typ="rt")
    yaml.width = 4096  # long JQL stays on one line
    yaml.indent(mapping=2, sequence=4, offset=2)
    out = io.StringIO()
    yaml.dump(document, out)
    return out.getvalue()


_HEADER = "# okr-jira: the stored OKRs, exported. Apply with `okr-jira apply FILE`.\n"


def dump_okr_text(okrs: OkrSet, *, header: bool = True) -> str:
    return (_HEADER if header else "") + dump(okr_document(okrs))


def one_cycle(okrs: OkrSet, cycle: str) -> tuple[OkrSet, int]:
    """The objectives of `cycle`, with the objectives of other cycles they align to (so the file
    stays valid), and how many objectives of other cycles are left out: applying the file would
    archive those. Raises KeyError naming the cycles there are."""
    if cycle not in {c.key for c in okrs.cycles}:
        known = ", ".join(c.key for c in okrs.cycles) or "none"
        raise KeyError(f"no cycle '{cycle}' (cycles: {known})")
    by_key = {o.key: o for o in okrs.objectives}
    keep = {o.key for o in okrs.objectives if o.cycle == cycle}
    for key in list(keep):
        parent = by_key[key].parent
        while parent and parent in by_key and parent not in keep:
            keep.add(parent)
            parent = by_key[parent].parent
    objectives = tuple(o for o in okrs.objectives if o.key in keep)
    return dataclasses.replace(okrs, objectives=objectives), len(okrs.objectives) - len(keep)


def export_okrs(okrs: OkrSet) -> str:
    return dump_okr_text(okrs, header=False)


__all__ = ["dump", "dump_okr_text", "export_okrs", "okr_document", "one_cycle", "source_map"]
