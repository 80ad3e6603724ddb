"""The golden thread back into Jira: a remote link on every issue that counts toward a key result
(opt-in: OKR_JIRA_JIRA_REMOTE_LINKS=true).

Each link is titled with the key result's key and title, points at the key result on its
objective's Confluence page (or at its page in okr-jira's web app when Confluence is not
configured), says "contributes to", and has a globalId naming the key result, so Jira replaces
it when it changes. What was written is kept (storage/remote_links.py) with the hash of what it
says; a run compares what should be linked (the open scope links) with it, and writes only the
differences: links for issues that joined or whose key result or page changed, removals for
issues that left. A run with nothing changed sends no request. Removals go first: an issue
moved to a new key answers to its old key too, and its new link must not be removed after it
is written.

Never a loop: a link write may move the issue's `updated` and fire a webhook; that event stores
the new `updated` but changes no snapshot field progress reads and no scope (scope/links.py,
`quiet`), so nothing is recorded, and the next run finds nothing to write.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from urllib.parse import quote

from sqlalchemy import Engine
from sqlmodel import Session

from okr_jira.adapters.jira import JiraAdapter, JiraError
from okr_jira.adapters.jira_remote_links import RemoteLink, RemoteLinks
from okr_jira.storage import state
from okr_jira.storage.db import session_scope
from okr_jira.storage.links import open_links
from okr_jira.storage.okrs import load_okrs
from okr_jira.storage.pages import page_rows
from okr_jira.storage.remote_links import Pair, forget_links, save_link, written_links

log = logging.getLogger(__name__)
BATCH = 50  # link writes recorded per transaction: a run that stops loses at most these


@dataclass(frozen=True)
class LinkTarget:
    """Where links point: the objective's Confluence page (once published), else the key
    result's page under `web_url` (okr-jira's web app)."""

    confluence: bool
    web_url: str | None = None


@dataclass
class LinkSummary:
    created: int = 0
    updated: int = 0
    removed: int = 0
    waiting: int = 0  # issues whose key result's page is not published yet
    unchanged: int = 0
    failed: int = 0
    requests: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def writes(self) -> int:
        return self.created + self.updated + self.removed

    def lines(self) -> list[str]:
        out = [
            f"remote links in Jira: {self.created} created, {self.updated} updated, "
            f"{self.removed} removed, {self.unchanged} unchanged ({self.requests} requests)"
        ]
        if self.waiting:
            out.append(f"  {self.waiting} wait for their key result's page to be published")
        out.extend(f"  error: {error}" for error in self.errors)
        return out


def page_url(base: str, page_id: str) -> str:
    """A Confluence page by id: stable across renames, on Cloud and Data Center alike."""
    return f"{base.rstrip('/')}/pages/viewpage.action?pageId={quote(page_id)}"


def web_page_url(base: str, kr: str) -> str:
    return f"{base.rstrip('/')}/key-results/{quote(kr, safe='')}"


def desired_links(session: Session, target: LinkTarget) -> tuple[dict[Pair, RemoteLink], int]:
    """Every (issue, KR) that should carry a link, and how many wait for a page."""
    okrs = load_okrs(session=session)
    cycles = {c.key: c for c in okrs.cycles}
    base = state.CONFLUENCE_BASE_URL.get(session=session) if target.confluence else None
    pages: dict[str, dict[str, str]] = {}
    if target.confluence:
        for key in cycles:
            pages[key] = {s: r.page_id for s, r in page_rows(session=session, cycle=key).items()}
    krs = {
        kr.key: (kr, o)
        for o in okrs.objectives
        for kr in o.key_results
        if kr.kind != "manual" and kr.source is not None
    }
    scope = open_links(session=session, krs=list(krs))
    out: dict[Pair, RemoteLink] = {}
    waiting = 0
    for kr_key, issues in scope.items():
        kr, objective = krs[kr_key]
        cycle = cycles.get(objective.cycle)
        if target.confluence:
            page_id = pages.get(objective.cycle, {}).get(objective.key)
            if base is None or page_id is None:
                waiting += len(issues)
                continue
            url = page_url(base, page_id)
        else:
            assert target.web_url is not None
            url = web_page_url(target.web_url, kr.key)
        cycle_name = f" ({cycle.name})" if cycle else ""
        summary = f"Key result of {objective.key} {objective.title}{cycle_name}, by okr-jira"
        for issue in issues:
            out[(issue, kr.key)] = RemoteLink(issue, kr.key, url, f"{kr.key} {kr.title}", summary)
    return out, waiting


def request_remote_links(engine: Engine, *, now: dt.datetime) -> None:
    """Note that the scope, the OKRs or the pages may have changed: the remote links job brings
    Jira's links in step on its next run."""
    with session_scope(engine) as session:
        state.REMOTE_LINKS_REQUESTED.set(now, session=session)


def sync_remote_links(
    engine: Engine,
    jira: JiraAdapter,
    target: LinkTarget,
    *,
    now: dt.datetime,
    dry_run: bool = False,
) -> LinkSummary:
    """Write the links that changed and remove those no longer wanted; see the module doc."""
    summary = LinkSummary()
    with session_scope(engine) as session:
        desired, summary.waiting = desired_links(session, target)
        written = {
            pair: (row.global_id, row.content_hash)
            for pair, row in written_links(session=session).items()
        }
    removals = sorted(pair for pair in written if pair not in desired)
    writes = []
    for pair, link in sorted(desired.items()):
        before = written.get(pair)
        if before is not None and before[1] == link.content_hash():
            summary.unchanged += 1
        else:
            writes.append((link, before is None))
    if dry_run:
        summary.removed = len(removals)
        summary.created = sum(1 for _, new in writes if new)
        summary.updated = len(writes) - summary.created
        return summary
    client = RemoteLinks(jira)
    before_requests = jira.stats.snapshot()["sent"]
    try:
        _remove(engine, client, removals, written, summary)
        _write(engine, client, writes, summary, now)
    finally:
        summary.requests = jira.stats.snapshot()["sent"] - before_requests
        if summary.writes or summary.errors:
            log.info(
                "jira.remote_links.synced",
                extra={"created": summary.created, "updated": summary.updated,
                       "removed": summary.removed, "failed": summary.failed},
            )  # fmt: skip
    return summary


def _remove(
    engine: Engine,
    client: RemoteLinks,
    removals: list[Pair],
    written: dict[Pair, tuple[str, str]],
    summary: LinkSummary,
) -> None:
    done: list[Pair] = []
    try:
        for pair in removals:
            client.delete(pair[0], written[pair][0])  # gone already is as good
            done.append(pair)
            summary.removed += 1
            if len(done) >= BATCH:
                _forget(engine, done)
    finally:
        _forget(engine, done)


def _forget(engine: Engine, done: list[Pair]) -> None:
    if done:
        with session_scope(engine) as session:
            forget_links(session=session, pairs=done)
        done.clear()


def _write(
    engine: Engine,
    client: RemoteLinks,
    writes: list[tuple[RemoteLink, bool]],
    summary: LinkSummary,
    now: dt.datetime,
) -> None:
    done: list[tuple[RemoteLink, str | None]] = []
    try:
        for link, new in writes:
            try:
                ident = client.upsert(link)
            except JiraError as exc:
                if exc.status == 400:  # this link only (a URL Jira refuses): the others go on
                    summary.failed += 1
                    summary.errors.append(f"{link.issue} -> {link.kr}: {exc.message}")
                    continue
                if exc.status == 403:
                    summary.errors.append(
                        f"Jira refused a remote link on {link.issue} (HTTP 403): the account "
                        "needs the Browse projects and Link issues permissions"
                    )
                raise
            if ident is None and new:
                continue  # the issue is gone: the next sync closes its scope link
            done.append((link, ident))
            summary.created += int(new)
            summary.updated += int(not new)
            if len(done) >= BATCH:
                _save(engine, done, now)
    finally:
        _save(engine, done, now)


def _save(engine: Engine, done: list[tuple[RemoteLink, str | None]], now: dt.datetime) -> None:
    if not done:
        return
    with session_scope(engine) as session:
        for link, ident in done:
            save_link(
                session=session, issue=link.issue, kr=link.kr, global_id=link.global_id,
                content_hash=link.content_hash(), link_id=ident, at=now,
            )  # fmt: skip
    done.clear()
