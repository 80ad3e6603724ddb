"""Load and validate the OKR file (YAML) into domain objects.

Validation reports every problem at once, each with file:line:column and the field path, so an admin
fixes a file in one pass. Nothing here touches storage: an invalid file can never change anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, SequenceNode
from ruamel.yaml.reader import ReaderError

from okr_jira.domain.lint import RULE_IDS, SETTINGS, LintConfig, Setting
from okr_jira.domain.models import (
    Cycle,
    Objective,
    OkrSet,
    Team,
)
from okr_jira.errors import OkrFileError, Problem
from okr_jira.okrs.checker import Checker, positions
from okr_jira.okrs.file_key_results import key_result, positive
from okr_jira.okrs.file_notify import team_notify

_TOP = ("cycles", "teams", "objectives", "lint")
_CYCLE = ("key", "name", "start", "end")
_TEAM = ("key", "name", "parent", "jira_projects", "notify")
_OBJECTIVE = (
    "key", "cycle", "team", "title", "parent", "weight", "rollup", "description",
    "cross_cycle", "carried_from", "key_results",
)  # fmt: skip
_LINT = (*RULE_IDS, "activity_verbs")


@dataclass(frozen=True)
class OkrDocument:
    """A valid OKR file: the declaration, its `lint:` section, and where each field is."""

    okrs: OkrSet
    lint: LintConfig = field(default_factory=LintConfig)
    positions: Mapping[str, int] = field(default_factory=dict)  # field path -> line, for lint


def load_okr_file(path: str | Path) -> OkrSet:
    """Parse and validate `path`; raise OkrFileError listing every problem."""
    return load_okr_document(path).okrs


def parse_okr_text(text: str, file: str = "<okrs>", *, allow_empty: bool = False) -> OkrSet:
    return parse_okr_document(text, file, allow_empty=allow_empty).okrs


def load_okr_document(path: str | Path) -> OkrDocument:
    """`load_okr_file` keeping the lint section and the positions of every field."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise OkrFileError(
            [Problem(str(p), 1, 1, "", f"cannot read file: {exc.strerror}")]
        ) from None
    return parse_okr_document(text, str(p))


def parse_okr_document(
    text: str, file: str = "<okrs>", *, allow_empty: bool = False
) -> OkrDocument:
    """`allow_empty`: a declaration without objectives is fine (an edit that archived the last
    one); a file an admin applies must declare some, or it would archive everything."""
    yaml = YAML(typ="rt")
    # A duplicate key is reported with every other problem: the first value is kept to check.
    yaml.allow_duplicate_keys = True
    try:
        duplicates = _duplicate_keys(yaml.compose(text), file)
        root = yaml.load(text)
    except DuplicateKeyError as exc:  # still raised for a duplicate among merged keys
        mark = exc.problem_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = (exc.problem or "duplicate key").split("\n")[0]
        raise OkrFileError([Problem(file, line, col, "", problem)]) from None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = f"YAML syntax error: {exc.problem or exc.context}"
        if exc.context and exc.context_mark and exc.problem_mark:
            message += f" ({exc.context} at line {exc.context_mark.line + 1})"
        raise OkrFileError([Problem(file, line, col, "", message)]) from None
    except ReaderError as exc:  # a character YAML does not allow (a control character)
        line, col = _line_col(text, exc.position)
        char = exc.character
        code = char if isinstance(char, int) else ord(str(char)[:1] or "\0")
        message = f"YAML does not allow the character U+{code:04X} here"
        raise OkrFileError([Problem(file, line, col, "", message)]) from None
    except RecursionError:
        message = "YAML nested too deeply to be an OKR file"
        raise OkrFileError([Problem(file, 1, 1, "", message)]) from None
    except TypeError:  # a list or mapping used as a mapping key (`? [a]`)
        message = "a mapping key must be a plain value, not a list or a mapping"
        raise OkrFileError([Problem(file, 1, 1, "", message)]) from None
    except (YAMLError, ValueError) as exc:
        message = f"YAML the OKR file cannot hold: {str(exc).splitlines()[0][:160]}"
        raise OkrFileError([Problem(file, 1, 1, "", message)]) from None
    chk = Checker(file, text)
    chk.problems.extend(duplicates)
    if root is None:
        if not allow_empty:
            chk.add(None, None, "", "the file is empty: an OKR file declares cycles, teams and "
                    "objectives (see config/okrs.example.yaml)")  # fmt: skip
            raise OkrFileError(chk.problems)
        root = CommentedMap()
    if not isinstance(root, CommentedMap):
        chk.add(root, None, "", "the file must be a mapping with cycles, teams and objectives")
        raise OkrFileError(chk.problems)
    chk.mapping(root, "", _TOP, ())
    okrs = _build(chk, root)
    lint = _lint(chk, root)
    if not allow_empty and not okrs.objectives and not root.get("objectives"):
        # Applied, a file without objectives would archive every stored one.
        chk.add(root, "objectives" if "objectives" in root else None, "objectives",
                "the file declares no objectives")  # fmt: skip
    if chk.problems:
        chk.problems.sort(key=lambda p: (p.line, p.column))
        raise OkrFileError(chk.problems)
    return OkrDocument(okrs, lint, positions(root))


def _lint(chk: Checker, root: CommentedMap) -> LintConfig:
    """`lint: {rule_id: off | warning | error, activity_verbs: [...]}`."""
    if root.get("lint") is None:
        return LintConfig()
    m = chk.mapping(root["lint"], "lint", _LINT, (), root, "lint")
    if m is None:
        return LintConfig()
    rules: dict[str, Setting] = {}
    for rule in RULE_IDS:
        value = m.get(rule)
        if value is None:
            continue
        if value is False:  # `off` read as YAML 1.1 would read it
            value = "off"
        if value not in SETTINGS:
            chk.add(m, rule, f"lint.{rule}", f"must be one of {', '.join(SETTINGS)}")
            continue
        rules[rule] = value
    verbs = chk.strings(m, "activity_verbs", "lint")
    return LintConfig(rules, tuple(v.casefold() for v in verbs))


def _duplicate_keys(node: Node | None, file: str, path: str = "") -> list[Problem]:
    """Every key written twice in one mapping, at the second one, with the first one's line."""
    out: list[Problem] = []
    if isinstance(node, MappingNode):
        first: dict[object, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value if not isinstance(key_node, MappingNode | SequenceNode) else None
            sub = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and key != "<<":
                mark = key_node.start_mark
                if key in first:
                    out.append(Problem(file, mark.line + 1, mark.column + 1, sub,
                                       f"duplicate key '{key}' (first at line {first[key]}); "
                                       "the first one is the one checked"))  # fmt: skip
                else:
                    first[key] = mark.line + 1
            out += _duplicate_keys(value_node, file, sub)
    elif isinstance(node, SequenceNode):
        for i, item in enumerate(node.value):
            out += _duplicate_keys(item, file, f"{path}[{i}]")
    return out


def _line_col(text: str, position: int) -> tuple[int, int]:
    """1-based line and column of a character offset."""
    before = text[: max(position, 0)]
    return before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1


def _build(chk: Checker, root: CommentedMap) -> OkrSet:
    cycles: dict[str, tuple[Cycle, CommentedMap]] = {}
    for i, node in chk.sequence(root, "cycles"):
        path = f"cycles[{i}]"
        m = chk.mapping(node, path, _CYCLE, _CYCLE, root["cycles"], i)
        if m is None:
            continue
        key, name = chk.string(m, "key", path), chk.string(m, "name", path)
        start, end = chk.date(m, "start", path), chk.date(m, "end", path)
        if start and end and end < start:
            chk.add(m, "end", f"{path}.end", "must not be before start")
        if key in cycles:
            chk.add(m, "key", f"{path}.key", f"duplicate cycle key '{key}'")
        elif key and name and start and end:
            cycles[key] = (Cycle(key=key, name=name, start=start, end=end), m)

    teams: dict[str, tuple[Team, CommentedMap, str]] = {}
    for i, node in chk.sequence(root, "teams"):
        path = f"teams[{i}]"
        m = chk.mapping(node, path, _TEAM, ("key", "name"), root["teams"], i)
        if m is None:
            continue
        key, name = chk.string(m, "key", path), chk.string(m, "name", path)
        team = Team(
            key=key or "",
            name=name or "",
            parent=chk.string(m, "parent", path),
            jira_projects=tuple(p.upper() for p in chk.strings(m, "jira_projects", path)),
            notify=team_notify(chk, m, path),
        )
        if key in teams:
            chk.add(m, "key", f"{path}.key", f"duplicate team key '{key}'")
        elif key:
            teams[key] = (team, m, path)
    for team, m, path in teams.values():
        if team.parent and team.parent not in teams:
            chk.add(m, "parent", f"{path}.parent", f"team '{team.parent}' does not exist")
    _check_chains(chk, {k: (t.parent, m, p) for k, (t, m, p) in teams.items()}, "team")

    objectives: dict[str, tuple[Objective, CommentedMap, str]] = {}
    kr_keys: set[str] = set()
    for i, node in chk.sequence(root, "objectives"):
        path = f"objectives[{i}]"
        m = chk.mapping(node, path, _OBJECTIVE, ("key", "cycle", "team", "title"),
                        root["objectives"], i)  # fmt: skip
        if m is None:
            continue
        key = chk.string(m, "key", path)
        cycle, team_key = chk.string(m, "cycle", path), chk.string(m, "team", path)
        if cycle and cycle not in cycles:
            chk.add(m, "cycle", f"{path}.cycle", f"cycle '{cycle}' does not exist")
        if team_key and team_key not in teams:
            chk.add(m, "team", f"{path}.team", f"team '{team_key}' does not exist")
        weight = positive(chk, m, "weight", path)
        krs = []
        for j, kr_node in chk.sequence(m, "key_results"):
            kr = key_result(chk, kr_node, f"{path}.key_results[{j}]", m["key_results"], j)
            if kr is None:
                continue
            if kr.key in kr_keys:
                chk.add(kr_node, "key", f"{path}.key_results[{j}].key",
                        f"duplicate key result key '{kr.key}'")  # fmt: skip
            kr_keys.add(kr.key)
            krs.append(kr)
        objective = Objective(
            key=key or "",
            cycle=cycle or "",
            team=team_key or "",
            title=chk.string(m, "title", path) or "",
            key_results=tuple(krs),
            parent=chk.string(m, "parent", path),
            weight=weight,
            rollup=chk.choice(m, "rollup", path, ("key_results", "children", "both"), "both"),  # type: ignore[arg-type]
            description=chk.string(m, "description", path),
            cross_cycle=chk.boolean(m, "cross_cycle", path),
            carried_from=chk.string(m, "carried_from", path),
        )
        if key in objectives:
            chk.add(m, "key", f"{path}.key", f"duplicate objective key '{key}'")
        elif key:
            objectives[key] = (objective, m, path)

    for obj, m, path in objectives.values():
        if not obj.parent:
            continue
        if obj.parent not in objectives:
            chk.add(m, "parent", f"{path}.parent", f"objective '{obj.parent}' does not exist")
            continue
        parent = objectives[obj.parent][0]
        if parent.cycle != obj.cycle and not obj.cross_cycle:
            chk.add(m, "parent", f"{path}.parent",
                    f"aligned to '{parent.key}' of cycle '{parent.cycle}' but this objective is in "
                    f"'{obj.cycle}'; set cross_cycle: true if that is intended")  # fmt: skip
    _check_chains(chk, {k: (o.parent, m, p) for k, (o, m, p) in objectives.items()}, "objective")
    for obj, m, path in objectives.values():
        # The earlier objective may be gone from the file (archived): only a link within the
        # file can be checked, and it must point back to another cycle.
        earlier = objectives.get(obj.carried_from or "")
        if obj.carried_from == obj.key:
            chk.add(m, "carried_from", f"{path}.carried_from", "an objective cannot carry itself")
        elif earlier is not None and earlier[0].cycle == obj.cycle:
            chk.add(m, "carried_from", f"{path}.carried_from",
                    f"'{obj.carried_from}' is in the same cycle '{obj.cycle}'; carried_from "
                    "names the objective of an earlier cycle this one continues")  # fmt: skip

    return OkrSet(
        cycles=tuple(c for c, _ in cycles.values()),
        teams=tuple(t for t, _, _ in teams.values()),
        objectives=tuple(o for o, _, _ in objectives.values()),
    )


def _check_chains(chk: Checker, parents: dict[str, tuple[str | None, Any, str]], what: str) -> None:
    reported: set[str] = set()
    for start in parents:
        seen: list[str] = []
        key: str | None = start
        while key is not None and key in parents and key not in seen:
            seen.append(key)
            key = parents[key][0]
        if key is not None and key in seen and key not in reported:
            loop = seen[seen.index(key) :]
            reported.update(loop)
            _, m, path = parents[key]
            chain = " -> ".join([*loop, key])
            chk.add(m, "parent", f"{path}.parent", f"{what} parent chain forms a cycle: {chain}")
