"""A site of a million issues that never holds them all: each issue is made from its key.

`LazyIssues` is the `JiraSim.issues` mapping of the `huge` size. An issue's fields come from a
generator seeded by (seed, issue id), so the same key always reads the same; only what a mutation
touched (transitions, new issues, moves, deletes) is kept, as sparse overrides. Searches narrow
the candidates before the JQL is evaluated when the query's top-level AND names projects, keys or
`updated >=` (what a sync asks), using per-project columns of `updated` made once, on demand.
"""

from __future__ import annotations

import random
from array import array
from collections.abc import Iterator, MutableMapping
from datetime import UTC, datetime, timedelta

from okr_jira.jql import JqlError, dates
from okr_jira.jql.query import BoolOp, Clause, JqlQuery, Node, Value
from okr_jira.simulator.records import IssueRecord, Project

_TYPES_SUP = (("Story", 45), ("Task", 25), ("Bug", 30))
_TYPES_OTHER = (("Story", 55), ("Task", 30), ("Bug", 15))
_STATUS_MIX = (("To Do", 35), ("In Progress", 25), ("In Review", 10), ("Done", 30))
_PRIORITY_MIX = (("Highest", 5), ("High", 15), ("Medium", 55), ("Low", 20), ("Lowest", 5))
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _weighted(rng: random.Random, choices: tuple[tuple[str, int], ...]) -> str:
    pick = rng.random() * sum(w for _, w in choices)
    for name, weight in choices:
        pick -= weight
        if pick < 0:
            return name
    return choices[-1][0]


class LazyIssues(MutableMapping[str, IssueRecord]):
    """Issue records by current key, generated on access; mutations kept as overrides."""

    lazy = True

    def __init__(
        self,
        *,
        seed: int,
        projects: dict[str, Project],
        counts: dict[str, int],
        epics: dict[str, tuple[int, ...]],
        people: list[str],
        words: tuple[str, ...],
        verbs: tuple[str, ...],
        start: datetime,
        history_end: datetime,
    ) -> None:
        self.seed = seed
        self.projects = projects
        self.counts = dict(counts)  # generated issues per project: numbers 1..count
        self.first_id: dict[str, int] = {}
        next_id = 10000
        for key, count in counts.items():
            self.first_id[key] = next_id
            next_id += count
        self.next_id = next_id
        self.epic_sets = {p: frozenset(e) for p, e in epics.items()}
        self.epic_keys = {p: tuple(f"{p}-{n}" for n in sorted(e)) for p, e in epics.items()}
        self.people = people
        self.words = words
        self.verbs = verbs
        self.start = start
        self.span = (history_end - start).total_seconds()
        self.history_end = history_end
        self.overrides: dict[str, IssueRecord] = {}  # touched or created, by current key
        self.gone: set[str] = set()  # generated keys deleted or moved away
        self._updated: dict[str, array[float]] = {}  # project -> `updated` epoch of 1..count

    # --- generation ------------------------------------------------------------------------

    def _generated(self, key: str) -> tuple[str, int] | None:
        project, _, number = key.partition("-")
        if not number.isdigit() or project not in self.counts:
            return None
        n = int(number)
        return (project, n) if 1 <= n <= self.counts[project] else None

    def _type(self, project: str, n: int) -> str:
        if n in self.epic_sets[project]:
            return "Epic"
        rng = random.Random(self.seed * 7_919 + self.first_id[project] + n)
        roll = rng.random()
        if roll < 0.08 and n > 1:
            return "Sub-task"
        if project == "PLAT" and roll < 0.2:
            return "Incident"
        return _weighted(rng, _TYPES_SUP if project in ("SUP", "MOB") else _TYPES_OTHER)

    def _times(self, project: str, n: int) -> tuple[float, float]:
        """(created, updated) as epoch seconds, without generating the rest of the issue."""
        rng = random.Random(self.seed * 104_729 + self.first_id[project] + n)
        count = self.counts[project]
        created = self.start.timestamp() + self.span * 0.95 * (n / count) + rng.random() * 1800
        age = max(self.history_end.timestamp() - created, 0.0)
        return created, created + rng.random() * age * 0.5

    def make(self, project: str, n: int) -> IssueRecord:
        """The generated issue `project-n` (before any mutation)."""
        issue_id = self.first_id[project] + n - 1
        rng = random.Random(self.seed * 1_000_003 + issue_id)
        itype = self._type(project, n)
        parent = None
        if itype == "Sub-task":
            # A sub-task belongs to a standard issue just before it; if none is near, it is a Task.
            for back in range(1, 6):
                cand = n - back
                if cand >= 1 and self._type(project, cand) in ("Story", "Task", "Bug"):
                    parent = f"{project}-{cand}"
                    break
            else:
                itype = "Task"
        created_ts, updated_ts = self._times(project, n)
        created = _EPOCH + timedelta(seconds=created_ts)
        updated = _EPOCH + timedelta(seconds=updated_ts)
        status = _weighted(rng, _STATUS_MIX)
        people = self.people
        summary = f"{rng.choice(self.verbs)} {rng.choice(self.words)} {rng.choice(self.words)}"
        rec = IssueRecord(
            id=issue_id,
            key=f"{project}-{n}",
            project=project,
            issue_type=itype,
            status=status,
            summary=summary,
            created=created,
            updated=updated,
            priority=_weighted(rng, _PRIORITY_MIX),
            reporter=people[rng.randrange(len(people))],
            assignee=people[rng.randrange(len(people))] if rng.random() < 0.8 else None,
            parent=parent,
            resolved=updated if status == "Done" else None,
            status_changed=updated if status != "To Do" else None,
            description=f"{summary}. Details for {project}-{n}.",
        )
        proj = self.projects[project]
        epics = self.epic_keys[project]
        if itype not in ("Epic", "Sub-task") and epics and rng.random() < 0.65:
            # Near epics (by number) hold an issue: epics stay about the size of a real one.
            rec.epic = epics[
                min(int(n / max(self.counts[project], 1) * len(epics)), len(epics) - 1)
            ]
        labels: list[str] = []
        if project in ("PLAT", "MOB") and rng.random() < 0.25:
            labels.append("reliability")
        if project == "MOB" and itype == "Bug" and rng.random() < 0.45:
            labels.append("crash")
        if rng.random() < 0.1:
            labels.append(("tech-debt", "customer", "q4")[rng.randrange(3)])
        rec.labels = tuple(labels)
        if proj.components and itype != "Epic" and rng.random() < 0.6:
            rec.components = (sorted(proj.components)[rng.randrange(len(proj.components))],)
        if proj.versions and itype != "Epic" and rng.random() < 0.5:
            rec.fix_versions = (sorted(proj.versions)[rng.randrange(len(proj.versions))],)
        if itype == "Story" and rng.random() < 0.85:
            rec.story_points = float((1, 2, 3, 5, 8, 13)[rng.randrange(6)])
        if itype != "Epic" and rng.random() < 0.7:
            rec.estimate_seconds = (1, 2, 4, 8, 16, 24)[rng.randrange(6)] * 3600
        return rec

    def id_key(self, issue_id: int) -> str | None:
        """The generated key of an issue id (None when the id is not a generated one)."""
        for project, first in self.first_id.items():
            if first <= issue_id < first + self.counts[project]:
                return f"{project}-{issue_id - first + 1}"
        return None

    # --- the mapping -----------------------------------------------------------------------

    def __getitem__(self, key: str) -> IssueRecord:
        rec = self.overrides.get(key)
        if rec is not None:
            return rec
        where = self._generated(key)
        if where is None or key in self.gone:
            raise KeyError(key)
        return self.make(*where)

    def __setitem__(self, key: str, rec: IssueRecord) -> None:
        self.overrides[key] = rec
        self.gone.discard(key)

    def __delitem__(self, key: str) -> None:
        if key in self.overrides:
            del self.overrides[key]
            if self._generated(key) is not None:
                self.gone.add(key)
        elif self._generated(key) is not None and key not in self.gone:
            self.gone.add(key)
        else:
            raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        if key in self.overrides:
            return True
        return self._generated(key) is not None and key not in self.gone

    def __iter__(self) -> Iterator[str]:
        for project, count in self.counts.items():
            yield from self._project_keys(project, range(1, count + 1))
        for key in self.overrides:
            if self._generated(key) is None:
                yield key

    def _project_keys(self, project: str, numbers: range) -> Iterator[str]:
        gone = self.gone
        for n in numbers:
            key = f"{project}-{n}"
            if key not in gone:
                yield key

    def __len__(self) -> int:
        generated = sum(self.counts.values()) - len(self.gone)
        return generated + sum(1 for k in self.overrides if self._generated(k) is None)

    # --- narrowing a search ----------------------------------------------------------------

    def candidates(self, query: JqlQuery, *, now: datetime) -> Iterator[IssueRecord]:
        """Records that may match `query` (a superset; the caller evaluates the JQL): when its
        top-level AND names projects, keys or `updated >=`/`>`, only those are generated."""
        projects: set[str] | None = None
        keys: set[str] | None = None
        since: float | None = None
        where = query.where
        parts: tuple[Node, ...] = ()
        if where is not None:
            parts = where.parts if isinstance(where, BoolOp) and where.op == "and" else (where,)
        for part in parts:
            if not isinstance(part, Clause):
                continue
            values = _values(part)
            name = part.field.name
            if name == "project" and part.op in ("=", "in") and values is not None:
                named = {v.upper() for v in values}
                found = {p for p in self.projects if p in named}
                found |= {p.key for p in self.projects.values() if p.name.upper() in named}
                projects = found if projects is None else projects & found
            elif name == "key" and part.op in ("=", "in") and values is not None:
                named = {v.upper() for v in values}
                keys = named if keys is None else keys & named
            elif name == "updated" and part.op in (">=", ">") and values and len(values) == 1:
                try:
                    at = dates.resolve_value(values[0], now).timestamp()
                except (ValueError, JqlError):
                    continue
                since = at if since is None else max(since, at)
        if keys is not None:
            for key in sorted(keys):
                rec = self.get(key)
                if rec is not None:
                    yield rec
            return
        chosen = [p for p in self.counts if projects is None or p in projects]
        for project in chosen:
            if since is None:
                numbers: list[int] | range = range(1, self.counts[project] + 1)
            else:
                column = self._updated_column(project)
                numbers = [i + 1 for i, u in enumerate(column) if u >= since - 1]
            for n in numbers:
                key = f"{project}-{n}"
                if key in self.gone or key in self.overrides:
                    continue
                yield self.make(project, n)
        for rec in list(self.overrides.values()):
            if projects is None or rec.project in projects:
                yield rec

    def whole_projects(self, query: JqlQuery) -> list[str] | None:
        """The answer to `project in (...)` and nothing else, newest first, made without a
        single issue (what a full sync of a huge site asks); None for any other query."""
        where = query.where
        if query.order_by or not isinstance(where, Clause) or where.field.name != "project":
            return None
        values = _values(where)
        if where.op not in ("=", "in") or values is None:
            return None
        named = {v.upper() for v in values}
        chosen = {p for p in self.projects if p in named}
        chosen |= {p.key for p in self.projects.values() if p.name.upper() in named}
        found = [(rec.id, rec.key) for rec in self.overrides.values() if rec.project in chosen]
        for project in chosen:
            first = self.first_id[project]
            for n in range(1, self.counts[project] + 1):
                key = f"{project}-{n}"
                if key not in self.gone and key not in self.overrides:
                    found.append((first + n - 1, key))
        found.sort(reverse=True)
        return [key for _, key in found]

    def _updated_column(self, project: str) -> array[float]:
        column = self._updated.get(project)
        if column is None:
            column = array(
                "d", (self._times(project, n)[1] for n in range(1, self.counts[project] + 1))
            )
            self._updated[project] = column
        return column


def _values(clause: Clause) -> list[str] | None:
    out = []
    for op in clause.operands:
        if not isinstance(op, Value):
            return None
        out.append(op.text)
    return out
