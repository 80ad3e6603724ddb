"""Publishing a cycle to Confluence with minimal writes (the plan in publish/plan.py).

Each written page is recorded (page id, title, parent, content hash, version) right after
Confluence accepted it, so a run that stops half-way loses nothing and the next run finishes the
job. A page whose inputs (publish/fingerprint.py), title and parent match its row is neither
rendered, read nor written; one whose inputs moved is rendered (a level of the tree at a time, in
chunks) and written only if its content hash differs: publishing twice with no change sends no
request at all (the Confluence client is only built, and the parent page only looked up, when
something has to be written). Changed pages are minor edits. A renamed
objective renames its page, a re-parented one moves it, an archived one (gone from the cycle's
tree) is moved under the cycle's "Archived" page and never deleted. A page deleted by hand is
created again; a page whose title already exists (written by a run that stopped before recording
it) is taken over.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from sqlalchemy import Engine
from sqlmodel import Session

from okr_jira.adapters.confluence import ConfluenceAdapter, ConfluenceError, PageRef
from okr_jira.adapters.http import RequestStats, session_stats
from okr_jira.errors import OkrJiraError
from okr_jira.publish.context import ContextOptions, build_context
from okr_jira.publish.fingerprint import PageInputs, page_inputs
from okr_jira.publish.plan import (
    ARCHIVE_DEPTH,
    CONFIGURED_PARENT,
    HEALTH,
    REVIEW,
    ROOT,
    PageWork,
    PublishPlan,
    PublishSummary,
    desired_pages,
    month_subject,
    plan_pages,
)
from okr_jira.publish.rendering import RENDER_CHUNK, PageRenderer
from okr_jira.render import Attachment, RenderContext, content_hash, render_health_page
from okr_jira.render.context import month_review_title, review_title
from okr_jira.render.review import monthly_review_body, review_page_body
from okr_jira.report.review import monthly_review, months_of, retrospectives, review
from okr_jira.storage import state
from okr_jira.storage.db import session_scope
from okr_jira.storage.okrs import cycle_frozen_at
from okr_jira.storage.pages import page_rows, save_page
from okr_jira.storage.tables import PublishedPageRow, utcnow

log = logging.getLogger(__name__)


def attachment_marker(attachment: Attachment) -> str:
    """The comment an attachment version is uploaded with: its content hash, so an unchanged
    chart is not uploaded again (and a version stored with another media type is)."""
    digest = hashlib.sha256(attachment.media_type.encode() + b"\0" + attachment.data)
    return f"Published by okr-jira ({digest.hexdigest()[:16]})"


class PublishError(OkrJiraError):
    """Publishing stopped part-way; what was written is recorded and the next run finishes."""


@dataclass
class _Written:
    """What one page write produced; `error` set when its attachments failed after the page."""

    work: PageWork
    ref: PageRef | None
    parent_id: str | None
    complete: bool
    error: Exception | None = None


class Publisher:
    """Publishes cycles of the stored OKRs to one Confluence space.

    ``connect`` builds the Confluence adapter; it is called at most once, and only when a page
    has to be written. ``parent`` is the configured parent page (an id or a title in ``space``);
    None puts the root pages at the top of the space.
    """

    def __init__(
        self,
        engine: Engine,
        connect: Callable[[], ConfluenceAdapter],
        *,
        space: str,
        parent: str | None,
        options: ContextOptions,
        site: str = "",
        clock: Callable[[], dt.datetime] = utcnow,
        workers: int = 4,
    ) -> None:
        self.engine = engine
        self._connect = connect
        self._confluence: ConfluenceAdapter | None = None
        self.space = space
        self.parent = parent
        self.options = options
        self.site = site
        self.clock = clock
        self.workers = max(1, workers)

    # ----- reading what is stored ---------------------------------------------------------------

    @property
    def confluence(self) -> ConfluenceAdapter:
        if self._confluence is None:
            self._confluence = self._connect()
        return self._confluence

    def context(self, cycle: str | None = None) -> RenderContext:
        with session_scope(self.engine) as session:
            context, _ = build_context(
                session=session, cycle=cycle, options=self.options, now=self.clock()
            )
        return context

    def _parent_key(self) -> str:
        return json.dumps([self.site, self.space, self.parent or ""])

    def _cached_parent(self, session: Session) -> tuple[bool, str | None]:
        """(known, id) of the configured parent page without asking Confluence."""
        if not self.parent:
            return True, None
        stored = state.CONFLUENCE_PARENT.get(session=session)
        if stored and stored.get("key") == self._parent_key():
            return True, stored.get("id")
        return False, None

    def _resolve_parent(self) -> str | None:
        if not self.parent:
            return None
        page_id = self.confluence.resolve_parent(self.space, self.parent)
        with session_scope(self.engine) as session:
            state.CONFLUENCE_PARENT.set({"key": self._parent_key(), "id": page_id}, session=session)
        return page_id

    # ----- planning -----------------------------------------------------------------------------

    def _planned(
        self, cycle: str | None, now: dt.datetime
    ) -> tuple[PageInputs, list[PageWork], dict[str, PublishedPageRow], tuple[bool, str | None]]:
        """The cycle's pages (root and objective pages by their inputs, not rendered), what was
        last written of them, and the configured parent page as far as it is known."""
        with session_scope(self.engine) as session:
            inputs = page_inputs(session=session, cycle=cycle, options=self.options, now=now)
            rows = page_rows(session=session, cycle=inputs.cycle.key)
            parent = self._cached_parent(session)
        extra = self._review_pages(inputs)
        if inputs.health is not None:
            # The Cycle health page: every signal and the calibration report, under the root page.
            health = render_health_page(
                RenderContext(
                    cycle=inputs.cycle, space_key=self.options.space_key, roots=(),
                    today=inputs.today, thresholds=self.options.thresholds, teams=inputs.teams,
                    jira_server_id=self.options.jira_server_id, health=inputs.health,
                )
            )  # fmt: skip
            extra.append(
                PageWork(
                    subject=HEALTH, title=health.title, parent=ROOT, depth=1,
                    body=health.body, content_hash=health.content_hash,
                )
            )  # fmt: skip
        return inputs, desired_pages(inputs, rows, extra), rows, parent

    def _review_pages(self, inputs: PageInputs) -> list[PageWork]:
        """A monthly review page per month of the cycle so far, and the end-of-cycle review once
        the cycle is frozen (see okr_jira.report.review), all under the cycle's root page."""
        cycle = inputs.cycle
        pages = []
        with session_scope(self.engine) as session:
            for month in months_of(cycle, inputs.today):
                the_month = monthly_review(
                    session=session, cycle=cycle.key, month=month, today=inputs.today,
                    thresholds=self.options.thresholds,
                )  # fmt: skip
                body = monthly_review_body(cycle.name, the_month, inputs.teams)
                pages.append(
                    PageWork(
                        subject=month_subject(month),
                        title=month_review_title(cycle, month),
                        parent=ROOT,
                        depth=1,
                        body=body,
                        content_hash=content_hash(body),
                    )
                )
            frozen = cycle_frozen_at(session=session, key=cycle.key)
            if frozen is None:
                return pages
            reviews = review(session=session, cycle=cycle.key, thresholds=self.options.thresholds)
            retros = retrospectives(session=session, cycle=cycle.key)
        body = review_page_body(cycle.name, reviews, retros, inputs.teams, frozen)
        pages.append(
            PageWork(
                subject=REVIEW,
                title=review_title(cycle),
                parent=ROOT,
                depth=1,
                body=body,
                content_hash=content_hash(body),
            )
        )
        return pages

    def plan(self, cycle: str | None = None) -> PublishPlan:
        """What `publish` would do, from storage alone: no request to Confluence, no page
        rendered. A page listed for an update has inputs that moved since it was written;
        `publish` renders it and leaves it alone if its content is the same."""
        inputs, pages, rows, parent = self._planned(cycle, self.clock())
        return plan_pages(inputs.cycle, pages, rows, parent)

    # ----- publishing ---------------------------------------------------------------------------

    def publish(self, cycle: str | None = None) -> PublishSummary:
        started = time.monotonic()
        now = self.clock()
        inputs, pages, rows, parent = self._planned(cycle, now)
        key = inputs.cycle.key
        plan = plan_pages(inputs.cycle, pages, rows, parent)
        summary = PublishSummary(cycle=inputs.cycle, unchanged=plan.unchanged)
        summary.root_page_id = getattr(rows.get(ROOT), "page_id", None)
        if plan.empty:
            summary.seconds = time.monotonic() - started
            return summary
        stats: RequestStats | None = None
        before = done = 0
        renderer = PageRenderer(self.engine, self.options, now, key)
        try:
            depths = sorted({page.depth for page in pages} | {ARCHIVE_DEPTH + 1})
            for depth in depths:
                # Planned again per level: a parent re-created just now has a new id to move to.
                current = plan_pages(inputs.cycle, pages, rows, parent)
                level = [page for page in current.pages if page.depth == depth]
                # Rendered and written a few pages at a time: a level of thousands of objective
                # pages never has every page, chart and listed issue in memory at once.
                for start in range(0, len(level), RENDER_CHUNK):
                    batch = renderer.changed(level[start : start + RENDER_CHUNK], rows, key)
                    if not batch:
                        continue
                    if stats is None:
                        stats = session_stats(self.confluence.client.session)  # connects
                        before = stats.snapshot()["sent"]
                        self._remember_site()
                        if not parent[0]:
                            parent = (True, self._resolve_parent())
                            again = plan_pages(inputs.cycle, pages, rows, parent).pages
                            wanted = {page.subject for page in batch}
                            batch = renderer.changed(
                                [page for page in again if page.subject in wanted], rows, key
                            )
                    ids = {subject: row.page_id for subject, row in rows.items()}
                    ids[CONFIGURED_PARENT] = parent[1] or ""
                    for written in self._write_batch(batch, rows, ids):
                        if written.ref is not None:
                            self._record(key, written, rows, summary)
                            done += 1
                        if written.error is not None:
                            raise written.error
        except ConfluenceError as error:
            raise PublishError(
                f"publishing {inputs.cycle.name} to Confluence stopped after {done} of "
                f"{len(plan.pages)} page write(s): {error}. What was written is recorded; "
                "run `okr-jira publish` again to finish."
            ) from error
        finally:
            summary.requests = stats.snapshot()["sent"] - before if stats else 0
            summary.seconds = time.monotonic() - started
        summary.unchanged = len(pages) - len(
            {*summary.created, *summary.updated, *summary.renamed, *summary.moved}
        )
        summary.root_page_id = getattr(rows.get(ROOT), "page_id", None)
        with session_scope(self.engine) as session:  # read by /metrics
            state.job_duration("publish").set(f"{summary.seconds:.3f}", session=session)
        return summary

    def _remember_site(self) -> None:
        """Keep the Confluence base URL pages go to (Jira's remote links point at them)."""
        base = str(self.confluence.client.url).rstrip("/")
        with session_scope(self.engine) as session:
            if state.CONFLUENCE_BASE_URL.get(session=session) != base:
                state.CONFLUENCE_BASE_URL.set(base, session=session)

    def _write_batch(
        self, batch: list[PageWork], rows: dict[str, PublishedPageRow], ids: dict[str, str]
    ) -> Iterable[_Written]:
        """Write pages of one level concurrently; results come back in order, all of them."""
        jobs = [(page, rows.get(page.subject), ids.get(page.parent) or None) for page in batch]
        if self.workers == 1 or len(jobs) == 1:
            for job in jobs:
                written = self._write(*job)
                yield written
                if written.error is not None:
                    return
            return
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="publish") as pool:
            futures = [pool.submit(self._write, *job) for job in jobs]
            # Every started write is awaited and recorded before an error is raised.
            results = [future.result() for future in futures]
        yield from sorted(results, key=lambda w: w.error is not None)

    def _write(
        self, page: PageWork, row: PublishedPageRow | None, parent_id: str | None
    ) -> _Written:
        """Create, update, move or archive one page; never raises (errors are returned)."""
        try:
            if "archive" in page.actions:
                return _Written(page, self._archive(page, row, parent_id), parent_id, True)
            fresh = row is None
            ref: PageRef | None = None
            if row is not None:
                try:
                    ref = self.confluence.update_page(
                        row.page_id, page.title, page.body, parent_id, row.version
                    )
                except ConfluenceError as error:
                    if error.status != 404:
                        raise
                    log.warning(
                        "publish.page.recreate page %s (%s) is gone; creating it again",
                        row.page_id,
                        page.title,
                        extra={"page_id": row.page_id, "subject": page.subject},
                    )
                    page = replace(page, actions=(*page.actions, "recreate"))
            if ref is None:
                ref, fresh = self._create(page, parent_id)
        except ConfluenceError as error:
            return _Written(page, None, parent_id, False, error)
        if (
            row is not None
            and row.content_hash == page.content_hash
            and "recreate" not in (page.actions)
        ):
            return _Written(page, ref, parent_id, True)  # renamed or moved: same charts
        try:
            self._upload_attachments(ref.id, page, fresh=fresh)
        except ConfluenceError as error:
            return _Written(page, ref, parent_id, False, error)
        return _Written(page, ref, parent_id, True)

    def _upload_attachments(self, page_id: str, page: PageWork, *, fresh: bool) -> None:
        """Upload the page's charts whose bytes or media type changed: the page's attachments
        are listed once, and each upload's comment carries its content hash to compare with."""
        if not page.attachments:
            return
        existing = {} if fresh else self.confluence.attachments(page_id)
        for attachment in page.attachments:
            marker = attachment_marker(attachment)
            found = existing.get(attachment.filename)
            if (
                found is not None
                and found.comment == marker
                and found.media_type == attachment.media_type
            ):
                continue  # this chart did not change
            self.confluence.upload_attachment(
                page_id, attachment.filename, attachment.data, attachment.media_type,
                check_existing=False, existing=found, comment=marker,
            )  # fmt: skip

    def _create(self, page: PageWork, parent_id: str | None) -> tuple[PageRef, bool]:
        """(page, True) when created; an existing page of that title is taken over (False)."""
        confluence = self.confluence
        try:
            return confluence.create_page(self.space, page.title, page.body, parent_id), True
        except ConfluenceError as error:
            if error.status != 400 or "already exists" not in error.message.lower():
                raise
            existing = confluence.find_page_by_title(self.space, page.title)
            if existing is None:
                raise
        log.info(
            "publish.page.adopt page %s already has the title %r; taking it over",
            existing.id,
            page.title,
            extra={"page_id": existing.id, "subject": page.subject},
        )
        ref = confluence.update_page(
            existing.id, page.title, page.body, parent_id, existing.version
        )
        return ref, False

    def _archive(
        self, page: PageWork, row: PublishedPageRow | None, archive_id: str | None
    ) -> PageRef | None:
        assert row is not None and archive_id is not None
        try:
            return self.confluence.move_page(row.page_id, archive_id)
        except ConfluenceError as error:
            if error.status != 404:
                raise
            # Deleted by hand: nothing left to keep; remember it as archived.
            return PageRef(row.page_id, row.title, self.space, row.version, archive_id)

    def _record(
        self,
        cycle: str,
        written: _Written,
        rows: dict[str, PublishedPageRow],
        summary: PublishSummary,
    ) -> None:
        page, ref = written.work, written.ref
        assert ref is not None
        archived = "archive" in page.actions
        with session_scope(self.engine) as session:
            row = save_page(
                session=session, cycle=cycle, subject=page.subject, page_id=ref.id,
                parent_page_id=written.parent_id, version=ref.version, at=utcnow(),
                title=None if archived else page.title,
                # Pending attachments leave the hash empty so the next run writes the page again.
                content_hash=None if archived else (page.content_hash if written.complete else ""),
                inputs_hash=None if archived else (page.inputs_hash if written.complete else ""),
            )  # fmt: skip
        rows[page.subject] = row
        lists = {
            "create": summary.created,
            "update": summary.updated,
            "rename": summary.renamed,
            "move": summary.moved,
            "archive": summary.archived,
            "recreate": summary.recreated,
        }
        for action in page.actions:
            lists[action].append(page.subject)
