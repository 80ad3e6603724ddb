"""Issue snapshots -> one key result's progress.

The caller passes the snapshots the KR's source selected (see ``selectors``); deleted snapshots are
skipped here again so they never count. Rules per kind:

* ``issues``: done weight plus ``in_progress_credit`` x in-progress weight, over the total weight.
  ``current`` is the done weight (the number of done issues when weighting by count, done story
  points, or done estimate in hours).
* ``issue_count``, ``field_sum``, ``manual``: a metric,
  progress = (current - start) / (target - start) clamped to 0..1, so decreasing targets (40 -> 5)
  work too. ``start`` defaults to 0.

Problems the admin can fix without the code failing become warnings; a mapping error reported by the
caller (e.g. an unknown field) yields progress 0 with that error, so a broken KR shows as broken
instead of as a plausible number.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypedDict

from okr_jira.domain.models import IssueSnapshot, KeyResult, KrProgress

# Field names that mean "story points" (Cloud's team-managed projects say "Story point estimate").
STORY_POINTS_NAMES = frozenset({"story points", "story point estimate"})
_SECONDS_PER_HOUR = 3600.0


class Weighed(Protocol):
    """What weighing reads of an issue (an IssueSnapshot, or the guardrails' IssueFacts)."""

    @property
    def story_points(self) -> float | None: ...

    @property
    def estimate_seconds(self) -> float | None: ...


class StatusCounts(TypedDict):
    issues_total: int
    issues_done: int
    issues_in_progress: int


def compute_kr_progress(
    kr: KeyResult,
    issues: Sequence[IssueSnapshot],
    *,
    manual_current: float | None = None,
    field_id: str | None = None,
    error: str | None = None,
) -> KrProgress:
    """``kr``'s progress from its selected ``issues`` (or ``manual_current`` for manual KRs).

    ``field_id`` is the Jira field id that ``kr.field`` resolved to (field_sum only). ``error`` is a
    mapping error found by the caller: the result then carries it with progress 0 and no current.
    """
    if error is not None:
        return KrProgress(key=kr.key, progress=0.0, error=error)
    live = [issue for issue in issues if not issue.deleted]
    if kr.kind == "issues":
        return _issues_progress(kr, live)
    if kr.kind == "issue_count":
        return _metric(kr, float(len(live)), live, ())
    if kr.kind == "field_sum":
        return _field_sum_progress(kr, live, field_id)
    if kr.kind == "manual":
        if manual_current is None:
            return KrProgress(key=kr.key, progress=0.0, warnings=("no check-in yet",))
        return _metric(kr, manual_current, [], ())
    raise ValueError(f"unknown key result kind {kr.kind!r}")


def metric_progress(start: float, target: float, current: float) -> float:
    """(current - start) / (target - start) clamped to 0..1; 0 when target == start (invalid)."""
    span = target - start
    if span == 0:
        return 0.0
    return min(max((current - start) / span, 0.0), 1.0)


def is_story_points_field(name: str | None) -> bool:
    return name is not None and name.strip().casefold() in STORY_POINTS_NAMES


def _issues_progress(kr: KeyResult, issues: list[IssueSnapshot]) -> KrProgress:
    if not issues:
        return KrProgress(
            key=kr.key, progress=0.0, current=0.0, warnings=("no issue matched",), scope=0.0
        )
    weigh, what, unit = _weigher(kr)
    credit = min(max(kr.in_progress_credit, 0.0), 1.0)
    default = max(kr.default_weight, 0.0)
    total = done = in_progress = 0.0
    missing = 0
    for issue in issues:
        raw = weigh(issue)
        if raw is None:
            missing += 1
            weight = default
        else:
            weight = max(raw, 0.0)  # a negative estimate must not subtract from the total
        total += weight
        if issue.status_category == "done":
            done += weight
        elif issue.status_category == "indeterminate":
            in_progress += weight
    warnings: list[str] = []
    if missing:
        counted_as = f"{_num(default)}{unit}"
        warnings.append(
            f"{missing} of {len(issues)} issues have no {what}; counted as {counted_as} each"
        )
    if total == 0:
        warnings.append(f"the matching issues have 0 {what} in total; progress is 0")
        progress = 0.0
    else:
        progress = min(max((done + credit * in_progress) / total, 0.0), 1.0)
    return KrProgress(
        key=kr.key,
        progress=progress,
        current=done,
        warnings=tuple(warnings),
        scope=total,
        **_status_counts(issues),
    )


def issue_weigher(kr: KeyResult) -> Callable[[Weighed | None], float]:
    """One issue's weight in an ``issues`` KR's total, as progress counts it (an unknown issue
    or estimate weighs ``default_weight``)."""
    weigh = _weigher(kr)[0]
    default = max(kr.default_weight, 0.0)

    def weight(issue: Weighed | None) -> float:
        raw = weigh(issue) if issue is not None else None
        return default if raw is None else max(raw, 0.0)

    return weight


def weight_unit(kr: KeyResult) -> str:
    """What an ``issues`` KR's weights count, for people: issues, story points, hours."""
    return {"story_points": "story points", "estimate": "hours of estimate"}.get(
        kr.weight_by, "issues"
    )


@dataclass(frozen=True, slots=True)
class IssueWeight:
    """What one issue weighs in a KR, and its share of the KR's scope (0..1)."""

    issue: IssueSnapshot
    weight: float
    share: float
    unit: str  # "points", "h", "issue" or the summed field's name
    estimated: bool = False  # no value of its own: the KR's default weight counted


def issue_weights(
    kr: KeyResult, issues: Sequence[IssueSnapshot], *, field_id: str | None = None
) -> list[IssueWeight]:
    """Each live issue's weight in `kr`, as progress counts it, and its share of the total.

    ``issues``: its weight_by (points, hours of original estimate, or 1), a missing value
    counting as the default weight; ``issue_count``: 1 each; ``field_sum``: the field's value
    (0 when missing; 0 for an issue not done yet when only done issues count).
    """
    live = [issue for issue in issues if not issue.deleted]
    rows: list[tuple[IssueSnapshot, float, bool]] = []
    if kr.kind == "issues":
        weigh, _what, _suffix = _weigher(kr)
        default = max(kr.default_weight, 0.0)
        for issue in live:
            raw = weigh(issue)
            rows.append((issue, default if raw is None else max(raw, 0.0), raw is None))
        unit = {"story_points": "points", "estimate": "h"}.get(kr.weight_by, "issue")
    elif kr.kind == "field_sum":
        story_points = is_story_points_field(kr.field)
        for issue in live:
            value = field_value(issue, field_id or kr.field, story_points)
            counted = not kr.done_only or issue.status_category == "done"
            rows.append((issue, (value or 0.0) if counted else 0.0, value is None))
        unit = kr.unit or kr.field or ""
    else:
        rows = [(issue, 1.0, False) for issue in live]
        unit = "issue"
    total = sum(weight for _, weight, _ in rows)
    return [
        IssueWeight(issue, weight, weight / total if total else 0.0, unit, estimated)
        for issue, weight, estimated in rows
    ]


def _weigher(kr: KeyResult) -> tuple[Callable[[Weighed], float | None], str, str]:
    """The weight of one issue (None = unknown), what it is called, and its unit suffix."""
    if kr.weight_by == "story_points":
        return (lambda issue: issue.story_points), "story points", ""
    if kr.weight_by == "estimate":
        # Hours, so that default_weight (1) means one hour rather than one second.
        def hours(issue: Weighed) -> float | None:
            seconds = issue.estimate_seconds
            return None if seconds is None else seconds / _SECONDS_PER_HOUR

        return hours, "original estimate", " h"
    return (lambda issue: 1.0), "weight", ""


def _field_sum_progress(
    kr: KeyResult, issues: list[IssueSnapshot], field_id: str | None
) -> KrProgress:
    story_points = is_story_points_field(kr.field)
    if field_id is None and not story_points:
        return KrProgress(
            key=kr.key, progress=0.0, error=f"field {kr.field!r} is not resolved to a Jira field"
        )
    counted = [i for i in issues if i.status_category == "done"] if kr.done_only else issues
    total = 0.0
    missing = 0
    for issue in counted:
        value = field_value(issue, field_id, story_points)
        if value is None:
            missing += 1
        else:
            total += value
    warnings: list[str] = []
    if not issues:
        warnings.append("no issue matched")
    if missing:
        warnings.append(f"{missing} of {len(counted)} issues have no {kr.field}; counted as 0")
    return _metric(kr, total, issues, tuple(warnings))


def field_value(issue: IssueSnapshot, field_id: str | None, story_points: bool) -> float | None:
    """The number a field_sum KR reads of `issue`, None when it has none."""
    # Story points are parsed into their own attribute; the resolved id is the fallback.
    if story_points and issue.story_points is not None:
        return issue.story_points
    return issue.number(field_id) if field_id is not None else None


def _metric(
    kr: KeyResult, current: float, issues: list[IssueSnapshot], warnings: tuple[str, ...]
) -> KrProgress:
    start = kr.start if kr.start is not None else 0.0
    if kr.target is None:
        warnings = (*warnings, "target to be set by the team (tbd); progress is not measured yet")
        progress = 0.0
    elif kr.target == start:
        warnings = (*warnings, "target equals start; progress cannot be measured")
        progress = 0.0
    else:
        progress = metric_progress(start, kr.target, current)
    scope = float(len(issues)) if kr.kind != "manual" else None
    return KrProgress(
        key=kr.key, progress=progress, current=current, warnings=warnings, scope=scope,
        **_status_counts(issues),
    )  # fmt: skip


def _status_counts(issues: list[IssueSnapshot]) -> StatusCounts:
    done = sum(1 for issue in issues if issue.status_category == "done")
    in_progress = sum(1 for issue in issues if issue.status_category == "indeterminate")
    return {"issues_total": len(issues), "issues_done": done, "issues_in_progress": in_progress}


def _num(value: float) -> str:
    """1.0 -> "1", 2.5 -> "2.5": how a person writes a weight."""
    return f"{value:g}"


def issue_contributions(
    kr: KeyResult, issues: Sequence[IssueSnapshot], *, field_id: str | None = None
) -> list[tuple[IssueSnapshot, float | None, float]]:
    """(issue, its weight or value, how much of the KR's progress it makes) for each live issue.

    ``issues``: done weight x 1, in-progress weight x the credit, over the total weight.
    ``issue_count`` and ``field_sum``: the issue's count or value over target - start (negative
    when the target decreases: each open bug takes progress away). Manual KRs have none.
    """
    live = [i for i in issues if not i.deleted]
    if kr.kind == "issues":
        weigh, _what, _unit = _weigher(kr)
        credit = min(max(kr.in_progress_credit, 0.0), 1.0)
        weights = [
            (i, w if (w := weigh(i)) is not None else max(kr.default_weight, 0.0)) for i in live
        ]
        total = sum(max(w, 0.0) for _, w in weights)
        share = {"done": 1.0, "indeterminate": credit}
        return [
            (i, w, max(w, 0.0) * share.get(i.status_category, 0.0) / total if total else 0.0)
            for i, w in weights
        ]
    span = (kr.target or 0.0) - (kr.start or 0.0)
    out: list[tuple[IssueSnapshot, float | None, float]] = []
    for issue in live:
        if kr.kind == "issue_count":
            value: float | None = 1.0
        elif kr.kind == "field_sum":
            counted = not kr.done_only or issue.status_category == "done"
            value = (
                field_value(issue, field_id, is_story_points_field(kr.field)) if counted else 0.0
            )
        else:
            return []
        out.append((issue, value, (value or 0.0) / span if span else 0.0))
    return out
