"""Each cycle's health (guardrail signals and calibration report) as the last sync computed it."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlmodel import Session

from okr_jira.storage.tables import CycleHealthRow


def save_health(
    *, session: Session, cycle: str, computed_at: dt.datetime, body: dict[str, Any]
) -> None:
    row = session.get(CycleHealthRow, cycle) or CycleHealthRow(
        cycle=cycle, computed_at=computed_at, body=""
    )
    row.computed_at = computed_at
    row.body = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    session.add(row)


def load_health(*, session: Session, cycle: str) -> dict[str, Any] | None:
    row = session.get(CycleHealthRow, cycle)
    return json.loads(row.body) if row is not None else None
