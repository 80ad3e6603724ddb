"""What each page of a cycle is made from, hashed: planning compares it with the fingerprint
stored when the page was last written, so an unchanged page is known without rendering it.

A page's fingerprint covers everything its renderer reads: the cycle, the day, the thresholds,
the space and the Jira base URL (`ContextOptions`), the code that renders and computes (a hash of
its sources), the objective and its key results as declared, their team, check-ins, health
signals, carried-from title and daily histories (what the charts draw and "last change" says),
and what its progress is computed from, down the whole subtree (an objective shows its aligned
objectives' progress): each KR's declaration, its scope mark (storage/page_inputs.py: any change
of the issues it lists moves it), its latest checked-in value and its mapping state. Progress
itself is not computed here (that reads every linked issue); a page whose inputs moved is
rendered when it is written, and written only if its content changed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path

from sqlmodel import Session

from okr_jira.domain.health import HealthReport
from okr_jira.domain.models import Cycle, Objective, ObjectiveNode, Team
from okr_jira.domain.rollup import build_tree, walk
from okr_jira.publish.context import ContextOptions, carried_titles, epic_clause
from okr_jira.report.evaluate import evaluate_cycle, reading_day
from okr_jira.report.health import stored_health
from okr_jira.report.stored import declared_okrs
from okr_jira.storage.checkins import checkins_of, latest_values
from okr_jira.storage.okrs import cycle_frozen_at, mapping_errors, unresolved_mappings
from okr_jira.storage.page_inputs import history_marks, scope_marks

_PACKAGE = Path(__file__).resolve().parent.parent
# The code a page's content depends on: any change of it renders every page once more.
_SOURCES = ("render", "domain", "report", "publish", "adapters/jira_fields.py")


@cache
def code_version() -> str:
    digest = hashlib.sha256()
    for name in _SOURCES:
        path = _PACKAGE / name
        for source in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            digest.update(source.relative_to(_PACKAGE).as_posix().encode() + b"\0")
            digest.update(source.read_bytes())
    return digest.hexdigest()


def _hash(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class PageInputs:
    """The cycle's tree as declared (no progress) and each page's fingerprint."""

    cycle: Cycle
    today: dt.date
    roots: tuple[ObjectiveNode, ...]
    teams: dict[str, str]
    health: HealthReport | None
    root: str  # the root page's fingerprint
    objectives: dict[str, str] = field(default_factory=dict)  # objective key -> fingerprint

    def walk(self) -> Iterable[tuple[ObjectiveNode, ObjectiveNode | None, int]]:
        return walk(self.roots)


def page_inputs(
    *,
    session: Session,
    cycle: str | None,
    options: ContextOptions,
    now: dt.datetime,
) -> PageInputs:
    """Fingerprints of the root page and every objective page of `cycle` as of `now`."""
    generated, tz, today, day, the_cycle = reading_day(
        session=session, cycle=cycle, on=None, now=now
    )
    declared = declared_okrs(session)
    objectives = [o for o in declared.objectives if o.cycle == the_cycle.key]
    krs = [kr.key for o in objectives for kr in o.key_results]
    frozen = cycle_frozen_at(session=session, key=the_cycle.key)
    # The issues a page lists come from the open links in either case.
    scope = scope_marks(session=session, krs=krs)
    kr_marks: dict[str, object]
    if frozen is not None:
        # A frozen cycle's progress comes from its recorded history: cheap to evaluate.
        report = evaluate_cycle(
            session=session, cycle=the_cycle.key, thresholds=options.thresholds, now=generated
        )
        states = {kr.key: kp for node in report.all_nodes() for kr, kp in node.key_results}
        kr_marks = {k: (scope.get(k), states.get(k)) for k in krs}
    else:
        values = latest_values(session=session, krs=krs)
        errors = mapping_errors(session=session)
        unsynced = unresolved_mappings(session=session)
        kr_marks = {k: (scope.get(k), values.get(k), errors.get(k), k in unsynced) for k in krs}
    checkins = checkins_of(session=session, objectives=[o.key for o in objectives])
    marks = history_marks(session=session, subjects=[o.key for o in objectives] + krs)
    histories = {
        kind: {s: m for (k, s), m in marks.items() if k == kind} for kind in ("objective", "kr")
    }
    health = stored_health(session=session, cycle=the_cycle.key)
    teams: dict[str, Team] = {t.key: t for t in declared.teams}
    team_names = {key: team.name for key, team in teams.items()}
    carried = carried_titles(session, {o.key: o for o in objectives})
    common = _hash(code_version(), the_cycle, day, frozen, options, str(tz), epic_clause(session))
    roots = tuple(build_tree(objectives, {}))

    subtree: dict[str, str] = {}

    def digest(node: ObjectiveNode) -> str:
        """What the node's progress (and its KRs') is computed from, down its subtree: not the
        titles, which only the pages showing them hash (a renamed objective is one rename)."""
        objective = node.objective
        own = [(replace(kr, title=""), kr_marks.get(kr.key)) for kr in objective.key_results]
        subtree[objective.key] = _hash(
            replace(objective, title="", description=None, key_results=()),
            own,
            [digest(c) for c in node.children],
        )
        return subtree[objective.key]

    for root in roots:
        digest(root)
    inputs = PageInputs(the_cycle, today, roots, team_names, health, root="")
    shown = []
    for node, parent, depth in inputs.walk():
        objective: Objective = node.objective
        key = objective.key
        shown.append(
            (depth, key, objective.title, team_names.get(objective.team), subtree[key],
             len(objective.key_results))
        )  # fmt: skip
        inputs.objectives[key] = _hash(
            common,
            subtree[key],
            replace(objective, title=""),  # the page's title is not in its body
            [(child.objective.key, child.objective.title) for child in node.children],
            (parent.objective.key, parent.objective.title) if parent else None,
            teams.get(objective.team),
            checkins.get(key, ()),
            carried.get(key),
            histories["objective"].get(key),
            [histories["kr"].get(kr.key) for kr in objective.key_results],
            health.on_objective_page(objective) if health else None,
        )
    signals = None if health is None else len(health.signals)
    root_hash = _hash(common, "root", shown, histories, signals)
    return PageInputs(the_cycle, today, roots, team_names, health, root_hash, inputs.objectives)
