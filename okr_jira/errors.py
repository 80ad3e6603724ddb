"""The few exception types okr-jira raises on purpose."""

from __future__ import annotations


class OkrJiraError(Exception):
    """Base class: a problem the user can act on; the CLI prints it without a traceback."""


class ConfigError(OkrJiraError):
    """Settings are missing or invalid."""


class OkrFileError(OkrJiraError):
    """The OKR file is invalid; carries every problem found, each with its location."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class Problem:
    """One validation problem: where it is and what is wrong."""

    __slots__ = ("column", "field", "file", "line", "message")

    def __init__(self, file: str, line: int, column: int, field: str, message: str) -> None:
        self.file = file
        self.line = line
        self.column = column
        self.field = field
        self.message = message

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )

    def __repr__(self) -> str:
        return f"Problem({self!s})"


class SchemaBehindError(OkrJiraError):
    """The database schema is older than this version of okr-jira."""


class NotFoundError(OkrJiraError):
    """A named thing (KR, objective, cycle) does not exist."""


class InvalidInput(OkrJiraError):
    """A value the user gave is refused; `field` names it (the API answers 4xx with it)."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")
