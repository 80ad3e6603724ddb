"""Rendering the root and objective pages publish writes, a level of the tree at a time: the
plan judged them by their inputs (publish/fingerprint.py) without rendering them."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from sqlalchemy import Engine

from okr_jira.domain.models import ObjectiveNode
from okr_jira.publish.context import ContextOptions, build_context, kr_issues
from okr_jira.publish.plan import ROOT, PageWork, placement, rendered
from okr_jira.render import RenderContext
from okr_jira.storage.db import session_scope
from okr_jira.storage.pages import save_inputs_hash
from okr_jira.storage.tables import PublishedPageRow

RENDER_CHUNK = 200  # pages rendered (their issues read) and written at a time


class PageRenderer:
    """Renders the root and objective pages a level at a time, as they are written: the tree
    (progress computed from the issues) is read once, at the first page that needs it, and the
    issues of a level's key results only for that level."""

    def __init__(
        self, engine: Engine, options: ContextOptions, now: dt.datetime, cycle: str
    ) -> None:
        self.engine, self.options, self.now, self.cycle = engine, options, now, cycle
        self._context: RenderContext | None = None
        self._nodes: dict[str, tuple[ObjectiveNode, ObjectiveNode | None]] = {}

    def changed(
        self, batch: list[PageWork], rows: dict[str, PublishedPageRow], cycle: str
    ) -> list[PageWork]:
        """`batch` with its unrendered pages rendered, less those found unchanged (whose inputs
        are recorded, so the next plan knows them unchanged)."""
        todo = [page for page in batch if page.inputs_hash and not page.content_hash]
        if not todo:
            return batch
        context = self._tree()
        krs = [
            kr.key
            for page in todo
            if page.subject in self._nodes
            for kr, _ in self._nodes[page.subject][0].key_results
        ]
        with session_scope(self.engine) as session:
            context = replace(context, issues=kr_issues(session=session, krs=krs))
        wanted = {page.subject for page in todo}
        out: list[PageWork] = []
        unchanged: list[PageWork] = []
        for page in batch:
            if page.subject in wanted:
                if page.subject != ROOT and page.subject not in self._nodes:
                    continue  # gone from the tree since it was planned: the next run sees it
                page = rendered(context, page, self._nodes)
                row = rows.get(page.subject)
                if row is not None and "create" not in page.actions:
                    update = ("update",) if row.content_hash != page.content_hash else ()
                    actions = update + tuple(a for a in page.actions if a != "update")
                    if not actions:
                        unchanged.append(page)
                        continue
                    page = replace(page, actions=actions)
            out.append(page)
        if unchanged:
            with session_scope(self.engine) as session:
                for page in unchanged:
                    save_inputs_hash(
                        session=session, cycle=cycle, subject=page.subject,
                        inputs_hash=page.inputs_hash,
                    )  # fmt: skip
                    rows[page.subject].inputs_hash = page.inputs_hash
        return out

    def _tree(self) -> RenderContext:
        if self._context is None:
            with session_scope(self.engine) as session:
                self._context, _ = build_context(
                    session=session, cycle=self.cycle, options=self.options, now=self.now,
                    issues_of=(),
                )  # fmt: skip
            self._nodes = placement(self._context)
        return self._context
