"""Planning a publish from storage alone: every page the cycle should have, and what each needs
(create, update, rename, move, archive) against what was last written. No request to Confluence,
and no page rendered: the root and objective pages are judged by the fingerprint of their inputs
(publish/fingerprint.py); one whose inputs moved is rendered when it is written and left alone
if its content is the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from okr_jira.domain.models import Cycle, ObjectiveNode
from okr_jira.publish.fingerprint import PageInputs
from okr_jira.render import (
    Attachment,
    RenderContext,
    archive_title,
    content_hash,
    page_title,
    render_objective_page,
    render_root_page,
    root_title,
)
from okr_jira.render.markup import el
from okr_jira.storage.tables import PublishedPageRow

ROOT = "root"
ARCHIVE = "archived"
REVIEW = "review"
MONTH_REVIEW = "review:"  # + YYYY-MM: the monthly review pages
HEALTH = "health"
RESERVED = frozenset({ROOT, ARCHIVE, REVIEW, HEALTH})


def month_subject(month: object) -> str:
    return MONTH_REVIEW + format(month, "%Y-%m")


CONFIGURED_PARENT = ""  # parent subject of the root page
ARCHIVE_DEPTH = 10**6  # the archive page is written after every objective page


@dataclass(frozen=True)
class PageWork:
    """One page of the cycle as it should be, and what publishing has to do to it."""

    subject: str  # "root", "archived", "review", "health" or an objective key
    title: str
    parent: str  # parent subject; CONFIGURED_PARENT for the root page
    depth: int  # write order: parents before children
    body: str = ""
    attachments: tuple[Attachment, ...] = ()
    content_hash: str = ""  # "" until rendered (the root and objective pages: see `rendered`)
    # Fingerprint of what the root or an objective page is made from (publish/fingerprint.py).
    inputs_hash: str = ""
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


def archive_body(cycle: Cycle) -> str:
    text = (
        f"Pages of objectives archived from the OKR file of {cycle.name}. They are kept for the "
        "record and no longer updated by okr-jira."
    )
    return el("p", None, text)


def needed(
    row: PublishedPageRow | None, page: PageWork, parent_id: str | None, parent_known: bool
) -> tuple[str, ...]:
    if row is None:
        return ("create",)
    actions = []
    if page.content_hash:
        changed = row.content_hash != page.content_hash
    else:  # not rendered: judged by its inputs (a page written before they were kept differs)
        changed = row.inputs_hash != page.inputs_hash
    if changed:
        actions.append("update")
    if row.title != page.title:
        actions.append("rename")
    if not parent_known or row.parent_page_id != parent_id:
        actions.append("move")
    return tuple(actions)


def desired_pages(
    inputs: PageInputs, rows: dict[str, PublishedPageRow], extra: list[PageWork]
) -> list[PageWork]:
    """Every page the cycle should have, in write order, with no actions yet. The root and
    objective pages are not rendered: each carries the fingerprint of its inputs (rendered when
    written, see `rendered`); `extra` (reviews, health) are rendered pages under the root page."""
    cycle = inputs.cycle
    pages = [
        PageWork(
            subject=ROOT,
            title=root_title(cycle),
            parent=CONFIGURED_PARENT,
            depth=0,
            inputs_hash=inputs.root,
        )
    ]
    for node, up, level in inputs.walk():
        key = node.objective.key
        pages.append(
            PageWork(
                subject=key,
                title=page_title(cycle, node.objective),
                parent=up.objective.key if up else ROOT,
                depth=level + 1,
                inputs_hash=inputs.objectives[key],
            )
        )
    pages.extend(extra)
    wanted = {page.subject for page in pages}
    stale = [s for s in rows if s not in wanted and s not in RESERVED]
    if stale or ARCHIVE in rows:
        body = archive_body(cycle)
        pages.append(
            PageWork(
                subject=ARCHIVE,
                title=archive_title(cycle),
                parent=ROOT,
                depth=ARCHIVE_DEPTH,
                body=body,
                content_hash=content_hash(body),
            )
        )
    return pages


Placement = Mapping[str, tuple[ObjectiveNode, ObjectiveNode | None]]


def placement(context: RenderContext) -> dict[str, tuple[ObjectiveNode, ObjectiveNode | None]]:
    """objective key -> its node and its parent's in the context's tree."""
    return {node.objective.key: (node, parent) for node, parent, _ in context.walk()}


def rendered(context: RenderContext, page: PageWork, nodes: Placement) -> PageWork:
    """`page` (the root or an objective page of `nodes`) with its body, charts and hash."""
    if page.subject == ROOT:
        out = render_root_page(context)
    else:
        out = render_objective_page(context, *nodes[page.subject])
    return replace(
        page,
        title=out.title,
        body=out.body,
        attachments=out.attachments,
        content_hash=out.content_hash,
    )


def plan_pages(
    cycle: Cycle,
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
        actions = needed(row, page, parent_id, known)
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
    return PublishPlan(cycle=cycle, pages=work, unchanged=unchanged)
