"""The inbox worker: events become snapshots and KR progress, once, in order, never rolled back."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import click
from click.testing import CliRunner
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from okr_jira import inbox
from okr_jira.domain.models import IssueSnapshot
from okr_jira.scope import apply_issue_changes
from okr_jira.storage.db import session_scope
from okr_jira.storage.inbox import dead_letters, retry, store_event
from okr_jira.storage.tables import (
    IssueSnapshotRow,
    ProgressSnapshotRow,
    WebhookEventRow,
)
from tests.fixtures.webhooks import encode, issue_event, load
from tests.support.inbox_world import NOW, T0, WORKER
from tests.support.threads import join_all

_ids = iter(range(1, 1_000_000))


def put(engine: Engine, payload: dict[str, Any], *, delivery: str | None = None) -> None:
    issue = payload.get("issue") or {}
    assert store_event(
        engine=engine,
        delivery_id=delivery or f"d-{next(_ids)}",
        event_type=payload["webhookEvent"],
        issue_key=issue.get("key"),
        issue_id=issue.get("id"),
        event_ts=payload.get("timestamp") if isinstance(payload.get("timestamp"), int) else None,
        body=encode(payload).decode(),
    )


def at(minutes: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def kr_progress(engine: Engine, kr: str) -> tuple[float, int, int] | None:
    with Session(engine) as s:
        row = s.exec(
            select(ProgressSnapshotRow)
            .where(ProgressSnapshotRow.kind == "kr", ProgressSnapshotRow.subject == kr)
            .order_by(col(ProgressSnapshotRow.id).desc())
        ).first()
    return (row.progress, row.issues_total, row.issues_done) if row else None


def snapshot(engine: Engine, key: str) -> IssueSnapshotRow | None:
    with Session(engine) as s:
        return s.get(IssueSnapshotRow, key)


def statuses(engine: Engine) -> dict[str, int]:
    with Session(engine) as s:
        rows = s.exec(select(WebhookEventRow.status))
        out: dict[str, int] = {}
        for status in rows:
            out[status] = out.get(status, 0) + 1
        return out


def drain(engine: Engine, **options: Any) -> inbox.BatchResult:
    return inbox.drain(engine=engine, options=replace(WORKER, **options), now=NOW)


def test_events_move_the_progress_of_the_krs_the_issue_belongs_to(okr_engine: Engine) -> None:
    put(okr_engine, issue_event("SUP-101", status="Done", updated=at(0)))
    put(okr_engine, issue_event("SUP-102", status="To Do", updated=at(1)))
    result = drain(okr_engine)
    assert (result.applied, result.failed) == (2, 0)
    assert result.krs == {"SUP-1.3"}  # labels: macros, types Story/Task, team project SUP
    assert kr_progress(okr_engine, "SUP-1.3") == (0.5, 2, 1)
    assert kr_progress(okr_engine, "ENG-1.1") is None  # not touched, not recomputed
    assert statuses(okr_engine) == {"applied": 2}


def test_an_older_event_does_not_roll_an_issue_back(okr_engine: Engine) -> None:
    put(okr_engine, issue_event("SUP-101", status="Done", updated=at(10)))
    drain(okr_engine)
    put(okr_engine, issue_event("SUP-101", status="To Do", updated=at(5)))  # arrives late
    result = drain(okr_engine)
    assert (result.applied, result.ignored) == (0, 1)
    row = snapshot(okr_engine, "SUP-101")
    assert row is not None and row.status == "Done"
    assert kr_progress(okr_engine, "SUP-1.3") == (1.0, 1, 1)


def test_out_of_order_events_in_one_batch_leave_the_newest_state(okr_engine: Engine) -> None:
    put(okr_engine, issue_event("SUP-101", status="Done", updated=at(10)))
    put(okr_engine, issue_event("SUP-101", status="In Progress", updated=at(3)))
    put(okr_engine, issue_event("SUP-101", status="To Do", updated=at(1)))
    result = drain(okr_engine)
    assert (result.applied, result.ignored) == (1, 2)
    row = snapshot(okr_engine, "SUP-101")
    assert row is not None and row.status == "Done"


def test_a_late_update_does_not_bring_back_a_deleted_issue(okr_engine: Engine) -> None:
    put(okr_engine, issue_event("SUP-101", status="In Progress", updated=at(1)))
    drain(okr_engine)
    assert kr_progress(okr_engine, "SUP-1.3") == (0.0, 1, 0)
    put(okr_engine, issue_event("SUP-101", event="jira:issue_deleted", updated=at(2)))
    put(okr_engine, issue_event("SUP-101", status="In Progress", updated=at(2)))  # retried late
    drain(okr_engine)
    row = snapshot(okr_engine, "SUP-101")
    assert row is not None and row.deleted
    assert kr_progress(okr_engine, "SUP-1.3") == (0.0, 0, 0)


def test_duplicate_content_under_new_delivery_ids_is_applied_once_in_effect(
    okr_engine: Engine,
) -> None:
    event = issue_event("SUP-101", status="Done", updated=at(1))
    put(okr_engine, event)
    drain(okr_engine)
    first = kr_progress(okr_engine, "SUP-1.3")
    put(okr_engine, event)
    drain(okr_engine)
    assert kr_progress(okr_engine, "SUP-1.3") == first == (1.0, 1, 1)


def test_a_moved_issue_leaves_the_scope_under_its_old_key(okr_engine: Engine) -> None:
    put(okr_engine, issue_event("SUP-101", status="To Do", updated=at(1), issue_id="777"))
    drain(okr_engine)
    put(okr_engine, issue_event("PLAT-900", status="To Do", updated=at(2), issue_id="777"))
    drain(okr_engine)
    old = snapshot(okr_engine, "SUP-101")
    assert old is not None and old.deleted
    assert kr_progress(okr_engine, "SUP-1.3") == (0.0, 0, 0)


def test_real_cloud_and_server_payloads_are_applied(okr_engine: Engine) -> None:
    put(okr_engine, load("cloud-issue_created"))
    put(okr_engine, load("server-issue_created-epic-link"))
    result = drain(okr_engine)
    assert (result.applied, result.failed) == (2, 0)
    kan = snapshot(okr_engine, "KAN-22")
    assert kan is not None and kan.project == "KAN" and kan.status_category == "new"


def test_issue_link_events_are_kept_but_change_nothing(okr_engine: Engine) -> None:
    assert store_event(
        engine=okr_engine, delivery_id="link-1", event_type="issuelink_created",
        issue_id="11442", body=encode(load("issuelink_created")).decode(),
    )  # fmt: skip
    result = drain(okr_engine)
    assert (result.claimed, result.ignored) == (1, 1)
    assert statuses(okr_engine) == {"ignored": 1}


def failing_for(key: str) -> inbox.ApplyChanges:
    """The real apply, except that Jira data about `key` breaks it (a test double at the seam)."""

    def apply(*, session: Session, snapshots: Sequence[IssueSnapshot], **kwargs: Any) -> Any:
        if any(s.key == key for s in snapshots):
            raise RuntimeError(f"cannot evaluate {key}")
        return apply_issue_changes(session=session, snapshots=snapshots, **kwargs)

    return apply


def test_an_event_that_cannot_be_applied_becomes_a_dead_letter_and_others_proceed(
    okr_engine: Engine,
) -> None:
    put(okr_engine, issue_event("SUP-101", status="Done", updated=at(1)))
    put(okr_engine, issue_event("SUP-666", status="Done", updated=at(1)))
    result = drain(okr_engine, apply=failing_for("SUP-666"))
    assert (result.applied, result.failed) == (1, 1)
    with Session(okr_engine) as s:
        (dead,) = dead_letters(session=s)
    assert (dead.issue_key, dead.status, dead.attempts) == ("SUP-666", "failed", 1)
    assert dead.error == "RuntimeError: cannot evaluate SUP-666"
    assert kr_progress(okr_engine, "SUP-1.3") == (1.0, 1, 1)
    # Retried after the cause is fixed: applied.
    with session_scope(okr_engine) as s:
        assert retry(session=s, ids=[dead.id or 0]) == 1
    assert drain(okr_engine).applied == 1
    assert statuses(okr_engine) == {"applied": 2}
    assert kr_progress(okr_engine, "SUP-1.3") == (1.0, 2, 2)


def test_an_unreadable_stored_body_becomes_a_dead_letter(okr_engine: Engine) -> None:
    store_event(
        engine=okr_engine, delivery_id="bad", event_type="jira:issue_updated",
        issue_key="SUP-1", body="{truncated",
    )  # fmt: skip
    result = drain(okr_engine)
    assert result.failed == 1
    with Session(okr_engine) as s:
        (dead,) = dead_letters(session=s)
    assert "unreadable payload" in (dead.error or "")


def test_two_workers_drain_one_inbox_without_applying_an_event_twice(okr_engine: Engine) -> None:
    for n in range(240):
        status = ("To Do", "In Progress", "Done")[n % 3]
        put(okr_engine, issue_event(f"SUP-{200 + n % 40}", status=status, updated=at(n)))
    errors: list[BaseException] = []

    def work() -> None:
        try:
            inbox.drain(engine=okr_engine, options=replace(WORKER, batch_size=25), now=NOW)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    join_all(threads, 60)
    assert errors == []
    with Session(okr_engine) as s:
        rows = list(s.exec(select(WebhookEventRow)))
    assert {r.status for r in rows} <= {"applied", "ignored"}
    assert all(r.attempts == 1 for r in rows)
    # Every issue ends in the state of its newest event (n = 200..239 -> status of max n).
    for key_n in range(40):
        newest = max(n for n in range(240) if n % 40 == key_n)
        row = snapshot(okr_engine, f"SUP-{200 + key_n}")
        assert row is not None and row.status == ("To Do", "In Progress", "Done")[newest % 3]


def test_dead_letters_are_listed_and_retried_from_the_cli(
    cli: click.Group, okr_engine: Engine
) -> None:
    put(okr_engine, issue_event("SUP-666", status="Done", updated=at(1)))
    drain(okr_engine, apply=failing_for("SUP-666"))
    runner = CliRunner()
    listed = runner.invoke(cli, ["webhooks", "dead-letters"])
    assert listed.exit_code == 0, listed.output
    assert "SUP-666" in listed.output and "cannot evaluate SUP-666" in listed.output
    assert runner.invoke(cli, ["webhooks", "retry"]).exit_code == 2
    retried = runner.invoke(cli, ["webhooks", "retry", "--all"])
    assert retried.output.strip() == "1 event(s) queued again."
    assert runner.invoke(cli, ["webhooks", "dead-letters"]).output.strip() == "No dead letters."
    assert statuses(okr_engine) == {"pending": 1}


def test_an_event_without_updated_never_blanks_or_rolls_back_the_stored_issue(
    okr_engine: Engine,
) -> None:
    put(okr_engine, issue_event("SUP-101", status="Done", updated=at(10)))
    drain(okr_engine)
    stale = issue_event("SUP-101", status="To Do", updated=at(5))  # an older state...
    del stale["issue"]["fields"]["updated"]  # ...that does not say how old it is
    put(okr_engine, stale)
    drain(okr_engine)
    row = snapshot(okr_engine, "SUP-101")
    assert row is not None and row.status == "Done"  # its timestamp ordered it: stale
    assert row.updated == at(10)
    timeless = issue_event("SUP-101", status="To Do", updated=at(20))
    del timeless["issue"]["fields"]["updated"]
    del timeless["timestamp"]
    put(okr_engine, timeless)
    result = drain(okr_engine)
    assert (result.applied, result.ignored) == (0, 1)
    row = snapshot(okr_engine, "SUP-101")
    assert row is not None and (row.status, row.updated) == ("Done", at(10))
    with Session(okr_engine) as s:
        last = s.exec(select(WebhookEventRow).order_by(col(WebhookEventRow.id).desc())).first()
    assert last is not None and "no updated time" in (last.error or "")
