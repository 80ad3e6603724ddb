"""Request and response models of the JSON API: they validate requests (422 naming each field)
and generate /api/openapi.json, so the document cannot drift from the code. The web pages' forms
are read into the same models."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from okr_jira.domain.models import Source


def _clean(value: str) -> str:
    """Text every database stores: no NUL, valid Unicode (a lone surrogate is not)."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


def _text(max_length: int) -> Any:
    return Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=max_length),
        AfterValidator(_clean),
    ]


Key = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", max_length=64)]
Title = _text(500)
Item = _text(255)
Number = Annotated[float, Field(allow_inf_nan=False, ge=-1e12, le=1e12)]
Positive = Annotated[float, Field(allow_inf_nan=False, gt=0, le=1e6)]
KrKindName = Literal["issues", "issue_count", "field_sum", "manual"]
PaceName = Literal["not_started", "on_track", "at_risk", "off_track", "done"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SourceIn(Strict):
    """A key result's `source`, the same fields as in the OKR file (selectors are ANDed)."""

    jql: _text(10_000) | None = None  # type: ignore[valid-type]
    projects: list[Item] = Field(default=[], max_length=500)  # type: ignore[valid-type]
    epics: list[Item] = Field(default=[], max_length=500)  # type: ignore[valid-type]
    issues: list[Item] = Field(default=[], max_length=500)  # type: ignore[valid-type]
    labels: list[Item] = Field(default=[], max_length=500)  # type: ignore[valid-type]
    components: list[Item] = Field(default=[], max_length=500)  # type: ignore[valid-type]
    issue_types: list[Item] = Field(default=[], max_length=500)  # type: ignore[valid-type]
    fix_versions: list[Item] = Field(default=[], max_length=500)  # type: ignore[valid-type]
    include: list[Item] = Field(default=[], max_length=500)  # type: ignore[valid-type]
    exclude: list[Item] = Field(default=[], max_length=500)  # type: ignore[valid-type]

    def to_domain(self) -> Source:
        """As the file reads it: project and issue keys upper-case."""

        def up(values: list[str]) -> tuple[str, ...]:
            return tuple(v.upper() for v in values)

        return Source(
            jql=self.jql, projects=up(self.projects), epics=up(self.epics),
            issues=up(self.issues), labels=tuple(self.labels),
            components=tuple(self.components), issue_types=tuple(self.issue_types),
            fix_versions=tuple(self.fix_versions), include=up(self.include),
            exclude=up(self.exclude),
        )  # fmt: skip


class SourceBody(Strict):
    source: SourceIn


class ObjectiveCreate(Strict):
    key: Key
    cycle: Key
    team: Key
    title: Title  # type: ignore[valid-type]
    parent: Key | None = None
    weight: Positive = 1.0
    rollup: Literal["key_results", "children", "both"] = "both"
    description: _text(5000) | None = None  # type: ignore[valid-type]
    cross_cycle: bool = False


class ObjectiveUpdate(Strict):
    """Only the fields sent change; `parent: null` un-aligns."""

    cycle: Key | None = None
    team: Key | None = None
    title: Title | None = None  # type: ignore[valid-type]
    parent: Key | None = None
    weight: Positive | None = None
    rollup: Literal["key_results", "children", "both"] | None = None
    description: _text(5000) | None = None  # type: ignore[valid-type]
    cross_cycle: bool | None = None


class KeyResultFields(Strict):
    title: Title | None = None  # type: ignore[valid-type]
    kind: KrKindName | None = None
    start: Number | None = None
    target: Number | None = None
    unit: _text(32) | None = None  # type: ignore[valid-type]
    weight: Positive | None = None
    indicator: Literal["leading", "lagging"] | None = None
    weight_by: Literal["count", "story_points", "estimate"] | None = None
    in_progress_credit: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)] | None = None
    default_weight: Positive | None = None
    field: _text(200) | None = None  # type: ignore[valid-type]
    done_only: bool | None = None
    source: SourceIn | None = None

    def changes(self) -> dict[str, Any]:
        """The fields sent, as KeyResult values (a sent null clears an optional field)."""
        out = self.model_dump(exclude_unset=True, exclude={"source"})
        for name in ("weight", "default_weight"):
            if name in out and out[name] is None:
                out[name] = 1.0
        if out.get("in_progress_credit", 0) is None:
            out["in_progress_credit"] = 0.0
        for name in ("weight_by",):
            if name in out and out[name] is None:
                out[name] = "count"
        if "done_only" in out and out["done_only"] is None:
            out["done_only"] = False
        if "source" in self.model_fields_set:
            out["source"] = None if self.source is None else self.source.to_domain()
        return out


class KeyResultCreate(KeyResultFields):
    objective: Key
    key: Key
    title: Title  # type: ignore[valid-type]
    kind: KrKindName


class CheckinIn(Strict):
    kr: Key
    value: Number
    note: _text(2000) | None = None  # type: ignore[valid-type]


class SyncIn(BaseModel):
    full: bool = False


class KeyPath(BaseModel):
    key: Key


class JobPath(BaseModel):
    job_id: Annotated[int, Field(ge=1, le=2**31 - 1)]  # an INTEGER column on PostgreSQL


class TreeQuery(BaseModel):
    cycle: Key | None = None
    team: Key | None = None
    status: PaceName | None = None
    at: dt.date | None = None


class AuditQuery(BaseModel):
    objective: Key | None = None
    kr: Key | None = None
    actor: _text(200) | None = None  # type: ignore[valid-type]
    since: dt.date | None = None
    until: dt.date | None = None
    limit: Annotated[int, Field(ge=1, le=1000)] = 100


# --- answers (documented; the payloads carry more where noted) ---------------------------------


class Problem(BaseModel):
    field: str
    message: str


class ErrorOut(BaseModel):
    error: str
    message: str
    problems: list[Problem] = []


class Open(BaseModel):
    """An object whose fields are described in the API reference (README)."""

    model_config = ConfigDict(extra="allow")


class TreeOut(Open):
    cycle: dict[str, Any]
    on: str
    objectives: list[dict[str, Any]]


class ObjectiveOut(Open):
    key: str
    title: str
    progress: float


class KeyResultOut(Open):
    key: str
    title: str
    kind: str
    progress: float
    issues: list[dict[str, Any]] = []
    history: list[dict[str, Any]] = []


class PreviewOut(Open):
    issues: list[str]
    jql: str
    progress_now: float
    progress_after: float


class ChangesOut(Open):
    changes: list[dict[str, Any]]


class CheckinOut(Open):
    kr: str
    value: float


class JobOut(Open):
    job: int
    kind: str
    status: str


class AuditOut(Open):
    entries: list[dict[str, Any]]


class MeOut(Open):
    name: str
    role: str
