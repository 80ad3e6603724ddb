"""Recording a check-in: what the CLI (`okr-jira checkin`), the APIs and the web pages call.

KEY names an objective or one of its key results. Every value is checked against its range first
(nothing half-read is stored); a value goes only to a manual key result; a closed (reviewed) cycle
takes only retrospective notes. A manual key result's new value is recorded as its progress at
once, so the tree and the pages show it without waiting for a sync.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlmodel import Session

from okr_jira.domain.checkins import CheckIn, parse_confidence, parse_text, parse_value
from okr_jira.domain.models import PaceThresholds
from okr_jira.errors import InvalidInput, NotFoundError
from okr_jira.report.record import record_affected
from okr_jira.storage.checkins import add_checkin
from okr_jira.storage.okrs import cycle_frozen_at, get_key_result, get_objective, load_okrs


@dataclass(frozen=True)
class Recorded:
    checkin: CheckIn
    cycle: str
    kind: str | None  # the KR's kind, None for an objective check-in

    def describe(self) -> str:
        c = self.checkin
        parts = []
        if c.value is not None:
            parts.append(f"value {c.value:g}")
        if c.confidence is not None:
            parts.append(f"confidence {c.confidence}/10")
        if c.note:
            parts.append(f"note {c.note!r}")
        if c.blockers:
            parts.append(f"blockers {c.blockers!r}")
        if c.retro:
            parts.append("retrospective note")
        return f"{c.subject}: checked in " + ", ".join(parts)


def record_checkin(
    *,
    session: Session,
    key: str,
    value: object = None,
    confidence: object = None,
    note: object = None,
    blockers: object = None,
    retro: object = None,
    author: str | None,
    now: dt.datetime,
    thresholds: PaceThresholds,
) -> Recorded:
    """Check every field, then store one check-in row; raises InvalidInput / NotFoundError."""
    parsed_value = parse_value(value)
    parsed_confidence = parse_confidence(confidence)
    texts = {name: parse_text(name, raw) for name, raw in
             (("note", note), ("blockers", blockers), ("retro", retro))}  # fmt: skip
    if parsed_value is None and parsed_confidence is None and not any(texts.values()):
        raise InvalidInput(
            "checkin", "nothing to check in: give a value, a confidence, a note, blockers or a "
            "retrospective note"
        )  # fmt: skip
    kr_key, kind = None, None
    try:
        kr_row = get_key_result(session=session, key=key)
        objective_key, kr_key, kind = kr_row.objective, kr_row.key, kr_row.kind
    except NotFoundError:
        try:
            objective_key = get_objective(session=session, key=key).key
        except NotFoundError:
            raise NotFoundError(
                f"'{key}' does not exist: no objective or key result has that key"
            ) from None
    objective = get_objective(session=session, key=objective_key)
    if parsed_value is not None:
        if kind is None:
            raise InvalidInput(
                "value", f"{key} is an objective: values go on its manual key results"
            )
        if kind != "manual":
            raise InvalidInput(
                "value",
                f"{key} is a key result of kind {kind}: its value comes from Jira, not "
                "check-ins (check in a confidence or a note instead)",
            )
    if texts["retro"] and kr_key is not None:
        raise InvalidInput(
            "retro", f"a retrospective note is per objective: check it in on {objective_key}"
        )
    weekly = (
        parsed_value is not None
        or parsed_confidence is not None
        or any(texts[name] for name in ("note", "blockers"))
    )
    if weekly and cycle_frozen_at(session=session, key=objective.cycle) is not None:
        raise InvalidInput(
            "cycle",
            f"cycle {objective.cycle} is closed (its scores are frozen): only a retrospective "
            "note can be added",
        )
    row = add_checkin(
        session=session, objective=objective_key, kr=kr_key, value=parsed_value,
        confidence=parsed_confidence, note=texts["note"], blockers=texts["blockers"],
        retro=texts["retro"], author=author, at=now,
    )  # fmt: skip
    if parsed_value is not None and kr_key is not None:
        record_affected(
            session=session, okrs=load_okrs(session=session), krs={kr_key}, now=now,
            thresholds=thresholds, reason="checkin",
        )  # fmt: skip
    checkin = CheckIn(
        objective=objective_key, kr=kr_key, at=row.created_at, value=parsed_value,
        confidence=parsed_confidence, note=texts["note"], blockers=texts["blockers"],
        retro=texts["retro"],
    )  # fmt: skip
    return Recorded(checkin=checkin, cycle=objective.cycle, kind=kind)
