"""`okr-jira db upgrade` / `db current`: the schema revision."""

from __future__ import annotations

import click

from okr_jira.cli.app import AppContext, handle_errors, pass_app


@click.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
@pass_app
@handle_errors
def db_upgrade(app: AppContext) -> None:
    """Create or migrate the schema to this version of okr-jira."""
    from okr_jira.storage.db import upgrade

    before, after = upgrade(app.engine(check=False))
    if before == after:
        click.echo(f"Schema already current ({after}).")
    else:
        click.echo(f"Schema upgraded: {before or 'empty'} -> {after}.")


@db.command("current")
@pass_app
@handle_errors
def db_current(app: AppContext) -> None:
    """Print the schema revision of the database and of this code."""
    from okr_jira.storage.db import current_revision, head_revision

    click.echo(f"database: {current_revision(app.engine(check=False)) or 'empty'}")
    click.echo(f"code:     {head_revision()}")
