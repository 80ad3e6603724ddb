"""OKR lint: rules for goals that are easy to game or hard to steer by (pure, no I/O).

Each rule has an id, a default severity and a switch in the OKR file (`lint: {rule_id: off}`, or
`warning` / `error` to change its severity). A rule reads the declaration and says where the
problem is as a field path (`objectives[2].key_results[0].title`); the line comes from the
positions the loader kept for that path (or its nearest parent).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Literal

from okr_jira.domain.models import METRIC_KINDS, OkrSet

Severity = Literal["warning", "error"]
Setting = Literal["off", "warning", "error"]
SETTINGS: tuple[Setting, ...] = ("off", "warning", "error")

MAX_OBJECTIVES_PER_TEAM = 5
MIN_KEY_RESULTS, MAX_KEY_RESULTS = 2, 5
# Leading verbs that describe work to do rather than a change to achieve. The OKR file extends
# the list with `lint: {activity_verbs: [...]}`.
ACTIVITY_VERBS: tuple[str, ...] = (
    "attend", "begin", "conduct", "do", "draft", "hold", "host", "launch", "meet", "organise",
    "organize", "participate", "plan", "prepare", "present", "run", "schedule", "start", "write",
)  # fmt: skip
# Metric kinds whose number needs a unit to say what is measured (issue_count counts issues).
_UNIT_KINDS = frozenset({"field_sum", "manual"})


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    severity: Severity  # the default
    summary: str


RULES: tuple[Rule, ...] = (
    Rule("objectives_per_team", "warning",
         f"more than {MAX_OBJECTIVES_PER_TEAM} objectives for one team in one cycle"),
    Rule("key_results_per_objective", "warning",
         f"fewer than {MIN_KEY_RESULTS} or more than {MAX_KEY_RESULTS} key results on an "
         "objective (one whose progress comes only from its aligned objectives may have none)"),
    Rule("metric_target", "warning",
         "a metric key result without a measurable target: no target, a target equal to its "
         "start, or (field_sum, manual) no unit saying what is measured"),
    Rule("activity_title", "warning",
         "a key result whose title leads with an activity verb (launch, hold, run, ...) "
         "instead of the outcome"),
    Rule("unaligned_objective", "warning",
         "an objective of a team that has a parent team, aligned to no objective (no parent:)"),
    Rule("indicator_balance", "warning",
         "an objective whose key results all give an indicator and are all lagging, or all "
         "leading"),
)  # fmt: skip
RULE_IDS: tuple[str, ...] = tuple(rule.id for rule in RULES)
_BY_ID = {rule.id: rule for rule in RULES}


@dataclass(frozen=True, slots=True)
class LintConfig:
    """The OKR file's `lint:` section: rule id -> off | warning | error, and more verbs."""

    rules: Mapping[str, Setting] = field(default_factory=dict)
    activity_verbs: tuple[str, ...] = ()

    def setting(self, rule: str) -> Setting:
        return self.rules.get(rule, _BY_ID[rule].severity)


@dataclass(frozen=True, slots=True)
class LintProblem:
    rule: str
    severity: Severity
    path: str
    line: int
    message: str

    def to_dict(self) -> dict[str, object]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "path": self.path,
            "line": self.line,
            "message": self.message,
        }


Finding = tuple[str, str]  # (path, message)
_Check = Callable[[OkrSet, LintConfig], Iterator[Finding]]


def lint_okrs(
    okrs: OkrSet, config: LintConfig, positions: Mapping[str, int] | None = None
) -> list[LintProblem]:
    """Every problem of every rule that is not off, in file order."""
    where = positions or {}
    out: list[LintProblem] = []
    for rule in RULES:
        setting = config.setting(rule.id)
        if setting == "off":
            continue
        for path, message in _CHECKS[rule.id](okrs, config):
            out.append(LintProblem(rule.id, setting, path, line_of(where, path), message))
    out.sort(key=lambda p: (p.line, RULE_IDS.index(p.rule)))
    return out


def line_of(positions: Mapping[str, int], path: str) -> int:
    """The line of `path`, else of its nearest parent path, else 1."""
    while path:
        if path in positions:
            return positions[path]
        cut = max(path.rfind("."), path.rfind("["))
        path = path[:cut] if cut > 0 else ""
    return 1


def _objectives_per_team(okrs: OkrSet, _: LintConfig) -> Iterator[Finding]:
    seen: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, objective in enumerate(okrs.objectives):
        seen[(objective.team, objective.cycle)].append(i)
    for (team, cycle), indexes in seen.items():
        if len(indexes) > MAX_OBJECTIVES_PER_TEAM:
            yield (
                f"objectives[{indexes[MAX_OBJECTIVES_PER_TEAM]}]",
                f"team '{team}' has {len(indexes)} objectives in cycle '{cycle}': keep to at most "
                f"{MAX_OBJECTIVES_PER_TEAM}, so each one gets the team's attention",
            )


def _key_results_per_objective(okrs: OkrSet, _: LintConfig) -> Iterator[Finding]:
    for i, objective in enumerate(okrs.objectives):
        count = len(objective.key_results)
        if count == 0 and objective.rollup == "children":
            continue  # its progress comes from the objectives aligned to it, by design
        if MIN_KEY_RESULTS <= count <= MAX_KEY_RESULTS:
            continue
        advice = (
            "add one, so the objective is not reduced to a single number"
            if count < MIN_KEY_RESULTS
            else "keep the few that say the objective was reached"
        )
        yield (
            f"objectives[{i}].key_results" if count else f"objectives[{i}]",
            f"objective '{objective.key}' has {count} key result{'s' if count != 1 else ''} "
            f"({MIN_KEY_RESULTS} to {MAX_KEY_RESULTS} expected): {advice}",
        )


def _metric_target(okrs: OkrSet, _: LintConfig) -> Iterator[Finding]:
    for i, objective in enumerate(okrs.objectives):
        for j, kr in enumerate(objective.key_results):
            if kr.kind not in METRIC_KINDS:
                continue
            path = f"objectives[{i}].key_results[{j}]"
            start = kr.start if kr.start is not None else 0.0
            if kr.target is None:
                yield path, f"{kr.kind} key result '{kr.key}' has no target to measure against"
            elif kr.target == start:
                yield (
                    f"{path}.target",
                    f"key result '{kr.key}' has target {kr.target:g} equal to its start",
                )
            elif kr.kind in _UNIT_KINDS and not kr.unit:
                yield (
                    f"{path}.target",
                    f"key result '{kr.key}' targets {kr.target:g} but gives no unit: set unit: "
                    "to say what is measured",
                )


_WORD = re.compile(r"[^\W\d_]+")


def _verb_forms(word: str) -> set[str]:
    """`word` and what it could be an inflection of: runs, running, hosted, organises."""
    forms = {word}
    for suffix in ("s", "es", "d", "ed", "ing"):
        if word.endswith(suffix) and len(word) > len(suffix) + 1:
            stem = word[: -len(suffix)]
            forms.add(stem)
            if len(stem) > 2 and stem[-1] == stem[-2]:
                forms.add(stem[:-1])  # running -> run
            forms.add(stem + "e")  # organised -> organise
    return forms


def _activity_title(okrs: OkrSet, config: LintConfig) -> Iterator[Finding]:
    verbs = {v.strip().casefold() for v in (*ACTIVITY_VERBS, *config.activity_verbs)}
    for i, objective in enumerate(okrs.objectives):
        for j, kr in enumerate(objective.key_results):
            first = _WORD.search(kr.title)
            if first is None or kr.title[: first.start()].strip():
                continue  # no word, or the title leads with a number or a sign
            word = first.group().casefold()
            if _verb_forms(word) & verbs:
                yield (
                    f"objectives[{i}].key_results[{j}].title",
                    f"key result '{kr.key}' leads with '{word}', an activity: state "
                    "the outcome it should change (what is measurably different when done)",
                )


def _unaligned_objective(okrs: OkrSet, _: LintConfig) -> Iterator[Finding]:
    parents = {team.key: team.parent for team in okrs.teams}
    for i, objective in enumerate(okrs.objectives):
        if objective.parent is None and parents.get(objective.team):
            yield (
                f"objectives[{i}]",
                f"objective '{objective.key}' of team '{objective.team}' is aligned to nothing: "
                "set parent: to the objective of the parent team it serves",
            )


def _indicator_balance(okrs: OkrSet, _: LintConfig) -> Iterator[Finding]:
    for i, objective in enumerate(okrs.objectives):
        kinds = [kr.indicator for kr in objective.key_results]
        if not kinds or None in kinds or len(set(kinds)) != 1:
            continue
        if kinds[0] == "lagging":
            advice = "add a leading key result the team can move during the cycle"
        else:
            advice = "add a lagging key result that shows the outcome was reached"
        yield (
            f"objectives[{i}].key_results",
            f"every key result of '{objective.key}' is {kinds[0]}: {advice}",
        )


_CHECKS: dict[str, _Check] = {
    "objectives_per_team": _objectives_per_team,
    "key_results_per_objective": _key_results_per_objective,
    "metric_target": _metric_target,
    "activity_title": _activity_title,
    "unaligned_objective": _unaligned_objective,
    "indicator_balance": _indicator_balance,
}
