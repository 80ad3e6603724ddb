"""A key result's progress said in words, as the web pages show it under the bar:
"6 of 15 issues done, 2 in progress at 25 % credit"."""

from __future__ import annotations

from collections.abc import Sequence

from okr_jira.domain.models import IssueSnapshot, KeyResult, KrProgress


def _num(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:g}" if float(value).is_integer() else f"{value:.2f}".rstrip("0")


def percent(value: float) -> str:
    return f"{value * 100:.0f} %"


def formula(
    kr: KeyResult,
    state: KrProgress,
    contributions: Sequence[tuple[IssueSnapshot, float | None, float]] = (),
) -> str:
    """How the progress was reached, in one sentence."""
    if state.error:
        return f"Not measured: {state.error}"
    unit = f" {kr.unit}" if kr.unit else ""
    if kr.kind == "issues":
        credit = (
            f" at {kr.in_progress_credit * 100:.0f} % credit" if kr.in_progress_credit else
            " (no credit for work in progress)"
        )  # fmt: skip
        if kr.weight_by == "count" or not contributions:
            text = (
                f"{state.issues_done} of {state.issues_total} issues done, "
                f"{state.issues_in_progress} in progress{credit}"
            )
        else:
            what = "story points" if kr.weight_by == "story_points" else "hours of estimate"
            total = sum(max(w or 0.0, 0.0) for _, w, _ in contributions)
            done = sum(max(w or 0.0, 0.0) for i, w, _ in contributions
                       if i.status_category == "done")  # fmt: skip
            doing = sum(max(w or 0.0, 0.0) for i, w, _ in contributions
                        if i.status_category == "indeterminate")  # fmt: skip
            text = (
                f"{_num(done)} of {_num(total)} {what} done ({state.issues_done} of "
                f"{state.issues_total} issues), {_num(doing)} in progress{credit}"
            )
        return f"{text}: {percent(state.progress)}"
    if kr.kind == "manual" and state.current is None:
        return f"No check-in yet (from {_num(kr.start)} towards {_num(kr.target)}{unit})"
    now = {
        "issue_count": f"{state.issues_total} issues match now",
        "field_sum": f"{kr.field} adds up to {_num(state.current)}{unit}"
        + (" over done issues" if kr.done_only else ""),
        "manual": f"Checked in at {_num(state.current)}{unit}",
    }[kr.kind]
    return f"{now}, from {_num(kr.start)} towards {_num(kr.target)}: {percent(state.progress)}"
