"""One webhook at a site with many KRs in its issue's project: it moves exactly its issue's KRs,
and the worker runs as many statements for it whether the project declares 60 KRs or 600."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event
from sqlmodel import select

from okr_jira import inbox
from okr_jira.domain.models import Cycle, KeyResult, Objective, OkrSet, Source, Team
from okr_jira.okrs.plan import apply_plan, make_plan
from okr_jira.storage.db import session_scope
from okr_jira.storage.tables import MappingRow
from tests.fixtures.webhooks import encode, issue_event
from tests.support.inbox_world import NOW, T0, WORKER
from tests.test_inbox_worker import kr_progress

CYCLE = Cycle("2026-Q4", "Q4 2026", dt.date(2026, 10, 1), dt.date(2026, 12, 31))
ISSUE = "SUP-15"  # listed by SUP-L2, in epic SUP-9002 (SUP-E2), labelled macros, a Story
ITS_KRS = {"SUP-L2", "SUP-E2", "SUP-LABEL", "SUP-JQL"}


def site(lists: int) -> OkrSet:
    """`lists` KRs of 10 listed SUP issues each, a tenth as many epic KRs, one KR of the team's
    project by label and one of JQL alone; five KRs an objective."""
    krs = [
        KeyResult(f"SUP-L{n}", f"List {n}", "issues",
                  source=Source(projects=("SUP",), issues=tuple(
                      f"SUP-{i}" for i in range(n * 10 - 9, n * 10 + 1))))
        for n in range(1, lists + 1)
    ]  # fmt: skip
    krs += [
        KeyResult(f"SUP-E{n}", f"Epic {n}", "issues",
                  source=Source(projects=("SUP",), epics=(f"SUP-{9000 + n}",)))
        for n in range(1, lists // 10 + 1)
    ]  # fmt: skip
    krs.append(KeyResult("SUP-LABEL", "Macros", "issues", source=Source(labels=("macros",))))
    krs.append(
        KeyResult("SUP-JQL", "Stories", "issues", source=Source(jql="labels = macros AND "
                  "issuetype = Story AND statusCategory != Done OR key = SUP-15"))
    )  # fmt: skip
    objectives = tuple(
        Objective(f"SUP-O{i // 5 + 1}", CYCLE.key, "sup", f"Objective {i // 5 + 1}",
                  key_results=tuple(krs[i : i + 5]))
        for i in range(0, len(krs), 5)
    )  # fmt: skip
    return OkrSet(cycles=(CYCLE,), teams=(Team("sup", "Support", None, ("SUP",)),),
                  objectives=objectives)  # fmt: skip


def declare(engine: Engine, okrs: OkrSet) -> None:
    with session_scope(engine) as session:
        apply_plan(session, make_plan(session, okrs), actor="test")
        for m in session.exec(select(MappingRow)):
            m.resolved_at = T0 - dt.timedelta(days=1)
            session.add(m)


def put(engine: Engine, key: str, status: str, minutes: int) -> None:
    payload = issue_event(key, status=status, updated=T0 + dt.timedelta(minutes=minutes))
    number = int(key.rsplit("-", 1)[1])
    epic = f"SUP-{9000 + (number + 9) // 10}"
    payload["issue"]["fields"]["parent"] = {"key": epic, "fields": {"issuetype": {"name": "Epic"}}}
    inbox_store(engine, payload)


def inbox_store(engine: Engine, payload: dict[str, Any]) -> None:
    from okr_jira.storage.inbox import store_event

    issue = payload["issue"]
    assert store_event(
        engine=engine, delivery_id=f"{issue['key']}-{payload['timestamp']}",
        event_type=payload["webhookEvent"], issue_key=issue["key"], issue_id=issue["id"],
        event_ts=payload["timestamp"], body=encode(payload).decode(),
    )  # fmt: skip


@contextmanager
def counting(engine: Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def after(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    event.listen(engine, "after_cursor_execute", after)
    try:
        yield statements
    finally:
        event.remove(engine, "after_cursor_execute", after)


def one_webhook(engine: Engine, status: str, minutes: int) -> tuple[set[str], int]:
    """Transition ISSUE; the KRs the worker moved and the statements it ran."""
    put(engine, ISSUE, status, minutes)
    with counting(engine) as statements:
        result = inbox.process_batch(engine=engine, options=WORKER, now=NOW)
    assert result.applied == 1
    return result.krs, len(statements)


def test_one_webhook_costs_the_same_statements_with_ten_times_the_krs(engine: Engine) -> None:
    declare(engine, site(50))
    for n, key in enumerate(("SUP-14", "SUP-15", "SUP-16", "SUP-25")):
        put(engine, key, "To Do", n)
    inbox.drain(engine=engine, options=WORKER, now=NOW)

    moved, small = one_webhook(engine, "Done", 10)
    assert moved == ITS_KRS
    assert kr_progress(engine, "SUP-L2") == (1 / 3, 3, 1)  # SUP-14, 15, 16: one done
    assert kr_progress(engine, "SUP-E2") == (1 / 3, 3, 1)
    assert kr_progress(engine, "SUP-LABEL") == (0.25, 4, 1)
    assert kr_progress(engine, "SUP-JQL") == (0.25, 4, 1)  # still in, by its key
    assert kr_progress(engine, "SUP-L3") == (0.0, 1, 0)  # SUP-25's: not moved

    declare(engine, site(500))  # ten times the KRs in the same project
    put(engine, "SUP-25", "In Progress", 20)  # the worker reads the new declaration once
    inbox.process_batch(engine=engine, options=WORKER, now=NOW)
    moved, large = one_webhook(engine, "To Do", 30)
    assert moved == ITS_KRS
    assert kr_progress(engine, "SUP-L2") == (0.0, 3, 0)
    assert kr_progress(engine, "SUP-LABEL") == (0.0, 4, 0)
    assert large == small
