"""What every command module shares: the app context, error handling, the pass decorator.

The context reads the settings once and takes everything else from the runtime wiring.
"""

from __future__ import annotations

import getpass
import logging
import os
import sys
from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any, TypeVar

import click

from okr_jira.errors import OkrFileError, OkrJiraError
from okr_jira.logs import REDACT, configure_logging
from okr_jira.settings import Settings, load_settings

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from okr_jira.runtime.wiring import Wiring

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger(__name__)


class AppContext:
    """What every command needs, built lazily from the settings read once."""

    def __init__(self, config_file: str | None) -> None:
        self.config_file = config_file
        self._settings: Settings | None = None
        self._wiring: Wiring | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config_file)
            configure_logging(self._settings.log_level, self._settings.log_format)
        return self._settings

    def close(self) -> None:
        if self._wiring is not None:
            self._wiring.dispose()
            self._wiring = None

    def wiring(self, *, check: bool = True) -> Wiring:
        """The process's wiring; `check`: refuse a schema older or newer than this code."""
        from okr_jira.runtime.wiring import Wiring
        from okr_jira.storage.db import check_schema

        if self._wiring is None:
            self._wiring = Wiring.from_settings(self.settings)
        if check:
            check_schema(self._wiring.engine)
        return self._wiring

    def engine(self, *, check: bool = True) -> Engine:
        return self.wiring(check=check).engine


def actor() -> str:
    """Who is acting, for the audit log: OKR_JIRA_ACTOR, else the login name."""
    try:
        return os.environ.get("OKR_JIRA_ACTOR") or getpass.getuser()
    except Exception:
        return "cli"


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
        except (click.exceptions.Exit, click.ClickException, SystemExit, KeyboardInterrupt):
            raise
        except Exception as exc:  # a bug or an outage: one line here, the traceback in the log
            log.debug("cli.unexpected_error", exc_info=True)
            click.echo(
                f"error: {type(exc).__name__}: {REDACT(str(exc))[:300]} "
                "(OKR_JIRA_LOG_LEVEL=DEBUG shows the traceback)",
                err=True,
            )
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


pass_app = click.make_pass_decorator(AppContext)
