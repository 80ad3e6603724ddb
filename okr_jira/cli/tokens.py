"""`okr-jira tokens add|list|revoke`: named API tokens with a role (read or admin)."""

from __future__ import annotations

import click

from okr_jira.cli.app import AppContext, actor, handle_errors, pass_app


@click.group()
def tokens() -> None:
    """API tokens for the web app and the API (stored hashed)."""


@tokens.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["read", "admin"]), required=True)
@pass_app
@handle_errors
def add(app: AppContext, name: str, role: str) -> None:
    """Create token NAME; it is printed once, alone on the last line."""
    from okr_jira.runtime.tokens import create_token

    token = create_token(app.engine(), name, role, created_by=actor())
    click.echo(f"Token '{name}' ({role}) created. It is shown only now; keep it secret:")
    click.echo(token)


@tokens.command("list")
@pass_app
@handle_errors
def list_(app: AppContext) -> None:
    """Every token's name, role, creation and whether it is revoked (never the token)."""
    from okr_jira.runtime.tokens import list_tokens

    rows = list_tokens(app.engine())
    if not rows:
        click.echo("No tokens yet: `okr-jira tokens add NAME --role read|admin`.")
    for t in rows:
        state = "revoked" if t.revoked else "active"
        click.echo(f"{t.name}\t{t.role}\t{state}\tcreated {t.created_at} by {t.created_by or '?'}")


@tokens.command("revoke")
@click.argument("name")
@pass_app
@handle_errors
def revoke(app: AppContext, name: str) -> None:
    """Revoke token NAME: it stops working at once, without a restart."""
    from okr_jira.runtime.tokens import revoke_token

    revoke_token(app.engine(), name)
    click.echo(f"Token '{name}' revoked.")
