"""Which KRs the issues a full sync reads belong to, decided batch by batch as pages arrive.

A KR's selection of one issue depends on that issue alone (selectors, local JQL, include and
exclude by key), so the read issues can be judged in batches and forgotten: a full sync of a site
of a million issues keeps each KR's issue keys (the key strings of the keys read, shared), the
keys read and which of them are done, never every snapshot.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from okr_jira.domain.matching import KrMatcher
from okr_jira.domain.models import IssueSnapshot
from okr_jira.domain.selectors import IssueIndex
from okr_jira.domain.snapshot_view import SnapshotView
from okr_jira.jql import JqlQuery

BATCH = 20_000  # snapshots judged at once: an index over them, then every KR's selection


@dataclass
class ScopeCollector:
    """Collects the pairs each local KR selects and the candidates of each remote KR."""

    matchers: Mapping[str, KrMatcher]  # the KRs decided by this sync (not set aside)
    remote: set[str]  # KRs whose JQL only Jira answers
    now: dt.datetime
    wanted: dict[str, set[str]] = field(default_factory=dict)  # kr -> the issues it selects
    read: set[str] = field(default_factory=set)  # keys of the issues read
    done: set[str] = field(default_factory=set)  # ... of which done
    candidates: dict[str, set[str]] = field(default_factory=dict)  # remote kr -> may match
    _batch: list[IssueSnapshot] = field(default_factory=list)

    def add(self, snaps: Iterable[IssueSnapshot]) -> None:
        for snap in snaps:
            self._batch.append(snap)
            self.read.add(snap.key)
            if snap.status_category == "done":
                self.done.add(snap.key)
            else:
                self.done.discard(snap.key)
        if len(self._batch) >= BATCH:
            self.flush()

    def flush(self) -> None:
        """Judge the pending snapshots against every KR, then let them go."""
        if not self._batch:
            return
        index = IssueIndex(self._batch)
        now = self.now
        for kr, m in self.matchers.items():
            if kr in self.remote:
                hits = {s.key for s in index.snapshots if m.may_match(s, now=now)}
                self.candidates.setdefault(kr, set()).update(hits)
                continue
            source = m.kr.source
            if source is None:
                continue
            query = m.query

            def jql_match(snap: IssueSnapshot, q: JqlQuery | None = query) -> bool:
                return q is None or q.matches(SnapshotView(snap), now=now)

            chosen = index.select(
                source,
                scope_projects=m.scope_projects,
                jql_match=jql_match if query is not None else None,
            )
            if chosen:
                self.wanted.setdefault(kr, set()).update(snap.key for snap in chosen)
        self._batch = []
