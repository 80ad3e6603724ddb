"""Edits of the declaration from the web app and the API: create, change and archive objectives
and key results, and set a key result's source.

Every edit is the stored declaration written as an OKR file, changed, and parsed again by the
file's own rules; then planned and applied like `okr-jira apply`, so each change is audited
old -> new with its actor, and `okr-jira export` followed by `apply` stays a no-op.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from okr_jira.domain.models import KeyResult, Objective, OkrSet, PaceThresholds, Source
from okr_jira.errors import NotFoundError, OkrFileError, OkrJiraError
from okr_jira.okrs.export import dump_okr_text
from okr_jira.okrs.file import parse_okr_text
from okr_jira.okrs.plan import Plan, apply_plan, make_plan
from okr_jira.report.record import record_affected
from okr_jira.storage.locks import lock_declaration
from okr_jira.storage.okrs import archived_cycles, load_okrs
from okr_jira.storage.tables import utcnow


class EditError(OkrJiraError):
    """An edit the file's rules refuse: (field, message) pairs, fields named as in the request."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{f}: {m}" if f else m for f, m in problems))


class ConflictError(OkrJiraError):
    """The edit contradicts what is stored (a key in use, aligned objectives left behind)."""


@dataclass(frozen=True)
class Edited:
    plan: Plan
    okrs: OkrSet  # the declaration after the edit


def declared(session: Session) -> OkrSet:
    """The stored declaration as the OKR file would say it (archived cycles left out)."""
    okrs = load_okrs(session=session)
    gone = archived_cycles(session=session)
    return dataclasses.replace(okrs, cycles=tuple(c for c in okrs.cycles if c.key not in gone))


def create_objective(
    session: Session, values: Mapping[str, Any], *, actor: str, thresholds: PaceThresholds
) -> Edited:
    """Add an objective (without key results; add those one by one)."""
    key = str(values.get("key", ""))

    def change(objectives: list[Objective]) -> int:
        _refuse_taken(objectives, key)
        objectives.append(Objective(**{**dict(values), "key_results": ()}))
        return len(objectives) - 1

    return _edit(session, change, actor=actor, thresholds=thresholds)


def update_objective(
    session: Session,
    key: str,
    changes: Mapping[str, Any],
    *,
    actor: str,
    thresholds: PaceThresholds,
) -> Edited:
    def change(objectives: list[Objective]) -> int:
        i = _objective_index(objectives, key)
        objectives[i] = dataclasses.replace(objectives[i], **changes)
        return i

    return _edit(session, change, actor=actor, thresholds=thresholds)


def archive_objective(
    session: Session, key: str, *, actor: str, thresholds: PaceThresholds
) -> Edited:
    """Archive an objective and its key results (history kept, as when the file drops it)."""

    def change(objectives: list[Objective]) -> int:
        i = _objective_index(objectives, key)
        aligned = sorted(o.key for o in objectives if o.parent == key)
        if aligned:
            raise ConflictError(
                f"objective '{key}' has aligned objectives ({', '.join(aligned)}): "
                "align them elsewhere or archive them first"
            )
        del objectives[i]
        return -1

    return _edit(session, change, actor=actor, thresholds=thresholds)


def create_key_result(
    session: Session,
    objective: str,
    values: Mapping[str, Any],
    *,
    actor: str,
    thresholds: PaceThresholds,
) -> Edited:
    key = str(values.get("key", ""))

    def change(objectives: list[Objective]) -> tuple[int, int]:
        if any(kr.key == key for o in objectives for kr in o.key_results):
            raise ConflictError(f"key result '{key}' already exists")
        i = _objective_index(objectives, objective)
        krs = (*objectives[i].key_results, KeyResult(**values))
        objectives[i] = dataclasses.replace(objectives[i], key_results=krs)
        return i, len(krs) - 1

    return _edit(session, change, actor=actor, thresholds=thresholds, touched={key})


def update_key_result(
    session: Session,
    key: str,
    changes: Mapping[str, Any],
    *,
    actor: str,
    thresholds: PaceThresholds,
) -> Edited:
    """Change a key result's fields; `source` (a domain Source or None) included."""

    def change(objectives: list[Objective]) -> tuple[int, int]:
        i, j = _kr_index(objectives, key)
        krs = list(objectives[i].key_results)
        krs[j] = dataclasses.replace(krs[j], **changes)
        objectives[i] = dataclasses.replace(objectives[i], key_results=tuple(krs))
        return i, j

    # A new source is resolved by the next sync; until then the KR keeps its recorded progress.
    touched = set() if set(changes) <= {"source"} else {key}
    return _edit(session, change, actor=actor, thresholds=thresholds, touched=touched)


def set_source(
    session: Session, key: str, source: Source, *, actor: str, thresholds: PaceThresholds
) -> Edited:
    return update_key_result(session, key, {"source": source}, actor=actor, thresholds=thresholds)


def archive_key_result(
    session: Session, key: str, *, actor: str, thresholds: PaceThresholds
) -> Edited:
    def change(objectives: list[Objective]) -> int:
        i, j = _kr_index(objectives, key)
        krs = list(objectives[i].key_results)
        del krs[j]
        objectives[i] = dataclasses.replace(objectives[i], key_results=tuple(krs))
        return -1

    return _edit(session, change, actor=actor, thresholds=thresholds)


# --- the one edit path -------------------------------------------------------------------------

Change = Callable[[list[Objective]], "int | tuple[int, int]"]


def _edit(
    session: Session,
    change: Change,
    *,
    actor: str,
    thresholds: PaceThresholds,
    touched: set[str] | None = None,
) -> Edited:
    lock_declaration(session)
    current = declared(session)
    objectives = list(current.objectives)
    focus = change(objectives)
    wanted = dataclasses.replace(current, objectives=tuple(objectives))
    try:
        okrs = parse_okr_text(dump_okr_text(wanted, header=False), "<edit>", allow_empty=True)
    except OkrFileError as exc:
        raise EditError([(_field(p.field, focus), p.message) for p in exc.problems]) from None
    plan = make_plan(session, okrs)
    if not plan.empty:
        apply_plan(session, plan, actor=actor, now=utcnow())
        if touched:
            record_affected(
                session=session, okrs=okrs, krs=touched, now=utcnow(), thresholds=thresholds
            )
    return Edited(plan, okrs)


def _field(path: str, focus: int | tuple[int, int]) -> str:
    """A problem's path in the file, as the request names it: `target`, `source.jql`."""
    if isinstance(focus, tuple):
        prefix = f"objectives[{focus[0]}].key_results[{focus[1]}]"
    elif focus >= 0:
        prefix = f"objectives[{focus}]"
    else:
        return path
    if path == prefix:
        return ""
    if path.startswith(prefix + "."):
        return path[len(prefix) + 1 :]
    return path


def _objective_index(objectives: list[Objective], key: str) -> int:
    for i, o in enumerate(objectives):
        if o.key == key:
            return i
    raise NotFoundError(f"objective '{key}' does not exist")


def _kr_index(objectives: list[Objective], key: str) -> tuple[int, int]:
    for i, o in enumerate(objectives):
        for j, kr in enumerate(o.key_results):
            if kr.key == key:
                return i, j
    raise NotFoundError(f"key result '{key}' does not exist")


def _refuse_taken(objectives: list[Objective], key: str) -> None:
    if any(o.key == key for o in objectives):
        raise ConflictError(f"objective '{key}' already exists")


_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def valid_key(key: str) -> bool:
    """Keys name pages and URLs: letters, digits, '.', '_' and '-', at most 64."""
    return bool(_KEY.fullmatch(key))
