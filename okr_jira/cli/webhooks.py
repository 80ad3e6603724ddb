"""`okr-jira webhooks register / dead-letters / retry`: the webhook's registration in Jira, and
events the worker could not apply."""

from __future__ import annotations

import sys

import click

from okr_jira.cli.app import AppContext, handle_errors, pass_app


@click.group()
def webhooks() -> None:
    """Webhook inbox and registration."""


@webhooks.command("dead-letters")
@click.option("--limit", default=100, show_default=True, type=int)
@pass_app
@handle_errors
def dead_letters(app: AppContext, limit: int) -> None:
    """List events that could not be applied, with their error."""
    from okr_jira.storage.db import session_scope
    from okr_jira.storage.inbox import dead_letters as failed

    with session_scope(app.engine()) as session:
        rows = failed(session=session, limit=limit)
    if not rows:
        click.echo("No dead letters.")
        return
    for row in rows:
        when = row.received_at.strftime("%Y-%m-%d %H:%M:%S")
        click.echo(
            f"{row.id}\t{when}\t{row.event_type}\t{row.issue_key or '-'}\t"
            f"attempts={row.attempts}\t{row.error or ''}"
        )


@webhooks.command("retry")
@click.argument("ids", nargs=-1, type=int)
@click.option("--all", "retry_all", is_flag=True, help="Retry every dead letter.")
@pass_app
@handle_errors
def retry(app: AppContext, ids: tuple[int, ...], retry_all: bool) -> None:
    """Queue dead letters (IDS, or --all) to be applied again by the worker."""
    from okr_jira.storage.db import session_scope
    from okr_jira.storage.inbox import retry as requeue

    if not ids and not retry_all:
        raise click.UsageError("give event IDS or --all")
    with session_scope(app.engine()) as session:
        n = requeue(session=session, ids=None if retry_all else list(ids))
    click.echo(f"{n} event(s) queued again.")


@webhooks.command("register")
@click.option("--url", "base_url", required=True, help="Public base URL of okr-jira.")
@click.option("--manual", is_flag=True, help="Only print the manual steps.")
@pass_app
@handle_errors
def register(app: AppContext, base_url: str, manual: bool) -> None:
    """Register the webhook in Jira, filtered to the mapped projects, or print how to."""
    from okr_jira.adapters.jira import JiraError
    from okr_jira.adapters.webhook_registration import (
        WEBHOOK_PATH,
        jql_filter,
        manual_steps,
    )
    from okr_jira.adapters.webhook_registration import register as register_in_jira
    from okr_jira.domain.selectors import mapped_projects
    from okr_jira.storage.db import session_scope
    from okr_jira.storage.okrs import load_okrs

    wiring = app.wiring()
    s = wiring.settings
    with session_scope(wiring.engine) as session:
        jql = jql_filter(mapped_projects(load_okrs(session=session)))
    target = base_url.rstrip("/") + WEBHOOK_PATH
    secret = s.webhook_secret.get_secret_value() if s.webhook_secret else None
    steps = manual_steps(target_url=target, jql=jql, secret_set=secret is not None)
    if manual or not s.jira_url or not s.jira_token:
        if not manual:
            click.echo("No Jira credentials configured (OKR_JIRA_JIRA_URL, _TOKEN).")
        click.echo(steps)
        return
    jira = wiring.jira()
    try:
        jira.flavor  # noqa: B018 - asks serverInfo when the flavor is not known yet
    except JiraError as exc:
        click.echo(f"Could not reach Jira: {exc}")
        click.echo(steps)
        sys.exit(1)
    outcome = register_in_jira(jira, target_url=target, jql=jql, secret=secret)
    if outcome.registered:
        click.echo(f"{outcome.message}: {target} for {jql or 'all issues'}")
        return
    click.echo(f"Jira refused the registration ({outcome.message}).")
    click.echo(steps)
    sys.exit(1)
