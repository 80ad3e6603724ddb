"""Storage -> render -> Confluence: one root page per cycle, one page per objective, minimal writes.

Each written page is recorded in `PublishedPageRow` (page id, title, parent, content hash, version)
right after Confluence accepted it, so a run that stops half-way loses nothing and the next run
finishes the job. A page whose hash, title and parent match its row is neither read nor written:
publishing twice with no change sends no request at all (the Confluence client is only built, and
the parent page only looked up, when something has to be written). Changed pages are minor edits.
A renamed objective renames its page, a re-parented one moves it, an archived one (gone from the
cycle's tree) is moved under the cycle's "Archived" page and never deleted. A page deleted by hand
is created again; a page whose title already exists (written by a run that stopped before recording
it) is taken over.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from okr_jira.adapters.confluence import ConfluenceAdapter, ConfluenceError, PageRef
from okr_jira.adapters.http import RequestStats, session_stats
from okr_jira.domain.models import Cycle, PaceThresholds
from okr_jira.errors import ConfigError, OkrJiraError
from okr_jira.publish_context import ContextOptions, build_context
from okr_jira.render import (
    Attachment,
    RenderContext,
    archive_title,
    content_hash,
    render_confluence_pages,
)
from okr_jira.render.markup import el
from okr_jira.settings import Settings
from okr_jira.storage import repo
from okr_jira.storage.db import session_scope
from okr_jira.storage.tables import PublishedPageRow, utcnow

log = logging.getLogger(__name__)

ROOT = "root"
ARCHIVE = "archived"
REVIEW = "review"
RESERVED = frozenset({ROOT, ARCHIVE, REVIEW})
PARENT_STATE = "confluence.parent"  # the configured parent page, resolved once and remembered
CONFIGURED_PARENT = ""  # parent subject of the root page
ARCHIVE_DEPTH = 10**6  # the archive page is written after every objective page


class PublishError(OkrJiraError):
    """Publishing stopped part-way; what was written is recorded and the next run finishes."""


@dataclass(frozen=True)
class PageWork:
    """One page of the cycle as it should be, and what publishing has to do to it."""

    subject: str  # "root", "archived" or an objective key
    title: str
    parent: str  # parent subject; CONFIGURED_PARENT for the root page
    depth: int  # write order: parents before children
    body: str = ""
    attachments: tuple[Attachment, ...] = ()
    content_hash: str = ""
    actions: tuple[str, ...] = ()  # create | update | rename | move | archive
    old_title: str | None = None


@dataclass
class PublishPlan:
    cycle: Cycle
    pages: list[PageWork]
    unchanged: int

    @property
    def empty(self) -> bool:
        return not self.pages

    def count(self, action: str) -> int:
        return sum(action in page.actions for page in self.pages)

    def lines(self) -> list[str]:
        out = []
        for page in self.pages:
            what = ", ".join(page.actions)
            renamed = f" (was {page.old_title!r})" if "rename" in page.actions else ""
            out.append(f"  {what:<22} {page.title}{renamed}")
        counts = ", ".join(
            f"{self.count(a)} to {a}"
            for a in ("create", "update", "rename", "move", "archive")
            if self.count(a)
        )
        head = f"{self.cycle.name}: {counts or 'nothing to do'}; {self.unchanged} page(s) unchanged"
        return [head, *out]


@dataclass
class PublishSummary:
    cycle: Cycle
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    renamed: list[str] = field(default_factory=list)
    moved: list[str] = field(default_factory=list)
    archived: list[str] = field(default_factory=list)
    recreated: list[str] = field(default_factory=list)  # deleted by hand, created again
    unchanged: int = 0
    requests: int = 0
    seconds: float = 0.0
    root_page_id: str | None = None

    def lines(self) -> list[str]:
        return [
            f"publish {self.cycle.name} finished in {self.seconds:.1f} s, "
            f"{self.requests} request(s) to Confluence",
            f"  created {len(self.created)}, updated {len(self.updated)}, "
            f"renamed {len(self.renamed)}, moved {len(self.moved)}, "
            f"archived {len(self.archived)}, re-created {len(self.recreated)}, "
            f"unchanged {self.unchanged}",
        ]


@dataclass
class _Written:
    """What one page write produced; `error` set when its attachments failed after the page."""

    work: PageWork
    ref: PageRef | None
    parent_id: str | None
    complete: bool
    error: Exception | None = None


def archive_body(cycle: Cycle) -> str:
    text = (
        f"Pages of objectives archived from the OKR file of {cycle.name}. They are kept for the "
        "record and no longer updated by okr-jira."
    )
    return el("p", None, text)


def _needed(
    row: PublishedPageRow | None, page: PageWork, parent_id: str | None, parent_known: bool
) -> tuple[str, ...]:
    if row is None:
        return ("create",)
    actions = []
    if row.content_hash != page.content_hash:
        actions.append("update")
    if row.title != page.title:
        actions.append("rename")
    if not parent_known or row.parent_page_id != parent_id:
        actions.append("move")
    return tuple(actions)


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
        options: ContextOptions | None = None,
        site: str = "",
        clock: Callable[[], dt.datetime] = utcnow,
        workers: int = 4,
    ) -> None:
        self.engine = engine
        self._connect = connect
        self._confluence: ConfluenceAdapter | None = None
        self.space = space
        self.parent = parent
        self.options = options or ContextOptions(space_key=space)
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

    def _rows(self, session: Session, cycle: str) -> dict[str, PublishedPageRow]:
        query = select(PublishedPageRow).where(col(PublishedPageRow.cycle) == cycle)
        return {row.subject: row for row in session.exec(query)}

    def _parent_key(self) -> str:
        return json.dumps([self.site, self.space, self.parent or ""])

    def _cached_parent(self, session: Session) -> tuple[bool, str | None]:
        """(known, id) of the configured parent page without asking Confluence."""
        if not self.parent:
            return True, None
        stored = repo.get_state(session=session, name=PARENT_STATE)
        if stored:
            data = json.loads(stored)
            if data.get("key") == self._parent_key():
                return True, data.get("id")
        return False, None

    def _resolve_parent(self) -> str | None:
        if not self.parent:
            return None
        page_id = self.confluence.resolve_parent(self.space, self.parent)
        with session_scope(self.engine) as session:
            value = json.dumps({"key": self._parent_key(), "id": page_id})
            repo.set_state(session=session, name=PARENT_STATE, value=value)
        return page_id

    # ----- planning -----------------------------------------------------------------------------

    def _desired(self, context: RenderContext, rows: dict[str, PublishedPageRow]) -> list[PageWork]:
        """Every page the cycle should have, in write order, with no actions yet."""
        placement = {node.objective.key: (parent, depth) for node, parent, depth in context.walk()}
        pages: list[PageWork] = []
        for rendered in render_confluence_pages(context):
            if rendered.key == ROOT:
                parent, depth = CONFIGURED_PARENT, 0
            else:
                up, level = placement[rendered.key]
                parent, depth = (up.objective.key if up else ROOT), level + 1
            pages.append(
                PageWork(
                    subject=rendered.key,
                    title=rendered.title,
                    parent=parent,
                    depth=depth,
                    body=rendered.body,
                    attachments=rendered.attachments,
                    content_hash=rendered.content_hash,
                )
            )
        review = self._review_page(context)
        if review is not None:
            pages.append(review)
        wanted = {page.subject for page in pages}
        stale = [s for s in rows if s not in wanted and s not in RESERVED]
        if stale or ARCHIVE in rows:
            body = archive_body(context.cycle)
            pages.append(
                PageWork(
                    subject=ARCHIVE,
                    title=archive_title(context.cycle),
                    parent=ROOT,
                    depth=ARCHIVE_DEPTH,
                    body=body,
                    content_hash=content_hash(body),
                )
            )
        return pages

    def _review_page(self, context: RenderContext) -> PageWork | None:
        """The end-of-cycle review page, once the cycle is frozen (see okr_jira.review)."""
        from okr_jira.render.context import review_title
        from okr_jira.review import review, review_page_body

        with session_scope(self.engine) as session:
            if repo.cycle_frozen_at(session=session, key=context.cycle.key) is None:
                return None
            body = review_page_body(
                context.cycle.name, review(session=session, cycle=context.cycle.key)
            )
        return PageWork(
            subject=REVIEW,
            title=review_title(context.cycle),
            parent=ROOT,
            depth=1,
            body=body,
            content_hash=content_hash(body),
        )

    def _plan(
        self,
        context: RenderContext,
        pages: list[PageWork],
        rows: dict[str, PublishedPageRow],
        parent: tuple[bool, str | None],
    ) -> PublishPlan:
        """What each of `pages` needs, and which stored pages are to be archived."""
        work: list[PageWork] = []
        unchanged = 0
        for page in pages:
            if page.parent == CONFIGURED_PARENT:
                known, parent_id = parent
            else:
                parent_row = rows.get(page.parent)
                known, parent_id = parent_row is not None, getattr(parent_row, "page_id", None)
            row = rows.get(page.subject)
            actions = _needed(row, page, parent_id, known)
            if actions:
                old = row.title if row is not None and "rename" in actions else None
                work.append(replace(page, actions=actions, old_title=old))
            else:
                unchanged += 1
        archive_row = rows.get(ARCHIVE)
        wanted = {page.subject for page in pages}
        for subject, row in sorted(rows.items()):
            if subject in wanted or subject in RESERVED:
                continue
            if archive_row is None or row.parent_page_id != archive_row.page_id:
                work.append(
                    PageWork(
                        subject=subject,
                        title=row.title,
                        parent=ARCHIVE,
                        depth=ARCHIVE_DEPTH + 1,
                        content_hash=row.content_hash,
                        actions=("archive",),
                    )
                )
            else:
                unchanged += 1
        return PublishPlan(cycle=context.cycle, pages=work, unchanged=unchanged)

    def plan(self, cycle: str | None = None) -> PublishPlan:
        """What `publish` would do, from storage alone: no request to Confluence."""
        context = self.context(cycle)
        with session_scope(self.engine) as session:
            rows = self._rows(session, context.cycle.key)
            parent = self._cached_parent(session)
        return self._plan(context, self._desired(context, rows), rows, parent)

    # ----- publishing ---------------------------------------------------------------------------

    def publish(self, cycle: str | None = None) -> PublishSummary:
        started = time.monotonic()
        context = self.context(cycle)
        key = context.cycle.key
        with session_scope(self.engine) as session:
            rows = self._rows(session, key)
            parent = self._cached_parent(session)
        pages = self._desired(context, rows)
        plan = self._plan(context, pages, rows, parent)
        summary = PublishSummary(cycle=context.cycle, unchanged=plan.unchanged)
        summary.root_page_id = getattr(rows.get(ROOT), "page_id", None)
        if plan.empty:
            summary.seconds = time.monotonic() - started
            return summary
        stats: RequestStats | None = None
        before = done = 0
        try:
            stats = session_stats(self.confluence.client.session)  # connects (may probe)
            before = stats.snapshot()["sent"]
            if not parent[0]:
                parent = (True, self._resolve_parent())
            depths = sorted({page.depth for page in pages} | {ARCHIVE_DEPTH + 1})
            for depth in depths:
                # Planned again per level: a parent re-created just now has a new id to move to.
                current = self._plan(context, pages, rows, parent)
                batch = [page for page in current.pages if page.depth == depth]
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
                f"publishing {context.cycle.name} to Confluence stopped after {done} of "
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
            repo.set_state(
                session=session,
                name="publish.last_duration_seconds",
                value=f"{summary.seconds:.3f}",
            )
        return summary

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
            for attachment in page.attachments:
                self.confluence.upload_attachment(
                    ref.id,
                    attachment.filename,
                    attachment.data,
                    attachment.media_type,
                    check_existing=not fresh,
                )
        except ConfluenceError as error:
            return _Written(page, ref, parent_id, False, error)
        return _Written(page, ref, parent_id, True)

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
        with session_scope(self.engine) as session:
            row = session.exec(
                select(PublishedPageRow).where(
                    col(PublishedPageRow.cycle) == cycle,
                    col(PublishedPageRow.subject) == page.subject,
                )
            ).first() or PublishedPageRow(
                cycle=cycle, subject=page.subject, page_id=ref.id, title=page.title, content_hash=""
            )
            row.page_id = ref.id
            row.parent_page_id = written.parent_id
            row.version = ref.version
            row.published_at = utcnow()
            if "archive" not in page.actions:
                row.title = page.title
                # Pending attachments leave the hash empty so the next run writes the page again.
                row.content_hash = page.content_hash if written.complete else ""
            session.add(row)
            session.flush()
            session.expunge(row)
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


def context_options(settings: Settings) -> ContextOptions:
    return ContextOptions(
        space_key=settings.confluence_space or "",
        jira_base_url=settings.jira_url or "",
        thresholds=PaceThresholds(on_track=settings.pace_on_track, at_risk=settings.pace_at_risk),
    )


def publisher_from_settings(engine: Engine, settings: Settings) -> Publisher:
    """A Publisher for the configured space and parent page; Confluence is reached lazily."""
    if not settings.confluence_space:
        raise ConfigError("OKR_JIRA_CONFLUENCE_SPACE is not set (the space key pages go to)")
    from okr_jira.factory import make_confluence

    return Publisher(
        engine,
        lambda: make_confluence(settings),
        space=settings.confluence_space,
        parent=settings.confluence_parent or None,
        options=context_options(settings),
        site=settings.confluence_url or "",
        workers=settings.http_max_in_flight,
    )


def publish_all(
    *, settings: Settings, engine: Engine, publisher: Publisher | None = None
) -> list[PublishSummary]:
    """Publish every running cycle (the latest one when none is running): the scheduler's job."""
    publisher = publisher or publisher_from_settings(engine, settings)
    today = publisher.clock().date()
    with session_scope(engine) as session:
        cycles = [
            c.key for c in repo.load_okrs(session=session).cycles if c.start <= today <= c.end
        ]
        if not cycles:
            cycles = [repo.get_cycle(session=session, key=None, on=today).key]
    return [publisher.publish(cycle) for cycle in cycles]
