"""A key result's daily progress reconstructed from the issues it selects now.

On a mapping's first sync there is no history yet; what the issues say of themselves rebuilds it:
an issue is in scope at the end of a day if it was created by then, done if it was done by then
(its resolution date; when it has none, its status-category change date; on Data Center, which
has no such date, its last update: never earlier than the truth), and in progress if it is in
progress now and started by then (status-category change date, else last update). An issue done
now was not in progress before (its start is unknown), one not done now was never done (a
reopened issue's past is unknown), and weights and field values are today's. Manual KRs are not
reconstructed: their history starts at their first check-in.

`reconstruct` sweeps the issues' events once (O(n log n + days)); `as_of` states one issue on one
day, the slow definition the sweep is tested against.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import replace

from okr_jira.domain.models import IssueSnapshot, KeyResult, KrProgress
from okr_jira.domain.progress import (
    StatusCounts,
    field_value,
    is_story_points_field,
    issue_weights,
    metric_progress,
)

_BEGINNING = dt.datetime.min.replace(tzinfo=dt.UTC)


def joined_at(issue: IssueSnapshot) -> dt.datetime:
    """When the issue entered the KR's scope: its creation (unknown: from the beginning)."""
    return issue.created or _BEGINNING


def done_at(issue: IssueSnapshot) -> dt.datetime | None:
    """When an issue done now was done; None for an issue not done now."""
    if issue.status_category != "done":
        return None
    when = issue.resolved or issue.status_changed or issue.updated or _BEGINNING
    return max(when, joined_at(issue))


def started_at(issue: IssueSnapshot) -> dt.datetime | None:
    """When an issue in progress now started; None for an issue not in progress now."""
    if issue.status_category != "indeterminate":
        return None
    when = issue.status_changed or issue.updated or _BEGINNING
    return max(when, joined_at(issue))


def as_of(issue: IssueSnapshot, end: dt.datetime) -> IssueSnapshot | None:
    """The issue as it stood at `end`, or None when it did not exist yet."""
    if issue.deleted or joined_at(issue) > end:
        return None
    done, started = done_at(issue), started_at(issue)
    if done is not None and done <= end:
        return issue
    if started is not None and started <= end:
        return issue
    return replace(issue, status_category="new", status="To Do")


def reconstruct(
    kr: KeyResult,
    issues: Sequence[IssueSnapshot],
    ends: Sequence[dt.datetime],
    *,
    field_id: str | None = None,
) -> list[KrProgress]:
    """`kr`'s progress at each of `ends` (ascending), from its issues as they are now.

    Equal, point by point, to `compute_kr_progress` over the issues `as_of` each end (warnings
    aside: a reconstructed point keeps none).
    """
    if kr.kind == "manual":
        raise ValueError("manual key results are not reconstructed: they start at a check-in")
    live = [issue for issue in issues if not issue.deleted]
    weights = {w.issue.key: w for w in issue_weights(kr, live, field_id=field_id)}
    # Per event time: (joined, done, in progress) counts and weights, and the summed values.
    events: list[tuple[dt.datetime, int, tuple[float, ...]]] = []
    for issue in live:
        weight = weights[issue.key].weight if kr.kind == "issues" else 1.0
        value = _value(kr, issue, field_id)
        done, started = done_at(issue), started_at(issue)
        counted_value = 0.0 if kr.done_only else value
        events.append((joined_at(issue), 0, (1, 0, 0, weight, 0.0, 0.0, counted_value)))
        if done is not None:
            done_value = value if kr.done_only else 0.0
            events.append((done, 1, (0, 1, 0, 0.0, weight, 0.0, done_value)))
        if started is not None:
            events.append((started, 2, (0, 0, 1, 0.0, 0.0, weight, 0.0)))
    events.sort(key=lambda e: (e[0], e[1]))
    # One merge of the sorted events with the sorted ends: running sums, no per-event objects.
    sums = [0.0] * 7
    out: list[KrProgress] = []
    n = 0
    for end in ends:
        while n < len(events) and events[n][0] <= end:
            for i, value in enumerate(events[n][2]):
                sums[i] += value
            n += 1
        out.append(_progress(kr, tuple(sums)))
    return out


def _value(kr: KeyResult, issue: IssueSnapshot, field_id: str | None) -> float:
    """The number a field_sum KR adds up for `issue` (0 when missing)."""
    if kr.kind != "field_sum":
        return 0.0
    value = field_value(issue, field_id or kr.field, is_story_points_field(kr.field))
    return value or 0.0


def _progress(kr: KeyResult, sums: tuple[float, ...]) -> KrProgress:
    joined, done, in_progress, weight, done_weight, progress_weight, value = sums
    counts = StatusCounts(
        issues_total=int(joined), issues_done=int(done), issues_in_progress=int(in_progress)
    )
    if kr.kind == "issues":
        credit = min(max(kr.in_progress_credit, 0.0), 1.0)
        if weight <= 0:
            share = 0.0
        else:
            share = min(max((done_weight + credit * progress_weight) / weight, 0.0), 1.0)
        return KrProgress(
            key=kr.key, progress=share, current=done_weight, scope=weight if joined else 0.0,
            **counts,
        )  # fmt: skip
    current = float(joined) if kr.kind == "issue_count" else value
    start = kr.start if kr.start is not None else 0.0
    progress = 0.0
    if kr.target is not None and kr.target != start:
        progress = metric_progress(start, kr.target, current)
    return KrProgress(key=kr.key, progress=progress, current=current, scope=float(joined), **counts)
