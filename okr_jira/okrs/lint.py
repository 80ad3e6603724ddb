"""Linting an OKR file: its validation problems (errors) and what the lint rules find.

`okr-jira lint` reports both; `validate`, `apply`, the admin API and the scheduler's apply show
the rules' findings as warnings next to what they do (the rules are in okr_jira/domain/lint.py).
"""

from __future__ import annotations

from pathlib import Path

from okr_jira.domain.lint import LintProblem, lint_okrs
from okr_jira.errors import OkrFileError
from okr_jira.okrs.file import OkrDocument, load_okr_document

# The rule id of a problem that makes the file invalid (what `validate` reports).
INVALID = "invalid"


def lint_document(document: OkrDocument) -> list[LintProblem]:
    return lint_okrs(document.okrs, document.lint, document.positions)


def lint_file(path: str | Path) -> list[LintProblem]:
    """Every problem of the file: validation errors first when it is invalid, else the rules'."""
    try:
        document = load_okr_document(path)
    except OkrFileError as exc:
        return [LintProblem(INVALID, "error", p.field, p.line, p.message) for p in exc.problems]
    return lint_document(document)


def describe(file: str, problem: LintProblem) -> str:
    """One line, as compilers print them: file:line: severity: message [rule] (path)."""
    path = f" ({problem.path})" if problem.path else ""
    return f"{file}:{problem.line}: {problem.severity}: {problem.message} [{problem.rule}]{path}"
