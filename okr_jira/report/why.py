"""`okr-jira why ISSUE`: which key results an issue counts toward, what it weighs in each, and the
objectives each one rolls up to, from the stored scope (what the last sync or webhook decided).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session

from okr_jira.domain.progress import issue_weights
from okr_jira.domain.rollup import sort_key
from okr_jira.errors import NotFoundError
from okr_jira.storage.issues import progress_snapshots, snapshots
from okr_jira.storage.links import open_link_ids
from okr_jira.storage.okrs import load_okrs


@dataclass(frozen=True)
class Counted:
    """One key result the issue counts toward."""

    key: str
    title: str
    objective: str
    cycle: str
    weight: float
    unit: str
    share: float  # of the key result's total weight
    path: tuple[str, ...]  # the objective, its parent, ... up to the top

    def json(self) -> dict[str, Any]:
        weight = int(self.weight) if float(self.weight).is_integer() else round(self.weight, 4)
        return {
            "key": self.key,
            "title": self.title,
            "objective": self.objective,
            "cycle": self.cycle,
            "weight": weight,
            "unit": self.unit,
            "share": round(self.share, 4),
            "path": list(self.path),
        }


@dataclass(frozen=True)
class WhyAnswer:
    issue: str
    summary: str
    status: str
    key_results: list[Counted] = field(default_factory=list)

    def json(self) -> dict[str, Any]:
        return {
            "issue": self.issue,
            "summary": self.summary,
            "status": self.status,
            "key_results": [kr.json() for kr in self.key_results],
        }

    def lines(self) -> list[str]:
        out = [f"{self.issue} {self.summary} ({self.status})"]
        if not self.key_results:
            out.append("counts toward no key result")
            return out
        count = len(self.key_results)
        out.append(f"counts toward {count} key result{'s' if count > 1 else ''}:")
        for kr in self.key_results:
            weight = f"{kr.weight:g} {kr.unit}".strip()
            out.append(f"  {kr.key} {kr.title}: weight {weight}, {kr.share:.0%} of it")
            out.append(f"    {' > '.join(kr.path)}")
        return out


def why(*, session: Session, issue: str) -> WhyAnswer:
    key = issue.strip().upper()
    found = snapshots(session=session, keys=[key]).get(key)
    if found is None:
        raise NotFoundError(
            f"{key} is not among the issues okr-jira has read from Jira "
            "(it matches no key result, or no sync has run since it was created)"
        )
    okrs = load_okrs(session=session)
    objectives = {o.key: o for o in okrs.objectives}
    owner = {kr.key: (kr, o) for o in okrs.objectives for kr in o.key_results}
    linked = sorted(
        (kr for kr, _ in open_link_ids(session=session, issues=[key]) if kr in owner), key=sort_key
    )
    scoped = progress_snapshots(session=session, krs=linked)
    answer = WhyAnswer(key, found.summary, found.status)
    for kr_key in linked:
        kr, objective = owner[kr_key]
        weights = {
            w.issue.key: w for w in issue_weights(kr, scoped.get(kr_key, []), field_id=kr.field)
        }
        mine = weights.get(key)
        if mine is None:
            continue  # deleted in Jira since: it no longer counts
        path: list[str] = []
        current = objective.key
        while current in objectives and current not in path:
            path.append(current)
            current = objectives[current].parent or ""
        answer.key_results.append(
            Counted(kr.key, kr.title, objective.key, objective.cycle, mine.weight, mine.unit,
                    mine.share, tuple(path))
        )  # fmt: skip
    return answer
