"""progress_latest: the newest progress of each subject without scanning the history."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, insert, text
from sqlmodel import Session, col, delete

from okr_jira.storage.db import make_engine, session_scope, upgrade
from okr_jira.storage.progress import progress_as_of, record_progress
from okr_jira.storage.tables import ProgressSnapshotRow

T0 = dt.datetime(2026, 10, 20, 12, tzinfo=dt.UTC)


def record(engine: Engine, subject: str, progress: float, at: dt.datetime) -> None:
    with session_scope(engine) as s:
        record_progress(
            session=s, kind="kr", subject=subject, cycle="2026-Q4", progress=progress, at=at
        )


def as_of(engine: Engine, until: dt.datetime, *subjects: str) -> dict[str, float]:
    with Session(engine) as s:
        rows = progress_as_of(session=s, kind="kr", subjects=subjects, until=until)
        return {k: r.progress for k, r in rows.items()}


def test_progress_as_of_now_is_the_newest_record_and_a_past_date_the_one_then(
    engine: Engine,
) -> None:
    for day, progress in enumerate((0.1, 0.2, 0.3)):
        record(engine, "CO-1.1", progress, T0 + dt.timedelta(days=day))
    record(engine, "CO-1.2", 0.5, T0)
    now = T0 + dt.timedelta(days=10)
    assert as_of(engine, now, "CO-1.1", "CO-1.2", "CO-9.9") == {"CO-1.1": 0.3, "CO-1.2": 0.5}
    assert as_of(engine, T0 + dt.timedelta(hours=30), "CO-1.1", "CO-1.2") == {
        "CO-1.1": 0.2,
        "CO-1.2": 0.5,
    }
    assert as_of(engine, T0 - dt.timedelta(days=1), "CO-1.1") == {}


def test_deleting_a_subjects_history_forgets_its_latest_progress(engine: Engine) -> None:
    record(engine, "CO-1.1", 0.4, T0)
    with session_scope(engine) as s:
        s.exec(delete(ProgressSnapshotRow).where(col(ProgressSnapshotRow.subject) == "CO-1.1"))
    assert as_of(engine, T0 + dt.timedelta(days=1), "CO-1.1") == {}
    record(engine, "CO-1.1", 0.1, T0 + dt.timedelta(days=2))
    assert as_of(engine, T0 + dt.timedelta(days=3), "CO-1.1") == {"CO-1.1": 0.1}


def test_upgrading_a_0001_database_fills_latest_progress_from_the_history(
    database_url: str,
) -> None:
    engine = make_engine(database_url)
    try:
        upgrade(engine, "0001")
        with engine.begin() as conn:
            for i, (subject, progress) in enumerate(
                [("CO-1.1", 0.1), ("CO-1.1", 0.6), ("CO-1.2", 0.3)]
            ):
                conn.execute(
                    insert(ProgressSnapshotRow.__table__),  # type: ignore[attr-defined]
                    {"kind": "kr", "subject": subject, "cycle": "2026-Q4", "progress": progress,
                     "taken_at": T0 + dt.timedelta(hours=i), "issues_total": 0, "issues_done": 0,
                     "issues_in_progress": 0, "reason": "sync"},
                )  # fmt: skip
        upgrade(engine)
        with engine.connect() as conn:
            latest = conn.execute(text("SELECT subject FROM progress_latest")).scalars().all()
        assert sorted(latest) == ["CO-1.1", "CO-1.2"]
        assert as_of(engine, T0 + dt.timedelta(days=1), "CO-1.1", "CO-1.2") == {
            "CO-1.1": 0.6,
            "CO-1.2": 0.3,
        }
    finally:
        engine.dispose()
