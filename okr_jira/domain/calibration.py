"""Calibration across teams: overlaps between teams' scopes, score distribution, sandbagging.

Pure functions over `HealthInputs` (see `guardrails.py` for the other rules). Teams are compared,
never people: okr-jira keeps no assignee, so no score per person can exist.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from itertools import combinations

from okr_jira.domain.health import (
    BANDS,
    HealthInputs,
    Overlap,
    Signal,
    TeamScores,
    make_signal,
)
from okr_jira.domain.models import KeyResult, Objective
from okr_jira.domain.pace import score

Owners = dict[str, tuple[Objective, KeyResult]]
_DONE = 1.0  # a score of 1.0: the key result fully reached


def _lines(inputs: HealthInputs) -> dict[str, set[str]]:
    """team -> itself and its ancestors in the org chart."""
    out: dict[str, set[str]] = {}
    for key in inputs.teams:
        seen: set[str] = set()
        at: str | None = key
        while at is not None and at not in seen:
            seen.add(at)
            team = inputs.teams.get(at)
            at = team.parent if team else None
        out[key] = seen
    return out


def find_overlaps(inputs: HealthInputs, owners: Owners) -> list[Overlap]:
    """Issues in the open scope of KRs of teams that are not in one line of the org chart."""
    # Set operations (in C) find the issues in more than one open scope; only those are walked.
    scopes = {
        key: {span.issue for span in inputs.scope.get(key, ()) if span.left_at is None}
        for key in owners
    }
    seen: set[str] = set()
    twice: set[str] = set()
    for issues in scopes.values():
        twice |= seen & issues
        seen |= issues
    counted: dict[str, set[str]] = defaultdict(set)
    for key, issues in scopes.items():
        for issue in issues & twice:
            counted[issue].add(key)
    lines = _lines(inputs)
    shared: dict[tuple[str, str], set[str]] = defaultdict(set)
    for issue, krs in counted.items():
        for a, b in combinations(sorted(krs), 2):
            ta, tb = owners[a][0].team, owners[b][0].team
            if ta == tb or ta in lines.get(tb, {tb}) or tb in lines.get(ta, {ta}):
                continue
            shared[(a, b)].add(issue)
    return [
        Overlap((a, b), (owners[a][0].team, owners[b][0].team), tuple(sorted(issues)))
        for (a, b), issues in sorted(shared.items())
    ]


def overlap_signals(
    overlaps: Sequence[Overlap], owners: Owners, inputs: HealthInputs
) -> Iterator[Signal]:
    """One signal per KR involved, naming the other KRs and the shared issues."""
    per_kr: dict[str, list[tuple[str, str, tuple[str, ...]]]] = defaultdict(list)
    for o in overlaps:
        (a, b), (ta, tb) = o.key_results, o.teams
        per_kr[a].append((b, tb, o.issues))
        per_kr[b].append((a, ta, o.issues))
    joined = {
        (key, span.issue): span.joined_at
        for key in per_kr
        for span in inputs.scope.get(key, ())
        if span.left_at is None
    }
    for key, others in per_kr.items():
        issues = sorted({i for _, _, shared in others for i in shared})
        parts = [f"{len(shared)} with {other} (team {team})" for other, team, shared in others]
        # The overlap began when the first shared issue was in both scopes.
        since = min(
            max(joined[(key, i)], joined[(other, i)]) for other, _, shared in others for i in shared
        )
        detail = (
            f"{len(issues)} issue(s) also count toward key results of other teams: "
            + ", ".join(parts)
        )
        yield make_signal("overlap", owners[key], detail, since, issues)


def sandbagging(inputs: HealthInputs) -> Iterator[Signal]:
    per_team: dict[str, list[float]] = defaultdict(list)
    for objective in inputs.objectives:
        for kr in objective.key_results:
            per_team[objective.team].append(inputs.progress.get(kr.key, 0.0))
    for team, progress in sorted(per_team.items()):
        past = inputs.previous.get(team)
        if past is None or not past.progress or not progress:
            continue
        if all(score(p) >= _DONE for p in progress) and all(
            score(p) >= _DONE for p in past.progress
        ):
            detail = (
                f"every key result at 1.0 in {inputs.cycle.name} ({len(progress)}) and in "
                f"{past.name} ({len(past.progress)}): the targets may be set too safely"
            )
            yield make_signal("sandbagging", None, detail, None, team=team)


def distribution(inputs: HealthInputs) -> tuple[TeamScores, ...]:
    """Each team's KR scores by band (never a score per person: okr-jira knows no assignee)."""
    scores: dict[str, list[float]] = defaultdict(list)
    for objective in inputs.objectives:
        for kr in objective.key_results:
            scores[objective.team].append(score(inputs.progress.get(kr.key, 0.0)))
    out = []
    for team, values in sorted(scores.items()):
        bands = [0] * len(BANDS)
        for value in values:
            bands[0 if value < 0.3 else 1 if value < 0.7 else 2 if value < _DONE else 3] += 1
        name = inputs.teams[team].name if team in inputs.teams else team
        mean = round(sum(values) / len(values), 2)
        out.append(TeamScores(team, name, len(values), mean, tuple(bands)))
    return tuple(out)
