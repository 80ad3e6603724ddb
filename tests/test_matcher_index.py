"""The webhook worker decides an issue against the KRs that may take it (MatcherIndex): exactly
what deciding it against every KR says, whatever the rules, their case, errors and JQL."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from okr_jira.domain.matching import (
    MatcherIndex,
    compile_matchers,
    decide_candidates,
    decide_scope,
)
from okr_jira.domain.models import IssueSnapshot, KeyResult, OkrSet, Source
from tests.support.builders import make_cycle, make_issue, make_objective, make_team

NOW = dt.datetime(2026, 11, 15, 12, 0, tzinfo=dt.UTC)
PROJECTS = ["SUP", "PLAT", "MOB"]
KEYS = [f"{p}-{n}" for p in PROJECTS for n in range(1, 5)]


def few(values: list[str]) -> st.SearchStrategy[tuple[str, ...]]:
    # Any case: keys, projects and epics compare as Jira does, ignoring it.
    return st.lists(st.sampled_from(values + [v.lower() for v in values]), max_size=2).map(tuple)


sources = st.builds(
    Source,
    # Local JQL, JQL only Jira answers (a remote question), or none.
    jql=st.none() | st.sampled_from(["labels = crash", "summary ~ crash", "project = SUP"]),
    projects=few(PROJECTS),
    epics=few(["SUP-1", "PLAT-2"]),
    issues=few(KEYS),
    labels=st.lists(st.sampled_from(["macros", "crash"]), max_size=1).map(tuple),
    include=few(KEYS),
    exclude=few(KEYS),
) | st.just(Source())


@st.composite
def issues(draw: st.DrawFn) -> list[IssueSnapshot]:
    return [
        make_issue(
            key,
            labels=tuple(draw(st.lists(st.sampled_from(["macros", "crash"]), max_size=2))),
            epic=draw(st.none() | st.sampled_from(["SUP-1", "PLAT-2"])),
            deleted=draw(st.booleans()),
        )
        for key in draw(st.lists(st.sampled_from(KEYS), max_size=6, unique=True))
    ]


def remote(kr: KeyResult, issue: IssueSnapshot) -> bool | None:
    return {0: True, 1: False, 2: None}[(len(kr.key) + len(issue.key)) % 3]


@settings(deadline=None)
@given(
    rules=st.lists(st.tuples(sources, st.sampled_from([(), ("SUP",), ("PLAT", "mob")]),
                             st.booleans()), min_size=1, max_size=8),
    batch=issues(),
    asks_jira=st.booleans(),
)  # fmt: skip
def test_the_candidate_krs_decide_an_issue_as_every_kr_does(
    rules: list[tuple[Source, tuple[str, ...], bool]],
    batch: list[IssueSnapshot],
    asks_jira: bool,
) -> None:
    teams = tuple(make_team(key=f"t{n}", jira_projects=scope) for n, (_, scope, _) in
                  enumerate(rules))  # fmt: skip
    objectives = tuple(
        make_objective(f"O-{n}", team=f"t{n}", key_results=(
            KeyResult(f"KR-{n}", "KR", "issues", source=source),))
        for n, (source, _, _) in enumerate(rules)
    )  # fmt: skip
    okrs = OkrSet(cycles=(make_cycle(),), teams=teams, objectives=objectives)
    errors = {f"KR-{n}": "broken" for n, (_, _, broken) in enumerate(rules) if broken}
    matchers = compile_matchers(okrs, errors)
    ask = remote if asks_jira else None

    every = decide_scope(matchers, batch, now=NOW, remote=ask)
    candidates = decide_candidates(MatcherIndex(matchers), batch, now=NOW, remote=ask)
    for issue in batch:
        left_out = every[issue.key].keys() - candidates[issue.key].keys()
        assert {kr: every[issue.key][kr] for kr in left_out} == dict.fromkeys(left_out, False)
        assert candidates[issue.key] == {
            kr: v for kr, v in every[issue.key].items() if kr in candidates[issue.key]
        }
        # Candidates come in the declaration's order, as decide_scope lists them.
        assert list(candidates[issue.key]) == [
            k for k in every[issue.key] if k in candidates[issue.key]
        ]
