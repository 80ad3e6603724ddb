"""Deterministic Jira data shaped after config/okrs.example.yaml, in four sizes (huge: lazy)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Literal

from okr_jira.simulator.catalog import Flavor
from okr_jira.simulator.huge import LazyIssues
from okr_jira.simulator.jira import JiraSim
from okr_jira.simulator.records import IssueRecord, Project, User

Size = Literal["small", "medium", "large", "huge"]
SIZES: dict[str, int] = {"small": 300, "medium": 10_000, "large": 100_000, "huge": 1_000_000}
CYCLE_START = datetime(2026, 10, 1, 8, 0, tzinfo=UTC)
CYCLE_END = datetime(2026, 12, 31, 18, 0, tzinfo=UTC)
# The generated history ends here, so no issue is "updated" in the future of a real clock (an
# incremental sync's watermark would otherwise skip every later change).
AS_OF = datetime(2026, 11, 15, 12, 0, tzinfo=UTC)

# key, name, share of the issues, components, fix versions
_PROJECTS: tuple[tuple[str, str, float, tuple[str, ...], tuple[str, ...]], ...] = (
    (
        "SUP",
        "Support",
        0.24,
        ("Tickets", "Macros", "Escalations"),
        ("2026.10", "2026.11", "2026.12"),
    ),
    ("SELF", "Self-Service", 0.22, ("Help Center", "Chatbot", "Billing"), ("2026.11", "2026.12")),
    ("PLAT", "Platform", 0.22, ("API", "Infrastructure", "On-call"), ("2026.11", "2026.12")),
    ("MOB", "Mobile", 0.18, ("iOS", "Android"), ("5.2", "5.3")),
    ("MKT", "Marketing", 0.08, ("Website",), ()),
    ("HR", "People Ops", 0.06, ("Hiring",), ()),
)
# Epic numbers per project; the example OKR file names SUP-12, SELF-5, SELF-9 and PLAT-20.
_EPICS = {"SUP": (12, 2), "SELF": (5, 9), "PLAT": (20, 6), "MOB": (4,), "MKT": (3,), "HR": (2,)}
_STATUS_MIX = (("To Do", 35), ("In Progress", 25), ("In Review", 10), ("Done", 30))
_WORD_TEXT = """
    refund flow search index crash login sync macro template onboarding alert retry cache
    deploy queue export import billing report dashboard token webhook latency timeout
    escalation article widget offline push notification on-call runbook backup
"""
_WORDS = tuple(_WORD_TEXT.split())
_VERBS = ("Add", "Fix", "Improve", "Remove", "Migrate", "Document", "Automate", "Speed up")
_FIRST = ("Ana", "Ben", "Chloé", "Dev", "Eun-ji", "Farid", "Grace", "Hugo", "Ines", "Jon", "Kai")
_LAST = ("Silva", "Okafor", "Martin", "Patel", "Kim", "Haddad", "Hopper", "Roy", "Costa", "Berg")


def make_users(rng: random.Random) -> dict[str, User]:
    users = {
        "okr-bot": User(
            "712020:0b1d0c3e-okr0-bot0-0000-000000000001",
            "okr-bot",
            "JIRAUSER10000",
            "OKR Bot",
            "okr-bot@example.com",
        )
    }
    for n, (first, last) in enumerate(zip(_FIRST, _LAST, strict=False), start=1):
        name = f"{first.lower().replace('é', 'e').replace('-', '')}.{last.lower()}"
        users[name] = User(
            f"5b10a2844c20165700ede{n:03d}",
            name,
            f"JIRAUSER{10000 + n}",
            f"{first} {last}",
            f"{name}@example.com",
        )
    return users


def generate(
    size: Size = "small",
    *,
    seed: int = 0,
    flavor: Flavor = "cloud",
    deliver: bool = True,
    count: int | None = None,
) -> JiraSim:
    """A JiraSim with ~300 / ~10,000 / ~100,000 issues; same seed, same data. `huge` (or any
    `count` of issues) makes a lazy site: issues generated from their keys (simulator/huge.py)."""
    if size == "huge" or count is not None:
        return generate_lazy(count or SIZES["huge"], seed=seed, flavor=flavor, deliver=deliver)
    rng = random.Random(f"{seed}:{size}")
    total = SIZES[size]
    users = make_users(rng)
    people = [u for u in users if u != "okr-bot"]
    projects: dict[str, Project] = {}
    issues: dict[str, IssueRecord] = {}
    next_id = 10000
    comp_id, version_id = 10000, 10000
    history_end = min(AS_OF, datetime.now(UTC))
    span = (history_end - CYCLE_START).total_seconds()
    for pidx, (pkey, pname, share, comps, versions) in enumerate(_PROJECTS):
        components = {c: comp_id + i for i, c in enumerate(comps)}
        comp_id += len(comps)
        vers = {v: version_id + i for i, v in enumerate(versions)}
        version_id += len(versions)
        count = max(int(total * share), 25)
        project = Project(10000 + pidx, pkey, pname, components, vers, next_number=count + 1)
        projects[pkey] = project
        epics = set(_EPICS[pkey])
        # Bigger sites have more epics: one more per 60 issues, at predictable numbers.
        epics |= {n for n in range(40, count + 1, 60)}
        epic_keys = sorted(f"{pkey}-{n}" for n in epics)
        stories: list[str] = []
        for number in range(1, count + 1):
            key = f"{pkey}-{number}"
            created = CYCLE_START + timedelta(
                seconds=span * 0.95 * (number / count) + rng.random() * 1800
            )
            itype = _issue_type(rng, pkey, number, epics, stories)
            status = _weighted(rng, _STATUS_MIX)
            rec = IssueRecord(
                id=next_id,
                key=key,
                project=pkey,
                issue_type=itype,
                status=status,
                summary=f"{rng.choice(_VERBS)} {rng.choice(_WORDS)} {rng.choice(_WORDS)}",
                created=created,
                updated=created,
                priority=_weighted(
                    rng, (("Highest", 5), ("High", 15), ("Medium", 55), ("Low", 20), ("Lowest", 5))
                ),
                reporter=rng.choice(people),
                assignee=rng.choice(people) if rng.random() < 0.8 else None,
            )
            next_id += 1
            _decorate(rng, rec, epic_keys, stories, components, vers)
            age = max((history_end - created).total_seconds(), 0.0)
            rec.updated = created + timedelta(seconds=rng.random() * age * 0.5)
            if status == "Done":
                rec.resolved = rec.updated
            if status != "To Do":
                rec.status_changed = rec.updated
            rec.description = f"{rec.summary}. Details for {key}."
            issues[key] = rec
            if itype in ("Story", "Task"):
                stories.append(key)
    _pin_okr_examples(issues)
    return JiraSim(flavor=flavor, projects=projects, users=users, issues=issues, deliver=deliver)


def generate_lazy(
    total: int, *, seed: int = 0, flavor: Flavor = "cloud", deliver: bool = True
) -> JiraSim:
    """A site of `total` issues made on access from their keys, never all held at once."""
    users = make_users(random.Random(seed))
    projects: dict[str, Project] = {}
    counts: dict[str, int] = {}
    epics: dict[str, tuple[int, ...]] = {}
    comp_id, version_id = 10000, 10000
    for pidx, (pkey, pname, share, comps, versions) in enumerate(_PROJECTS):
        components = {c: comp_id + i for i, c in enumerate(comps)}
        comp_id += len(comps)
        vers = {v: version_id + i for i, v in enumerate(versions)}
        version_id += len(versions)
        count = max(int(total * share), 25)
        projects[pkey] = Project(10000 + pidx, pkey, pname, components, vers, count + 1)
        counts[pkey] = count
        epics[pkey] = tuple(sorted({*_EPICS[pkey], *range(40, count + 1, 60)}))
    lazy = LazyIssues(
        seed=seed,
        projects=projects,
        counts=counts,
        epics=epics,
        people=[u for u in users if u != "okr-bot"],
        words=_WORDS,
        verbs=_VERBS,
        start=CYCLE_START,
        history_end=min(AS_OF, datetime.now(UTC)),
    )
    return JiraSim(flavor=flavor, projects=projects, users=users, issues=lazy, deliver=deliver)


def _issue_type(
    rng: random.Random, pkey: str, number: int, epics: set[int], stories: list[str]
) -> str:
    if number in epics:
        return "Epic"
    if stories and rng.random() < 0.08:
        return "Sub-task"
    if pkey == "PLAT" and rng.random() < 0.15:
        return "Incident"
    mix = (
        (("Story", 45), ("Task", 25), ("Bug", 30))
        if pkey in ("SUP", "MOB")
        else (("Story", 55), ("Task", 30), ("Bug", 15))
    )
    return _weighted(rng, mix)


def _decorate(
    rng: random.Random,
    rec: IssueRecord,
    epic_keys: list[str],
    stories: list[str],
    components: dict[str, int],
    versions: dict[str, int],
) -> None:
    itype, pkey = rec.issue_type, rec.project
    if itype == "Sub-task":
        rec.parent = rng.choice(stories[-20:])
    elif itype != "Epic" and rng.random() < 0.65:
        rec.epic = rng.choice(epic_keys)
    labels: list[str] = []
    if pkey in ("PLAT", "MOB") and rng.random() < 0.25:
        labels.append("reliability")
    if pkey == "SUP" and itype in ("Story", "Task") and rng.random() < 0.2:
        labels.append("macros")
    if pkey == "MOB" and itype == "Bug" and rng.random() < 0.45:
        labels.append("crash")
    if rng.random() < 0.1:
        labels.append(rng.choice(("tech-debt", "customer", "q4")))
    rec.labels = tuple(labels)
    if components and itype != "Epic" and rng.random() < 0.6:
        rec.components = (rng.choice(sorted(components)),)
    if versions and itype != "Epic" and rng.random() < 0.5:
        rec.fix_versions = (rng.choice(sorted(versions)),)
    if pkey == "SUP" and itype == "Bug" and rng.random() < 0.4:
        rec.priority = "Highest"
    if itype == "Story" and rng.random() < 0.85:
        rec.story_points = float(rng.choice((1, 2, 3, 5, 8, 13)))
    if itype not in ("Epic",) and rng.random() < 0.7:
        rec.estimate_seconds = rng.choice((1, 2, 4, 8, 16, 24)) * 3600
    if pkey == "SELF" and itype in ("Story", "Task") and rng.random() < 0.6:
        rec.hours_saved = float(rng.choice((2, 4, 5, 8, 10, 15, 20, 40)))


def _pin_okr_examples(issues: dict[str, IssueRecord]) -> None:
    """Make the issues config/okrs.example.yaml names look the way its KRs expect."""
    sup7 = issues["SUP-7"]
    sup7.issue_type, sup7.labels, sup7.parent = "Story", ("macros",), None
    sup3 = issues["SUP-3"]
    sup3.issue_type, sup3.labels, sup3.parent = "Task", (), None
    for key in ("SELF-2", "SELF-3", "SELF-4"):
        rec = issues[key]
        rec.issue_type, rec.parent = "Story", None
    # Every epic the OKRs name gets children of the kinds its KR counts.
    for n, (epic, child) in enumerate(
        (("SUP-12", "SUP-1"), ("SELF-5", "SELF-6"), ("SELF-9", "SELF-7"), ("PLAT-20", "PLAT-21"))
    ):
        rec = issues[child]
        rec.issue_type, rec.parent, rec.epic = "Story", None, epic
        rec.story_points = rec.story_points or float(3 + n)
        if epic.startswith("SELF"):
            rec.hours_saved = rec.hours_saved or 8.0
    help_center = issues["SELF-8"]
    help_center.issue_type, help_center.parent = "Story", None
    help_center.components, help_center.fix_versions = ("Help Center",), ("2026.11",)
    help_center.estimate_seconds = help_center.estimate_seconds or 8 * 3600
    for key in ("PLAT-2", "MOB-2"):
        rec = issues[key]
        rec.labels = tuple(sorted({*rec.labels, "reliability"}))
    incident = issues["PLAT-3"]
    incident.issue_type, incident.parent, incident.status, incident.resolved = (
        "Incident",
        None,
        "To Do",
        None,
    )
    crash = issues["MOB-3"]
    crash.issue_type, crash.parent, crash.labels = "Bug", None, ("crash",)
    p1 = issues["SUP-5"]
    p1.issue_type, p1.parent, p1.priority, p1.status, p1.resolved = (
        "Bug",
        None,
        "Highest",
        "To Do",
        None,
    )
    # Sub-tasks whose parent was re-typed above must point at a standard issue.
    for rec in issues.values():
        if rec.parent and issues[rec.parent].issue_type in ("Sub-task", "Epic"):
            rec.parent, rec.issue_type = None, "Task"


def _weighted(rng: random.Random, choices: tuple[tuple[str, int], ...]) -> str:
    names = [c for c, _ in choices]
    weights = [w for _, w in choices]
    return rng.choices(names, weights)[0]
