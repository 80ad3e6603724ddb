"""What every command module shares: the app context, error handling, the pass decorator.

Kept apart from cli.py so command modules can import it without importing the command group.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any, TypeVar

import click

from okr_jira.errors import OkrFileError, OkrJiraError
from okr_jira.settings import Settings, load_settings

if TYPE_CHECKING:
    from sqlalchemy import Engine

F = TypeVar("F", bound=Callable[..., Any])


class AppContext:
    """What every command needs, built lazily from the settings read once."""

    def __init__(self, config_file: str | None) -> None:
        self.config_file = config_file
        self._settings: Settings | None = None
        self._engine: Engine | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config_file)
            logging.getLogger().setLevel(self._settings.log_level)
        return self._settings

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def engine(self, *, check: bool = True) -> Engine:
        from okr_jira.storage.db import check_schema, make_engine

        if self._engine is None:
            self._engine = make_engine(self.settings.database_url)
        if check:
            check_schema(self._engine)
        return self._engine


def handle_errors(func: F) -> F:
    """Known errors print as one clear message and exit 1, without a traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except OkrFileError as exc:
            for problem in exc.problems:
                click.echo(str(problem), err=True)
            click.echo(f"{len(exc.problems)} problem(s) found; nothing was changed.", err=True)
            sys.exit(1)
        except OkrJiraError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


pass_app = click.make_pass_decorator(AppContext)
