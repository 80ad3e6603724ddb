"""Recording a manual key result's value: the CLI, the API and the web page call this."""

from __future__ import annotations

import datetime as dt
import math

from sqlmodel import Session

from okr_jira.domain.models import PaceThresholds
from okr_jira.errors import OkrJiraError
from okr_jira.report.record import record_affected
from okr_jira.storage.okrs import add_checkin, get_key_result, load_okrs
from okr_jira.storage.tables import CheckinRow, utcnow


class NotManualError(OkrJiraError):
    """Only a manual key result takes check-ins: the others follow Jira."""


def record_checkin(
    session: Session,
    kr: str,
    value: float,
    *,
    note: str | None,
    author: str,
    thresholds: PaceThresholds,
    now: dt.datetime | None = None,
) -> CheckinRow:
    """Store the check-in and the KR's new progress (so the tree shows it at once)."""
    row = get_key_result(session=session, key=kr)  # NotFoundError
    if row.kind != "manual":
        raise NotManualError(
            f"{kr} is a '{row.kind}' key result: its progress comes from Jira, not check-ins"
        )
    if not math.isfinite(value):
        raise OkrJiraError("the value must be a finite number")
    at = now or utcnow()
    checkin = add_checkin(session=session, kr=kr, value=value, note=note or None, author=author)
    record_affected(
        session=session, okrs=load_okrs(session=session), krs={kr}, now=at, thresholds=thresholds
    )
    return checkin
