"""`okr-jira cycle rollover FROM --to NEW`: the OKR file for the next cycle.

The file is the whole stored declaration (so applying it archives nothing) plus the new cycle and
the objectives of FROM that did not finish, each under a new key with `carried_from:` naming the
old one, carrying its unfinished key results (also with new keys and `carried_from:`):

- metric key results (issue_count, field_sum, manual) start where they ended, and their target
  is `tbd`: left for the team to set again. `validate` accepts `tbd` and `apply` stores no target;
  until a number replaces it the key result shows "target to be set" and measures no progress;
- issue key results keep their source (the work still to finish);
- a carried objective stays aligned to its parent when the parent is carried too.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass, replace

from ruamel.yaml.comments import CommentedMap
from sqlmodel import Session

from okr_jira.domain.models import METRIC_KINDS, Cycle, KeyResult, Objective, PaceThresholds
from okr_jira.errors import OkrJiraError
from okr_jira.okrs.export import cycle_map, dump, objective_map, okr_document
from okr_jira.report.evaluate import evaluate_cycle
from okr_jira.storage.okrs import all_keys, archived_cycles, get_cycle, load_okrs

DONE = 1.0 - 1e-9


@dataclass(frozen=True)
class Rollover:
    text: str  # the OKR file
    cycle: Cycle  # the new cycle
    carried: dict[str, str]  # old objective key -> new key
    carried_krs: dict[str, str]
    finished: list[str]  # objectives of FROM left behind (done)


def next_cycle(old: Cycle, key: str, name: str | None) -> Cycle:
    """The cycle after `old`: from the day after it ends, as many whole months long when it ran
    whole months (a quarter after a quarter), else as many days."""
    start = old.end + dt.timedelta(days=1)
    whole_months = old.start.day == 1 and old.end.day == _last_day(old.end)
    if whole_months:
        months = (old.end.year - old.start.year) * 12 + old.end.month - old.start.month + 1
        year, month = divmod(start.month - 1 + months - 1, 12)
        end_year, end_month = start.year + year, month + 1
        end = dt.date(end_year, end_month, _last_day(dt.date(end_year, end_month, 1)))
    else:
        end = start + (old.end - old.start)
    return Cycle(key=key, name=name or key, start=start, end=end)


def _last_day(day: dt.date) -> int:
    return calendar.monthrange(day.year, day.month)[1]


def _suffix(cycle_key: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "", cycle_key)


def rollover(
    *,
    session: Session,
    source: str,
    to: str,
    thresholds: PaceThresholds,
    now: dt.datetime,
    name: str | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> Rollover:
    old = get_cycle(session=session, key=source)
    if to == old.key:
        raise OkrJiraError("the new cycle must differ from the one rolled over")
    declared = load_okrs(session=session)
    gone = archived_cycles(session=session)
    existing = next((c for c in declared.cycles if c.key == to), None)
    new = existing or next_cycle(old, to, name)
    new = replace(new, start=start or new.start, end=end or new.end)
    if new.end < new.start:
        raise OkrJiraError(f"cycle {to}: end {new.end} is before start {new.start}")
    # The final scores when the cycle was reviewed, else its state now.
    report = evaluate_cycle(session=session, cycle=old.key, thresholds=thresholds, now=now)
    taken = all_keys(session=session)
    old_suffix, new_suffix = _suffix(old.key), _suffix(new.key)

    def fresh(key: str) -> str:
        base = key[: -len(old_suffix) - 1] if key.endswith(f"-{old_suffix}") else key
        candidate, n = f"{base}-{new_suffix}", 2
        while candidate in taken:
            candidate, n = f"{base}-{new_suffix}-{n}", n + 1
        taken.add(candidate)
        return candidate

    unfinished = [node for node in report.all_nodes() if node.progress < DONE]
    carried = {node.objective.key: fresh(node.objective.key) for node in unfinished}
    carried_krs: dict[str, str] = {}
    objectives: list[tuple[Objective, list[str]]] = []
    for node in unfinished:
        o = node.objective
        new_key = carried[o.key]
        notes = []
        krs = []
        for kr, state in node.key_results:
            if state.progress >= DONE:
                notes.append(f"{kr.key} finished in {old.key}: not carried")
                continue
            kr_key = (
                new_key + kr.key[len(o.key):] if kr.key.startswith(o.key + ".") else fresh(kr.key)
            )  # fmt: skip
            taken.add(kr_key)
            carried_krs[kr.key] = kr_key
            krs.append(_carried_kr(kr, kr_key, state.current))
        parent = carried.get(o.parent or "")
        if o.parent and parent is None:
            notes.append(f"was aligned to {o.parent}, which finished in {old.key}")
        objectives.append((
            replace(o, key=new_key, cycle=new.key, key_results=tuple(krs), parent=parent,
                    cross_cycle=False, carried_from=o.key),
            notes,
        ))  # fmt: skip
    keep = replace(declared, cycles=tuple(c for c in declared.cycles if c.key not in gone))
    document = okr_document(keep)
    if existing is None:
        document["cycles"].append(cycle_map(new))
    for objective, notes in objectives:
        m = objective_map(objective)
        _note_targets(m, objective)
        if notes:
            m.yaml_set_start_comment("; ".join(notes), indent=2)
        document["objectives"].append(m)
    finished = [n.objective.key for n in report.all_nodes() if n.progress >= DONE]
    header = (
        f"OKR file written by `okr-jira cycle rollover {old.key} --to {new.key}` on "
        f"{now.date().isoformat()}.\n"
        f"Carried {len(objectives)} unfinished objective(s) of {old.name} into {new.name}; "
        f"finished ones stay behind: {', '.join(finished) or 'none'}.\n"
        "Targets marked `tbd` are for the team to set again: `okr-jira validate` accepts them,\n"
        "and those key results measure no progress until a number replaces `tbd`."
    )
    document.yaml_set_start_comment(header)
    return Rollover(dump(document), new, carried, carried_krs, finished)


def _carried_kr(kr: KeyResult, key: str, current: float | None) -> KeyResult:
    if kr.kind not in METRIC_KINDS:
        return replace(kr, key=key, carried_from=kr.key)
    start = kr.start if current is None else round(current, 6)
    return replace(kr, key=key, start=start, target=None, carried_from=kr.key)


def _note_targets(m: CommentedMap, objective: Objective) -> None:
    """A comment on each `target: tbd` saying what it was, for the team deciding the new one."""
    for node, kr in zip(m.get("key_results") or [], objective.key_results, strict=True):
        if kr.kind in METRIC_KINDS and kr.carried_from:
            node.yaml_add_eol_comment(f"to set: carried from {kr.carried_from}", "target")
