"""The one link bookkeeping: open and close scope links so they match what each KR selects.

Both the sync (every issue of every KR) and the webhook worker (the issues of a batch) decide which
(KR, issue) pairs should be linked, then hand the decision here: pairs wanted and not linked join,
pairs linked and no longer wanted leave; a closed link keeps whether the issue was done then.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field

from sqlmodel import Session

from okr_jira.domain.matching import (
    Decisions,
    KrMatcher,
    MatcherIndex,
    RemoteMatch,
    decide_scope,
)
from okr_jira.domain.models import IssueSnapshot
from okr_jira.storage.links import Join, Leave, open_link_ids, write_changes

Pair = tuple[str, str]  # (KR key, issue key)


@dataclass
class ScopeChange:
    krs: set[str] = field(default_factory=set)
    joined: list[Pair] = field(default_factory=list)
    left: list[Pair] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)  # events older than what is stored
    unknown: list[Pair] = field(default_factory=list)  # not decidable without Jira
    recorded: int = 0


def reconcile(
    *,
    session: Session,
    current: Mapping[Pair, int],
    wanted: Collection[Pair],
    joined_done: Callable[[str], bool],
    left_as: Callable[[str, str], tuple[bool | None, str]],
    changed: Collection[str],
    now: dt.datetime,
    reason: str,
) -> ScopeChange:
    """Make the open links among the decided pairs equal `wanted`.

    `current`: the open links (pair -> link id) among the pairs decided; `joined_done(issue)`: is
    the issue done as it joins; `left_as(kr, issue)`: (done, reason) of a link that closes;
    `changed`: issues whose state changed, so a KR they stay in counts as changed too.
    """
    change = ScopeChange()
    # The pairs themselves, not copies: a first full sync of a large site joins millions.
    new_pairs = sorted((wanted if isinstance(wanted, set) else set(wanted)) - current.keys())
    leaves = []
    for pair, link_id in sorted(current.items()):
        if pair in wanted:
            if pair[1] in changed:
                change.krs.add(pair[0])  # still in scope, but its state changed
            continue
        done, why = left_as(*pair)
        leaves.append(Leave(link_id, done, why))
        change.left.append(pair)
        change.krs.add(pair[0])
    change.joined.extend(new_pairs)
    change.krs.update(kr for kr, _ in new_pairs)
    joins = (Join(kr, issue, joined_done(issue), reason) for kr, issue in new_pairs)
    write_changes(session=session, joins=joins, leaves=leaves, at=now)
    return change


def relink(
    *,
    session: Session,
    matchers: Sequence[KrMatcher],
    issues: Sequence[IssueSnapshot],
    now: dt.datetime,
    remote: RemoteMatch | None = None,
    reason: str = "sync",
    decided: Decisions | None = None,
    quiet: Collection[str] = (),
    index: MatcherIndex | None = None,
) -> ScopeChange:
    """Open and close the links of `issues` so they match every KR's rule.

    `decided` holds decisions made beforehand (decide_scope) for some of the issues, for the same
    matchers, `now` and `remote`; the others are decided here. `quiet`: issues whose stored state
    did not change in anything progress reads (only `updated` moved, or re-read unchanged): their
    scope is decided again, but a KR they stay in has not changed. `index` (of `matchers`):
    each issue is decided against its candidate KRs and the KRs it is linked to only, as every
    other KR would decide False and has no link to close.
    """
    if not issues:
        return ScopeChange()
    by_key = {i.key: i for i in issues}
    links = open_link_ids(session=session, issues=list(by_key))
    linked: dict[str, list[str]] = {}
    for kr, key in links:
        linked.setdefault(key, []).append(kr)
    decided_pairs: set[Pair] = set()
    wanted: set[Pair] = set()
    unknown: list[Pair] = []
    for issue in issues:
        known = (decided or {}).get(issue.key) if not issue.deleted else None
        these = matchers if index is None else index.candidates(issue, linked.get(issue.key, ()))
        if known is None:
            known = decide_scope(these, [issue], now=now, remote=remote)[issue.key]
        for m in these:
            kr = m.kr.key
            verdict = known[kr] if kr in known else m.decide(issue, now=now, remote=remote)
            if verdict is None:
                unknown.append((kr, issue.key))
                continue
            decided_pairs.add((kr, issue.key))
            if verdict:
                wanted.add((kr, issue.key))
    change = reconcile(
        session=session,
        current={pair: i for pair, i in links.items() if pair in decided_pairs},
        wanted=wanted,
        joined_done=lambda key: by_key[key].status_category == "done",
        left_as=lambda _kr, key: (
            by_key[key].status_category == "done",
            "deleted" if by_key[key].deleted else reason,
        ),
        changed=by_key.keys() - set(quiet),
        now=now,
        reason=reason,
    )
    change.unknown = unknown
    return change
