"""JiraSim: the simulated Jira site's state, searches and mutations (thread-safe)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from okr_jira.jql import JqlError, check_values, parse_jql
from okr_jira.jql.fields import STATUS_CATEGORY_KEYS
from okr_jira.jql.query import JqlQuery
from okr_jira.simulator.catalog import (
    ISSUE_TYPES,
    PRIORITIES,
    STATUSES,
    Flavor,
    field_list,
)
from okr_jira.simulator.changelog import change_items, item, status_items
from okr_jira.simulator.huge import LazyIssues
from okr_jira.simulator.records import IssueRecord, IssueView, Project, User
from okr_jira.simulator.remote_links import RemoteLink, RemoteLinkStore
from okr_jira.simulator.render import issue_json, jira_time, user_json
from okr_jira.simulator.webhooks import Deliverer, WebhookRegistration, build_delivery

Payload = dict[str, Any]
_UPDATABLE = frozenset(
    {
        "summary",
        "status",
        "issue_type",
        "priority",
        "labels",
        "components",
        "fix_versions",
        "epic",
        "parent",
        "story_points",
        "estimate_seconds",
        "hours_saved",
        "assignee",
        "description",
    }
)


@dataclass(frozen=True, slots=True)
class SimEvent:
    """What a mutation did: the issue key (after it) and the webhook payload Jira would send."""

    key: str
    payload: Payload


@dataclass
class JiraSim:
    flavor: Flavor
    projects: dict[str, Project] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)  # by User.name
    # by current key; a `LazyIssues` (simulator/huge.py) for sites too big to hold
    issues: MutableMapping[str, IssueRecord] = field(default_factory=dict)
    bot: str = "okr-bot"  # User.name of the API user
    time_zone: str = "Etc/UTC"  # every user's profile zone (/myself `timeZone`)
    base_url: str = "http://jira.sim.invalid"  # set by SimulatorServer.start()
    webhook_url: str | None = None
    webhook_secret: str | None = None
    deliver: bool = True  # False: mutations only return payloads (and keep them in `outbox`)
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    webhooks: list[WebhookRegistration] = field(default_factory=list)
    # Jira Cloud lets only OAuth 2.0 and Connect apps use dynamic webhooks (/rest/api/3/webhook):
    # an API token gets 403. True plays such an app's credentials.
    oauth_app: bool = False
    outbox: list[Payload] = field(default_factory=list)
    changelogs: dict[str, list[Payload]] = field(default_factory=dict)
    children: dict[str, list[str]] = field(default_factory=dict)  # sub-task parent -> keys
    deliverer: Deliverer = field(default_factory=Deliverer)
    remote: RemoteLinkStore = field(default_factory=RemoteLinkStore)

    def __post_init__(self) -> None:
        self.lock = threading.RLock()
        self._by_id: dict[int, str] = {}
        self._old_keys: dict[str, str] = {}
        self._version = 0
        self._cache: OrderedDict[tuple[str, int, str | None], list[str]] = OrderedDict()
        self._parsed: dict[tuple[str, int], JqlQuery] = {}
        self._next_id = 10000
        self._next_change = 10000
        self._next_hook = 1
        self._lazy: LazyIssues | None = None
        if isinstance(self.issues, LazyIssues):
            # Ids of generated issues follow from their keys; new ones come after them.
            self._lazy = self.issues
            self._next_id = self.issues.next_id
            return
        for rec in self.issues.values():
            self._index(rec)
        self._next_id = max(self._by_id, default=9999) + 1

    # --- reading -------------------------------------------------------------------------

    def get(self, key_or_id: str) -> IssueRecord | None:
        with self.lock:
            rec = self.issues.get(key_or_id.upper())
            if rec is None and key_or_id.isdigit():
                key = self._by_id.get(int(key_or_id))
                if key is None and self._lazy is not None:
                    key = self._lazy.id_key(int(key_or_id))
                rec = self.issues.get(key) if key else None
            if rec is None and (new := self._old_keys.get(key_or_id.upper())):
                rec = self.issues.get(new)
            return rec

    def view(self, rec: IssueRecord) -> IssueView:
        return IssueView(rec, self.flavor, self.projects, self.users)

    def field_list(self) -> list[dict[str, object]]:
        return field_list(self.flavor)

    def parse(self, jql: str) -> JqlQuery:
        """Parse and validate values like Jira; raises JqlError."""
        with self.lock:
            cached = self._parsed.get((jql, self._version))
        if cached is not None:
            return cached  # every page of a search sends the same (maybe long) JQL
        query = parse_jql(jql)
        with self.lock:
            check_values(query, self._exists)
            if len(self._parsed) > 64:
                self._parsed.clear()
            self._parsed[(jql, self._version)] = query
        return query

    def search(self, jql: str, *, current_user: str | None = None) -> list[str]:
        """Keys matching the JQL in result order; cached until the next mutation, unless the
        answer moves with the clock (`updated >= -15m`)."""
        query = self.parse(jql)
        with self.lock:
            now = self.clock()
            cacheable = all(c.is_absolute() for c in query.clauses())
            cache_key = (jql, self._version, current_user)
            hit = self._cache.get(cache_key) if cacheable else None
            if hit is not None:
                self._cache.move_to_end(cache_key)
                return hit
            whole = self._lazy.whole_projects(query) if self._lazy is not None else None
            if whole is not None:
                if cacheable:
                    self._cache[cache_key] = whole
                return whole
            records: Iterable[IssueRecord] = (
                self._lazy.candidates(query, now=now)
                if self._lazy is not None
                else self.issues.values()
            )
            views = [
                v
                for v in (self.view(r) for r in records)
                if query.matches(v, now=now, current_user=current_user)
            ]
            # Without ORDER BY Jira lists the newest issues first.
            ordered = query.sorted(views, default=lambda v: -v.rec.id)
            keys = [v.rec.key for v in ordered]
            if cacheable:
                self._cache[cache_key] = keys
            if len(self._cache) > 64:
                self._cache.popitem(last=False)
            return keys

    def issue_payload(self, rec: IssueRecord, *, base: str | None = None) -> Payload:
        return issue_json(
            self, rec, base or self.base_url, requested=None, default="*all", api_version="2"
        )

    def user_payload(self, name: str | None = None, *, base: str | None = None) -> Payload:
        return user_json(self, self.users[name or self.bot], base or self.base_url)

    def _exists(self, field_name: str, value: str) -> bool | None:
        v = value.casefold()
        match field_name:
            case "project":
                return any(
                    v in (p.key.casefold(), p.name.casefold(), str(p.id))
                    for p in self.projects.values()
                )
            case "issuetype":
                return v in {t.casefold() for t in ISSUE_TYPES}
            case "status":
                return v in {s.casefold() for s in STATUSES} or any(
                    s.id == value for s in STATUSES.values()
                )
            case "statusCategory":
                return v in STATUS_CATEGORY_KEYS
            case "priority":
                return v in {p.casefold() for p in PRIORITIES}
            case "component":
                return any(
                    v in {c.casefold() for c in p.components} for p in self.projects.values()
                )
            case "fixVersion":
                return any(v in {n.casefold() for n in p.versions} for p in self.projects.values())
            case "key" | "parent" | "Epic Link":
                return self.get(value) is not None
        return None

    # --- mutations -----------------------------------------------------------------------

    def create_issue(
        self,
        project: str,
        issue_type: str,
        summary: str,
        *,
        status: str = "To Do",
        at: datetime | None = None,
        **values: Any,
    ) -> SimEvent:
        """Create an issue; `values` are IssueRecord fields (labels, epic, story_points, ...)."""
        unknown = set(values) - _UPDATABLE
        if unknown or issue_type not in ISSUE_TYPES or status not in STATUSES:
            raise ValueError(f"bad issue values: {sorted(unknown) or issue_type or status}")
        with self.lock:
            proj = self.projects[project]
            now = at or self.clock()
            rec = IssueRecord(
                id=self._take_id(),
                key=f"{proj.key}-{proj.next_number}",
                project=proj.key,
                issue_type=issue_type,
                status=status,
                summary=summary,
                created=now,
                updated=now,
                reporter=self.bot,
                resolved=now if STATUSES[status].category == "done" else None,
                **_tupled(values),
            )
            proj.next_number += 1
            self._index(rec)
            self.issues[rec.key] = rec
            self._version += 1
            items = [
                item("summary", None, None, None, summary),
                item("status", None, None, STATUSES[status].id, status),
            ]
            if self.flavor != "cloud":
                items = []  # Data Center sends no changelog on issue_created
            return self._emit("jira:issue_created", "issue_created", rec, items, now)

    def update_issue(self, key: str, *, at: datetime | None = None, **changes: Any) -> SimEvent:
        """Change fields (status, labels, epic, story_points, ...); bumps `updated`."""
        unknown = set(changes) - _UPDATABLE
        if unknown:
            raise ValueError(f"unknown fields: {sorted(unknown)}")
        with self.lock:
            rec = self._require(key)
            now = at or self.clock()
            items: list[Payload] = []
            event_type = "issue_updated"
            for name, value in _tupled(changes).items():
                old = getattr(rec, name)
                if old == value:
                    continue
                if name == "status":
                    if value not in STATUSES:
                        raise ValueError(f"unknown status {value!r}")
                    event_type = "issue_generic"
                    items.extend(status_items(rec, old, value, now))
                elif name == "assignee" and event_type == "issue_updated":
                    event_type = "issue_assigned"
                items.extend(change_items(self, rec, name, old, value))
                setattr(rec, name, value)
                if name == "parent":
                    self._relink(rec.key, old, value)
            rec.updated = now
            self.issues[rec.key] = rec  # a lazy site keeps what changed
            self._version += 1
            return self._emit("jira:issue_updated", event_type, rec, items, now)

    def transition(self, key: str, status: str, *, at: datetime | None = None) -> SimEvent:
        return self.update_issue(key, status=status, at=at)

    def move_issue(self, key: str, project: str, *, at: datetime | None = None) -> SimEvent:
        """Move to another project: the issue gets a new key; the old one still resolves."""
        with self.lock:
            rec = self._require(key)
            target = self.projects[project]
            now = at or self.clock()
            old_key, old_project = rec.key, self.projects[rec.project]
            new_key = f"{target.key}-{target.next_number}"
            target.next_number += 1
            del self.issues[old_key]
            rec.key, rec.project = new_key, target.key
            rec.old_keys = (*rec.old_keys, old_key)
            rec.components = tuple(c for c in rec.components if c in target.components)
            rec.fix_versions = tuple(v for v in rec.fix_versions if v in target.versions)
            rec.updated = now
            self.issues[new_key] = rec
            self._old_keys[old_key] = new_key
            self._rekey_references(old_key, new_key)
            self._version += 1
            items = [
                item("project", str(old_project.id), old_project.name, str(target.id), target.name),
                item("Key", None, old_key, None, new_key, field_id="key"),
            ]
            return self._emit("jira:issue_updated", "issue_moved", rec, items, now)

    def delete_issue(self, key: str, *, at: datetime | None = None) -> SimEvent:
        with self.lock:
            rec = self._require(key)
            now = at or self.clock()
            event = self._emit("jira:issue_deleted", "issue_deleted", rec, None, now)
            del self.issues[rec.key]
            self._by_id.pop(rec.id, None)
            if rec.parent:
                self._relink(rec.key, rec.parent, None)
            self._version += 1
            return event

    # --- remote issue links ----------------------------------------------------------------

    def remote_links(self, key: str) -> list[RemoteLink]:
        with self.lock:
            return self.remote.of(self._require(key).id)

    def upsert_remote_link(
        self, key: str, body: Any, *, at: datetime | None = None
    ) -> tuple[RemoteLink, bool]:
        """POST remotelink: (link, created). Raises RemoteLinkError (KeyError: no issue)."""
        with self.lock:
            rec = self._require(key)
            link, created = self.remote.upsert(rec.id, body)
            self._remote_link_written(rec, None if created else link, link, at)
            return link, created

    def replace_remote_link(
        self, key: str, link_id: int, body: Any, *, at: datetime | None = None
    ) -> RemoteLink:
        with self.lock:
            rec = self._require(key)
            link = self.remote.replace(rec.id, link_id, body)
            self._remote_link_written(rec, link, link, at)
            return link

    def delete_remote_link(
        self,
        key: str,
        *,
        link_id: int | None = None,
        global_id: str | None = None,
        at: datetime | None = None,
    ) -> None:
        with self.lock:
            rec = self._require(key)
            if global_id is not None:
                link = self.remote.by_global_id(rec.id, global_id)
            else:
                link = self.remote.get(rec.id, link_id or 0)
            self.remote.delete(rec.id, link)
            self._remote_link_written(rec, link, None, at)

    def _remote_link_written(
        self,
        rec: IssueRecord,
        old: RemoteLink | None,
        new: RemoteLink | None,
        at: datetime | None,
    ) -> None:
        """The issue history item Jira writes for a remote link, and (touch_issue) the moved
        `updated` and the jira:issue_updated webhook that may come with it."""
        now = at or self.clock()

        def words(link: RemoteLink | None) -> str | None:
            if link is None:
                return None
            return f'This issue links to "{link.object.get("title")}"'

        change = item(
            "RemoteIssueLink",
            str(old.id) if old else None,
            words(old),
            str(new.id) if new else None,
            words(new),
        )
        if not self.remote.touch_issue:
            change_id = str(self._next_change)
            self._next_change += 1
            self.changelogs.setdefault(rec.key, []).append(
                {"id": change_id, "author": self.user_payload(), "created": jira_time(now),
                 "items": [change]}
            )  # fmt: skip
            return
        rec.updated = now
        self.issues[rec.key] = rec
        self._version += 1
        self._emit("jira:issue_updated", "issue_updated", rec, [change], now)

    # --- webhook registrations ---------------------------------------------------------

    def register_webhook(
        self,
        url: str,
        *,
        events: Iterable[str] = ("jira:issue_created", "jira:issue_updated", "jira:issue_deleted"),
        jql: str | None = None,
        name: str = "",
        secret: str | None = None,
        source: str = "admin",
    ) -> WebhookRegistration:
        with self.lock:
            hook = WebhookRegistration(
                self._next_hook, url, tuple(events), jql or None, name, secret, True, source
            )
            self._next_hook += 1
            self.webhooks.append(hook)
            return hook

    def update_webhook(
        self,
        hook_id: int,
        *,
        url: str,
        events: Iterable[str],
        jql: str | None,
        name: str,
        secret: str | None,
    ) -> WebhookRegistration | None:
        """PUT over an admin webhook: every field replaced (the secret only when one is sent)."""
        with self.lock:
            hook = next((h for h in self.webhooks if h.id == hook_id), None)
            if hook is None:
                return None
            hook.url, hook.events, hook.jql, hook.name = url, tuple(events), jql or None, name
            if secret is not None:
                hook.secret = secret or None
            return hook

    def remove_webhook(self, hook_id: int) -> bool:
        with self.lock:
            before = len(self.webhooks)
            self.webhooks = [h for h in self.webhooks if h.id != hook_id]
            return len(self.webhooks) < before

    def flush_webhooks(self, timeout: float = 10.0) -> bool:
        return self.deliverer.flush(timeout)

    # --- internals -----------------------------------------------------------------------

    def _take_id(self) -> int:
        new_id = self._next_id
        self._next_id += 1
        return new_id

    def _index(self, rec: IssueRecord) -> None:
        self._by_id[rec.id] = rec.key
        if rec.parent:
            self.children.setdefault(rec.parent, []).append(rec.key)
        for old in rec.old_keys:
            self._old_keys[old] = rec.key

    def _require(self, key: str) -> IssueRecord:
        rec = self.get(key)
        if rec is None:
            raise KeyError(key)
        return rec

    def _relink(self, key: str, old: str | None, new: str | None) -> None:
        if old and key in self.children.get(old, []):
            self.children[old].remove(key)
        if new:
            self.children.setdefault(new, []).append(key)

    def _rekey_references(self, old_key: str, new_key: str) -> None:
        for other in list(self.issues.values()) if self._lazy is None else self.issues.values():
            if old_key not in (other.epic, other.parent):
                continue
            if other.epic == old_key:
                other.epic = new_key
            if other.parent == old_key:
                other.parent = new_key
            self.issues[other.key] = other
        if old_key in self.children:
            self.children[new_key] = self.children.pop(old_key)
        for kids in self.children.values():
            kids[:] = [new_key if k == old_key else k for k in kids]
        if old_key in self.changelogs:
            self.changelogs[new_key] = self.changelogs.pop(old_key)

    def _emit(
        self,
        event: str,
        event_type: str,
        rec: IssueRecord,
        items: list[Payload] | None,
        now: datetime,
    ) -> SimEvent:
        payload: Payload = {
            "timestamp": int(now.timestamp() * 1000),
            "webhookEvent": event,
            "issue_event_type_name": event_type,
            "user": self.user_payload(),
            "issue": self.issue_payload(rec),
        }
        if items is not None and (items or event != "jira:issue_created"):
            change_id = str(self._next_change)
            self._next_change += 1
            payload["changelog"] = {"id": change_id, "items": items}
            if items:
                self.changelogs.setdefault(rec.key, []).append(
                    {
                        "id": change_id,
                        "author": self.user_payload(),
                        "created": jira_time(now),
                        "items": items,
                    }
                )
        if event == "jira:issue_deleted":
            payload.pop("issue_event_type_name")
        self.outbox.append(payload)
        if self.deliver:
            self._deliver(event, rec, payload)
        return SimEvent(rec.key, payload)

    def _deliver(self, event: str, rec: IssueRecord, payload: Payload) -> None:
        targets: list[tuple[str, str | None]] = []
        if self.webhook_url:
            targets.append((self.webhook_url, self.webhook_secret))
        now = self.clock()
        for hook in self.webhooks:
            if not hook.enabled or event not in hook.events:
                continue
            if hook.jql:
                try:
                    if not parse_jql(hook.jql).matches(self.view(rec), now=now):
                        continue
                except JqlError:
                    continue
            targets.append((hook.url, hook.secret))
        for url, secret in targets:
            self.deliverer.submit(build_delivery(url, payload, secret, self.flavor))


def _tupled(values: dict[str, Any]) -> dict[str, Any]:
    return {
        k: tuple(v) if k in ("labels", "components", "fix_versions") else v
        for k, v in values.items()
    }
