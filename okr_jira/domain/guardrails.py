"""Guardrail rules: signals that keep the numbers honest when scope, targets or links move.

Pure functions over what storage keeps (scope history, audit log, progress history, check-ins),
gathered in `HealthInputs`. Each rule is careful not to cry wolf on clean data:

* scope_change: an `issues` KR's total weight moved by more than the threshold against its
  baseline (its scope at the first sync after its mapping was added or changed), both weighed
  with today's estimates, so the signal is about issues joining and leaving;
* backfilled: an issue that joined after the baseline already done, and resolved more than
  BACKFILL_GRACE before it joined (work finished and then labelled or linked; an issue created
  and finished between two syncs is new work);
* target_lowered: the target now is less ambitious than when the cycle started (toward the start;
  a decreasing metric counts the other way), with who changed it and when;
* overlap: an issue in the scope of KRs of two teams in different lines of the org chart (a
  department's KR spanning its own teams' work is alignment, not double counting);
* jump: progress moved by more than the threshold between two consecutive records, unless a
  declared change (target, mapping, ...) lies between them, the records predate the baseline or
  the first check-in, or a single issue moved (one issue finishing in a small KR is not news);
* stale_checkin: a manual KR without a check-in for the configured days during the cycle
  (counted from the cycle start or from when the KR was added, if later);
* sandbagging: a team at 1.0 on every key result in this cycle and in its previous one.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterator
from itertools import pairwise

from okr_jira.domain.calibration import (
    Owners,
    distribution,
    find_overlaps,
    overlap_signals,
    sandbagging,
)
from okr_jira.domain.health import (
    SIGNAL_KINDS,
    AuditEntry,
    GuardrailThresholds,
    HealthInputs,
    HealthReport,
    Signal,
    make_signal,
)
from okr_jira.domain.models import METRIC_KINDS
from okr_jira.domain.progress import issue_weigher, weight_unit

BACKFILL_GRACE = dt.timedelta(days=1)


def compute_health(inputs: HealthInputs, thresholds: GuardrailThresholds) -> HealthReport:
    """Every signal of the cycle and its calibration report."""
    return health_report(inputs, key_result_signals(inputs, thresholds))


def key_result_signals(inputs: HealthInputs, thresholds: GuardrailThresholds) -> list[Signal]:
    """The signals each of which reads one key result's inputs alone: computed over any subset
    of the cycle's objectives (a chunk at a time on a large site), they are the same."""
    owners = {kr.key: (o, kr) for o in inputs.objectives for kr in o.key_results}
    signals: list[Signal] = []
    signals += scope_changes(inputs, owners, thresholds.scope_change)
    signals += backfills(inputs, owners)
    signals += lowered_targets(inputs, owners)
    signals += jumps(inputs, owners, thresholds.jump)
    signals += stale_checkins(inputs, owners, thresholds.stale_checkin_days)
    return signals


def health_report(inputs: HealthInputs, signals: list[Signal]) -> HealthReport:
    """The report from the key results' signals: the overlaps between teams (which read only the
    open scope of issues in more than one key result's scope: `inputs.scope` may hold just
    those), the team signals and the calibration report, in a stable order."""
    owners = {kr.key: (o, kr) for o in inputs.objectives for kr in o.key_results}
    overlaps = find_overlaps(inputs, owners)
    signals = [*signals, *overlap_signals(overlaps, owners, inputs), *sandbagging(inputs)]
    order = {kind: n for n, kind in enumerate(SIGNAL_KINDS)}
    signals.sort(
        key=lambda s: (order[s.kind], s.team or "", s.objective or "", s.key_result or "",
                       s.since or inputs.now)
    )  # fmt: skip
    return HealthReport(
        cycle=inputs.cycle.key,
        computed_at=inputs.now,
        signals=tuple(signals),
        distribution=distribution(inputs),
        overlaps=tuple(overlaps),
    )


def _day(moment: dt.datetime) -> str:
    return moment.date().isoformat()


def _num(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0") if not float(value).is_integer() else f"{value:.0f}"


def _cycle_bounds(inputs: HealthInputs) -> tuple[dt.datetime, dt.datetime]:
    c = inputs.cycle
    return (
        dt.datetime.combine(c.start, dt.time.min, tzinfo=dt.UTC),
        dt.datetime.combine(c.end, dt.time.max, tzinfo=dt.UTC),
    )


def scope_changes(inputs: HealthInputs, owners: Owners, threshold: float) -> Iterator[Signal]:
    for key, (objective, kr) in owners.items():
        base_at = inputs.baselines.get(key)
        if kr.kind != "issues" or kr.source is None or base_at is None:
            continue
        spans = inputs.scope.get(key, ())
        base = {
            s.issue
            for s in spans
            if s.joined_at <= base_at and (s.left_at is None or s.left_at > base_at)
        }
        now = {s.issue for s in spans if s.left_at is None}
        if base == now:
            continue
        joined, left = sorted(now - base), sorted(base - now)
        if kr.weight_by == "count":
            before, after = float(len(base)), float(len(now))
        else:
            weight, issues = issue_weigher(kr), inputs.issues
            before = sum(weight(issues.get(k)) for k in base)
            after = (
                before
                + sum(weight(issues.get(k)) for k in joined)
                - sum(weight(issues.get(k)) for k in left)
            )
        unit = weight_unit(kr)
        moved = f"{len(joined)} issue(s) joined, {len(left)} left"
        if before == 0:
            if after == 0:
                continue
            detail = (
                f"scope grew from nothing at its baseline of {_day(base_at)} to {_num(after)} "
                f"{unit}: {moved}"
            )
        else:
            change = (after - before) / before
            if abs(change) <= threshold:
                continue
            detail = (
                f"scope {'grew' if change > 0 else 'shrank'} by {abs(change):.0%} since its "
                f"baseline of {_day(base_at)} ({_num(before)} -> {_num(after)} {unit}): {moved}"
            )
        yield make_signal("scope_change", (objective, kr), detail, base_at, [*joined, *left])


def backfills(inputs: HealthInputs, owners: Owners) -> Iterator[Signal]:
    for key, owner in owners.items():
        base_at = inputs.baselines.get(key)
        if owner[1].source is None or base_at is None:
            continue
        found: list[tuple[dt.datetime, str, str]] = []
        for span in inputs.scope.get(key, ()):
            if not span.done_when_joined or span.joined_at <= base_at:
                continue
            issue = inputs.issues.get(span.issue)
            resolved = issue.resolved if issue is not None else None
            if resolved is not None and resolved > span.joined_at - BACKFILL_GRACE:
                continue  # finished just before it was first seen: new work, not a backfill
            when = f"resolved {_day(resolved)}" if resolved else "already done"
            found.append((span.joined_at, span.issue, f"{span.issue} ({when})"))
        if found:
            found.sort()
            detail = (
                f"{len(found)} issue(s) joined already done after the baseline of "
                f"{_day(base_at)}: " + ", ".join(f"{text} on {_day(at)}" for at, _, text in found)
            )
            issues = sorted({issue for _, issue, _ in found})
            yield make_signal("backfilled", owner, detail, found[0][0], issues)


def _target_of(entry: AuditEntry) -> float | None:
    """The target an audit row set: the `new` of a target change, the target of an add."""
    text = entry.new
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if entry.action in ("add", "restore") and isinstance(value, dict):
        value = value.get("target")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def lowered_targets(inputs: HealthInputs, owners: Owners) -> Iterator[Signal]:
    start_at, _ = _cycle_bounds(inputs)
    entries: dict[str, list[AuditEntry]] = defaultdict(list)
    for entry in inputs.audit:
        if entry.entity == "key_result" and (
            entry.action == "add" or (entry.action == "change" and entry.field == "target")
        ):
            entries[entry.key].append(entry)
    for key, owner in owners.items():
        kr = owner[1]
        if kr.kind not in METRIC_KINDS or kr.target is None:
            continue
        history = [(e, _target_of(e)) for e in entries.get(key, ())]
        values = [(e, v) for e, v in history if v is not None]
        if not values:
            continue
        before = [v for e, v in values if e.at < start_at]
        planned = before[-1] if before else values[0][1]
        origin = kr.start if kr.start is not None else 0.0
        if planned == origin:
            continue
        rising = planned > origin

        def easier(new: float, old: float, rising: bool = rising) -> bool:
            return new < old if rising else new > old

        if not easier(kr.target, planned):
            continue
        steps = []
        previous = planned
        for entry, value in values:
            if entry.at >= start_at and entry.action == "change" and easier(value, previous):
                steps.append(entry)
            previous = value
        if not steps:
            continue
        unit = f" {kr.unit}" if kr.unit else ""
        changes = "; ".join(f"{e.old} -> {e.new}{unit} by {e.actor} on {_day(e.at)}" for e in steps)
        detail = (
            f"target lowered from {_num(planned)} to {_num(kr.target)}{unit} after the cycle "
            f"started (counting from {_num(origin)}): {changes}"
        )
        yield make_signal("target_lowered", owner, detail, steps[0].at)


def jumps(inputs: HealthInputs, owners: Owners, threshold: float) -> Iterator[Signal]:
    declared: dict[str, list[dt.datetime]] = defaultdict(list)
    for entry in inputs.audit:
        declared[entry.key].append(entry.at)
    for key, owner in owners.items():
        kr = owner[1]
        points = inputs.history.get(key, ())
        if len(points) < 2:
            continue
        values = [p.progress for p in points]
        if max(values) - min(values) <= threshold:
            continue  # no two records, consecutive or not, are that far apart
        if kr.kind == "manual":
            checkins = inputs.checkins.get(key, ())
            counted_from = checkins[0] if checkins else None
        else:
            counted_from = inputs.baselines.get(key)
        if counted_from is None:
            continue
        changes = declared.get(key, [])
        for before, after in pairwise(points):
            moved = after.progress - before.progress
            if abs(moved) <= threshold or before.at < counted_from:
                continue
            if kr.kind != "manual" and (
                abs(after.issues_done - before.issues_done) <= 1
                and abs(after.issues_total - before.issues_total) <= 1
            ):
                continue
            if any(before.at < at <= after.at for at in changes):
                continue
            detail = (
                f"progress {'rose' if moved > 0 else 'fell'} from {before.progress:.0%} to "
                f"{after.progress:.0%} between {before.at:%Y-%m-%d %H:%M} and "
                f"{after.at:%Y-%m-%d %H:%M} UTC"
            )
            if kr.kind != "manual":
                detail += (
                    f" ({before.issues_done} -> {after.issues_done} of "
                    f"{before.issues_total} -> {after.issues_total} issues done)"
                )
            yield make_signal("jump", owner, detail, after.at)


def stale_checkins(inputs: HealthInputs, owners: Owners, days: int) -> Iterator[Signal]:
    start_at, end_at = _cycle_bounds(inputs)
    until = min(inputs.now, end_at)
    if until < start_at:
        return
    added: dict[str, dt.datetime] = {}
    for entry in inputs.audit:
        if entry.entity == "key_result" and (
            entry.action in ("add", "restore") or entry.field == "kind"
        ):
            added[entry.key] = entry.at
    allowed = dt.timedelta(days=days)
    for key, owner in owners.items():
        if owner[1].kind != "manual":
            continue
        counted_from = max(start_at, added.get(key, start_at))
        times = [t for t in inputs.checkins.get(key, ()) if t <= until]
        last = times[-1] if times else None
        anchor = max(last, counted_from) if last is not None else counted_from
        if until - anchor <= allowed:
            continue
        if last is not None and last >= counted_from:
            what = f"since {_day(last)}"
        elif counted_from > start_at:
            what = f"since it was added on {_day(counted_from)}"
        else:
            what = f"since the cycle started on {_day(start_at)}"
        detail = f"no check-in {what} (more than {days} days)"
        yield make_signal("stale_checkin", owner, detail, anchor)
