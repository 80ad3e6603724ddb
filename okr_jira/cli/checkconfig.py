"""`okr-jira check-config`: the settings against the live Jira and Confluence."""

from __future__ import annotations

import sys
from typing import Any

import click

from okr_jira.cli.app import AppContext, handle_errors, pass_app
from okr_jira.domain.models import OkrSet


@click.command("check-config")
@click.option(
    "--okrs",
    "okr_file",
    type=click.Path(dir_okay=False),
    help="OKR file whose mappings to check (default: the stored OKRs, else OKR_JIRA_OKR_FILE).",
)
@click.option(
    "--fix",
    is_flag=True,
    help="Create what is missing and can be created (the Confluence parent page).",
)
@pass_app
@handle_errors
def check_config(app: AppContext, okr_file: str | None, fix: bool) -> None:
    """Check the settings against the live Jira and Confluence: what syncing, the webhook and
    publishing need. Each failure says what to change; exits 1 when something is wrong."""
    from okr_jira.runtime.checkconfig import check_config as run_checks
    from okr_jira.runtime.checkconfig import failed

    okrs = _okrs(app, okr_file)
    checks = run_checks(app.settings, okrs=okrs, channels=_channels(app), fix=fix)
    for check in checks:
        click.echo(check.line())
    if failed(checks):
        hint = (
            ""
            if fix or not any("check-config --fix" in c.detail for c in checks)
            else " `--fix` creates what can be created."
        )
        click.echo(f"Configuration has problems (FAIL above).{hint}", err=True)
        sys.exit(1)
    click.echo("Configuration is fine.")


def _okrs(app: AppContext, okr_file: str | None) -> OkrSet | None:
    from okr_jira.errors import OkrJiraError
    from okr_jira.okrs.file import load_okr_file
    from okr_jira.storage.db import session_scope
    from okr_jira.storage.okrs import load_okrs

    if okr_file:
        return load_okr_file(okr_file)
    try:
        with session_scope(app.engine()) as session:
            okrs = load_okrs(session=session)
        if okrs.objectives:
            return okrs
    except OkrJiraError:
        pass  # no database schema yet: fall back to the file the settings name
    except Exception:
        pass
    if app.settings.okr_file:
        return load_okr_file(app.settings.okr_file)
    return None


def _channels(app: AppContext) -> list[Any]:
    """The notification channels' stored health (none before the schema exists)."""
    from okr_jira.storage import outbox
    from okr_jira.storage.db import session_scope

    try:
        with session_scope(app.engine()) as session:
            return list(outbox.channels(session=session))
    except Exception:
        return []
