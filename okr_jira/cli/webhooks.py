"""`okr-jira webhooks register / list / unregister / dead-letters / retry`: okr-jira's webhook in
Jira, and events the worker could not apply."""

from __future__ import annotations

import sys
from typing import Any

import click

from okr_jira.adapters.webhook_registration import redact_url
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


def _registration(app: AppContext) -> tuple[Any, str]:
    """The Registrar for the configured Jira and the JQL filter of the mapped projects."""
    from okr_jira.adapters.webhook_registration import Registrar, jql_filter
    from okr_jira.domain.selectors import mapped_projects
    from okr_jira.storage.db import session_scope
    from okr_jira.storage.okrs import load_okrs

    wiring = app.wiring()
    with session_scope(wiring.engine) as session:
        jql = jql_filter(mapped_projects(load_okrs(session=session)))
    return Registrar(wiring.jira()), jql


@webhooks.command("register")
@click.option(
    "--url",
    "url",
    help="The receiver's public URL (https://okr.example.com/webhooks/jira, or the base URL: "
    "/webhooks/jira is then appended). Default: OKR_JIRA_PUBLIC_URL.",
)
@click.option("--manual", is_flag=True, help="Only print the manual steps.")
@pass_app
@handle_errors
def register(app: AppContext, url: str | None, manual: bool) -> None:
    """Register okr-jira's webhook in Jira (again after the OKRs change: same webhook, new
    filter), filtered to the mapped projects, or print how to."""
    from okr_jira.adapters.webhook_registration import (
        RegistrationError,
        manual_steps,
        receiver_url,
    )

    s = app.settings
    given = url or s.public_url
    if not given:
        raise click.UsageError("give --url, or set OKR_JIRA_PUBLIC_URL (okr-jira's public URL)")
    try:
        target = receiver_url(given)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--url") from None
    secret = s.webhook_secret.get_secret_value() if s.webhook_secret else None
    if manual or not s.jira_url or not s.jira_token:
        if not manual:
            click.echo("No Jira credentials configured (OKR_JIRA_JIRA_URL, _TOKEN).")
        jql = _jql_only(app)
        click.echo(manual_steps(target_url=target, jql=jql, secret_set=secret is not None))
        return
    registrar, jql = _registration(app)
    steps = manual_steps(target_url=target, jql=jql, secret_set=secret is not None)
    try:
        outcome = registrar.register(target_url=target, jql=jql, secret=secret)
    except RegistrationError as exc:
        click.echo(f"Could not register the webhook: {exc}", err=True)
        click.echo(steps)
        sys.exit(1)
    if outcome.registered:
        click.echo(f"{outcome.message}: {redact_url(target)} for {jql or 'all issues'}")
        if secret is None:
            click.echo("Warning: OKR_JIRA_WEBHOOK_SECRET is not set: deliveries are not signed.")
        if not jql:
            click.echo(
                "Warning: no OKRs map a Jira project yet, so Jira sends every issue's events; "
                "run `okr-jira webhooks register` again after `okr-jira apply`."
            )
        return
    click.echo(f"Jira refused the registration: {outcome.message}", err=True)
    click.echo(steps)
    sys.exit(1)


def _jql_only(app: AppContext) -> str:
    from okr_jira.adapters.webhook_registration import jql_filter
    from okr_jira.domain.selectors import mapped_projects
    from okr_jira.storage.db import session_scope
    from okr_jira.storage.okrs import load_okrs

    try:
        with session_scope(app.engine()) as session:
            return jql_filter(mapped_projects(load_okrs(session=session)))
    except Exception:  # no schema yet: the filter is written in the steps as "all issues"
        return ""


@webhooks.command("list")
@pass_app
@handle_errors
def list_webhooks(app: AppContext) -> None:
    """okr-jira's webhooks in Jira: kind, id, URL (secrets and query hidden), JQL filter."""
    from okr_jira.adapters.webhook_registration import RegistrationError

    registrar, jql = _registration(app)
    try:
        hooks = registrar.webhooks()
    except RegistrationError as exc:
        click.echo(f"Could not list the webhooks: {exc}", err=True)
        sys.exit(1)
    for note in registrar.notes:
        click.echo(f"(not listed: {note})")
    if not hooks:
        click.echo("No okr-jira webhook in Jira; `okr-jira webhooks register` creates it.")
        return
    for hook in hooks:
        click.echo(hook.line())
    if any(h.jql != jql for h in hooks):
        click.echo(f"The OKRs now map {jql or 'no project'}: run `okr-jira webhooks register`.")


@webhooks.command("unregister")
@pass_app
@handle_errors
def unregister(app: AppContext) -> None:
    """Remove okr-jira's webhook(s) from Jira."""
    from okr_jira.adapters.webhook_registration import RegistrationError

    registrar, _ = _registration(app)
    try:
        removed = registrar.unregister()
    except RegistrationError as exc:
        click.echo(f"Could not remove the webhook: {exc}", err=True)
        sys.exit(1)
    if not removed:
        click.echo("No okr-jira webhook in Jira: nothing to remove.")
    for hook in removed:
        click.echo(f"removed {hook.kind} webhook {hook.id} ({redact_url(hook.url)})")
