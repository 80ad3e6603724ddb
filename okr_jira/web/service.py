"""What the API and the pages both call: each function one unit of work in one transaction, over
the service functions the CLI uses too (okrs.edit, okrs.preview, okrs.checkins, report.*)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlmodel import Session

from okr_jira.adapters.jira import JiraAdapter
from okr_jira.domain import pace
from okr_jira.domain.models import KeyResult, Source
from okr_jira.domain.report import CycleReport
from okr_jira.domain.rollup import iter_nodes
from okr_jira.errors import OkrJiraError
from okr_jira.okrs import edit
from okr_jira.okrs.checkins import record_checkin
from okr_jira.okrs.preview import Preview, preview_source, save_source
from okr_jira.report.details import KrDetail, ObjectiveDetail, kr_detail, objective_detail
from okr_jira.report.stored import stored_cycle
from okr_jira.runtime import jobs
from okr_jira.runtime.wiring import Wiring
from okr_jira.storage import audit
from okr_jira.storage.db import session_scope
from okr_jira.storage.okrs import cycles, load_okrs
from okr_jira.storage.queue import get_job
from okr_jira.storage.tables import AuditRow, QueuedJobRow


class FileRules(OkrJiraError):
    """OKR_JIRA_OKR_FILE is set: the file is the source of truth, edits are refused (409)."""


class Services:
    def __init__(self, wiring: Wiring) -> None:
        self.wiring = wiring
        self.thresholds = wiring.thresholds

    @contextmanager
    def session(self) -> Iterator[Session]:
        with session_scope(self.wiring.engine) as session:
            yield session

    def jira(self) -> JiraAdapter | None:
        return self.wiring.jira() if self.wiring.has_jira else None

    def guard_file(self) -> None:
        path = self.wiring.settings.okr_file
        if path:
            raise FileRules(
                f"the OKR file rules here (OKR_JIRA_OKR_FILE={path}): change objectives, key "
                "results and mappings in that file; check-ins are still accepted"
            )

    # --- reading ------------------------------------------------------------------------------

    def tree(self, cycle: str | None = None, on: dt.date | None = None) -> CycleReport:
        with self.session() as session:
            return stored_cycle(session=session, cycle=cycle, on=on, thresholds=self.thresholds)

    def cycles(self) -> list[Any]:
        with self.session() as session:
            return cycles(session=session)

    def teams(self) -> dict[str, str]:
        with self.session() as session:
            return {t.key: t.name for t in load_okrs(session=session).teams}

    def objective(self, key: str) -> ObjectiveDetail:
        with self.session() as session:
            return objective_detail(session=session, key=key, thresholds=self.thresholds)

    def key_result(self, key: str) -> KrDetail:
        with self.session() as session:
            return kr_detail(session=session, key=key)

    def audit(
        self,
        *,
        objective: str | None = None,
        kr: str | None = None,
        actor: str | None = None,
        since: dt.date | None = None,
        until: dt.date | None = None,
        limit: int = 100,
    ) -> list[AuditRow]:
        with self.session() as session:
            keys = audit.keys_of(session=session, objective=objective, kr=kr)
            return audit.search(
                session=session, keys=keys, actor=actor,
                since=_start(since), until=_start(until + dt.timedelta(days=1)) if until else None,
                limit=limit,
            )  # fmt: skip

    def actors(self) -> list[str]:
        with self.session() as session:
            return audit.actors(session=session)

    def job(self, job_id: int) -> QueuedJobRow | None:
        with self.session() as session:
            return get_job(session=session, job_id=job_id)

    # --- writing ------------------------------------------------------------------------------
    # Every write that changed something asks for a publish (and for Jira's remote links), as
    # the CLI and the OKR file job do, so Confluence follows an edit made here too.

    def _published(self, edited: edit.Edited) -> edit.Edited:
        if not edited.plan.empty:
            self.wiring.request_publish()
        return edited

    def create_objective(self, values: dict[str, Any], *, actor: str) -> edit.Edited:
        self.guard_file()
        with self.session() as session:
            edited = edit.create_objective(session, values, actor=actor, thresholds=self.thresholds)
        return self._published(edited)

    def update_objective(self, key: str, changes: dict[str, Any], *, actor: str) -> edit.Edited:
        self.guard_file()
        with self.session() as session:
            edited = edit.update_objective(
                session, key, changes, actor=actor, thresholds=self.thresholds
            )
        return self._published(edited)

    def archive_objective(self, key: str, *, actor: str) -> edit.Edited:
        self.guard_file()
        with self.session() as session:
            edited = edit.archive_objective(session, key, actor=actor, thresholds=self.thresholds)
        return self._published(edited)

    def create_key_result(
        self, objective: str, values: dict[str, Any], *, actor: str
    ) -> edit.Edited:
        self.guard_file()
        with self.session() as session:
            edited = edit.create_key_result(
                session, objective, values, actor=actor, thresholds=self.thresholds
            )
        return self._published(edited)

    def update_key_result(self, key: str, changes: dict[str, Any], *, actor: str) -> edit.Edited:
        self.guard_file()
        with self.session() as session:
            if "source" in changes and changes["source"] is not None:
                preview_source(session, key, changes["source"], jira=self.jira())
            edited = edit.update_key_result(
                session, key, changes, actor=actor, thresholds=self.thresholds
            )
        return self._published(edited)

    def archive_key_result(self, key: str, *, actor: str) -> edit.Edited:
        self.guard_file()
        with self.session() as session:
            edited = edit.archive_key_result(session, key, actor=actor, thresholds=self.thresholds)
        return self._published(edited)

    def preview(self, key: str, source: Source) -> Preview:
        with self.session() as session:
            result = preview_source(session, key, source, jira=self.jira())
            session.rollback()  # a preview saves nothing
            return result

    def save_source(
        self, key: str, source: Source, *, actor: str
    ) -> tuple[edit.Edited, int | None]:
        """Store the source; a sync is queued to resolve it when Jira is configured."""
        self.guard_file()
        with self.session() as session:
            edited = save_source(
                session, key, source, jira=self.jira(), actor=actor, thresholds=self.thresholds
            )
        self._published(edited)
        job = None
        if not edited.plan.empty and self.wiring.has_jira:
            job = jobs.queue_job(self.wiring, "sync", {}, actor=actor)
        return edited, job

    def checkin(self, kr: str, value: float, note: str | None, *, actor: str) -> None:
        with self.session() as session:
            record_checkin(
                session=session, key=kr, value=value, note=note, author=actor,
                now=self.wiring.clock(), thresholds=self.thresholds,
            )  # fmt: skip
        self.wiring.request_publish()

    def queue(self, kind: str, params: dict[str, Any], *, actor: str) -> int:
        return jobs.queue_job(self.wiring, kind, params, actor=actor)


def _start(day: dt.date | None) -> dt.datetime | None:
    return None if day is None else dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)


def find_kr(report: CycleReport, key: str) -> KeyResult | None:
    for node in iter_nodes(report.nodes):
        for kr, _ in node.key_results:
            if kr.key == key:
                return kr
    return None


def filtered_nodes(report: CycleReport, team: str | None, status: str | None) -> set[str]:
    """Objective keys shown under the filters: those that match, and their ancestors (for the
    path to them)."""
    shown: set[str] = set()

    def visit(node: Any, path: list[str]) -> None:
        matches = (team is None or node.objective.team == team) and (
            status is None or report.status(node.progress) == status
        )
        if matches:
            shown.update(path)
            shown.add(node.objective.key)
        for child in node.children:
            visit(child, [*path, node.objective.key])

    for root in report.nodes:
        visit(root, [])
    return shown


def grade_of(progress: float) -> tuple[float, str]:
    value = pace.score(progress)
    return value, pace.grade(value)
