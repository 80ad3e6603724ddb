"""Commands of the webhook receiver and the inbox worker; the main CLI registers them:

    from okr_jira.webhook_cli import serve, webhooks, worker
    for command in (serve, worker, webhooks):
        main.add_command(command)

Each expects `ctx.obj` to be the main CLI's AppContext (`.settings`, `.engine()`).
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import click

from okr_jira.cli_support import handle_errors

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8080, show_default=True, type=int, help="Port to listen on.")
@click.pass_obj
@handle_errors
def serve(app: Any, host: str, port: int) -> None:
    """Serve the webhook receiver (development; production: gunicorn "webhooks:create_app()")."""
    from webhooks import create_app
    from webhooks.serve import serve as run_server

    run_server(create_app(app.settings, engine=app.engine()), host=host, port=port)


def _jira_helpers(app: Any) -> tuple[Any, Any]:
    """(fields, remote_match) from the configured Jira, or (None, None) without one."""
    if not app.settings.jira_url:
        return None, None
    from okr_jira.factory import make_jira
    from okr_jira.storage import repo
    from okr_jira.storage.db import session_scope
    from okr_jira.sync import remote_matcher_for

    jira = make_jira(app.settings)
    with session_scope(app.engine()) as session:
        okrs = repo.load_okrs(session=session)
    return jira.fields, remote_matcher_for(jira, okrs)


@click.command()
@click.option("--once", is_flag=True, help="Apply what is pending, then exit.")
@click.option("--batch-size", default=1000, show_default=True, type=int)
@click.pass_obj
@handle_errors
def worker(app: Any, once: bool, batch_size: int) -> None:
    """Apply webhook events from the inbox to issue snapshots and KR progress."""
    from okr_jira.inbox import drain, run_worker

    engine = app.engine()
    fields, remote = _jira_helpers(app)
    if once:
        result = drain(
            engine=engine, batch_size=batch_size, fields=fields() if fields else None,
            remote_match=remote,
        )  # fmt: skip
        click.echo(f"applied {result.applied}, ignored {result.ignored}, failed {result.failed}")
        return
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    click.echo("okr-jira worker: applying webhook events (Ctrl-C to stop)", err=True)
    result = run_worker(
        engine=engine, stop=stop, batch_size=batch_size,
        max_idle_seconds=app.settings.inbox_interval_seconds, fields=fields, remote_match=remote,
    )  # fmt: skip
    click.echo(f"stopped: applied {result.applied}, failed {result.failed}", err=True)


@click.group()
def webhooks() -> None:
    """Webhook inbox and registration."""


@webhooks.command("dead-letters")
@click.option("--limit", default=100, show_default=True, type=int)
@click.pass_obj
@handle_errors
def dead_letters(app: Any, limit: int) -> None:
    """List events that could not be applied, with their error."""
    from okr_jira.inbox import dead_letters as failed
    from okr_jira.storage.db import session_scope

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
@click.pass_obj
@handle_errors
def retry(app: Any, ids: tuple[int, ...], retry_all: bool) -> None:
    """Queue dead letters (IDS, or --all) to be applied again by the worker."""
    from okr_jira.inbox import retry as requeue
    from okr_jira.storage.db import session_scope

    if not ids and not retry_all:
        raise click.UsageError("give event IDS or --all")
    with session_scope(app.engine()) as session:
        n = requeue(session=session, ids=None if retry_all else list(ids))
    click.echo(f"{n} event(s) queued again.")


@webhooks.command("register")
@click.option("--url", "base_url", required=True, help="Public base URL of okr-jira.")
@click.option("--manual", is_flag=True, help="Only print the manual steps.")
@click.pass_obj
@handle_errors
def register(app: Any, base_url: str, manual: bool) -> None:
    """Register the webhook in Jira, filtered to the mapped projects, or print how to."""
    from okr_jira.adapters.jira import JiraAdapter, JiraError
    from okr_jira.storage import repo
    from okr_jira.storage.db import session_scope
    from webhooks.registration import (
        WEBHOOK_PATH,
        jql_filter,
        manual_steps,
        mapped_projects,
    )
    from webhooks.registration import register as register_in_jira

    s = app.settings
    with session_scope(app.engine()) as session:
        jql = jql_filter(mapped_projects(repo.load_okrs(session=session)))
    target = base_url.rstrip("/") + WEBHOOK_PATH
    secret = s.webhook_secret.get_secret_value() if s.webhook_secret else None
    steps = manual_steps(target_url=target, jql=jql, secret_set=secret is not None)
    if manual or not s.jira_url or not s.jira_token:
        if not manual:
            click.echo("No Jira credentials configured (OKR_JIRA_JIRA_URL, _TOKEN).")
        click.echo(steps)
        return
    token = s.jira_token.get_secret_value()
    try:
        flavor = JiraAdapter(s.jira_url, user=s.jira_user, token=token, flavor=s.jira_flavor).flavor
    except JiraError as exc:
        click.echo(f"Could not reach Jira: {exc}")
        click.echo(steps)
        sys.exit(1)
    outcome = register_in_jira(
        jira_url=s.jira_url, user=s.jira_user, token=token, flavor=flavor, target_url=target,
        jql=jql, secret=secret, timeout=s.http_timeout_seconds,
    )  # fmt: skip
    if outcome.registered:
        click.echo(f"{outcome.message}: {target} for {jql or 'all issues'}")
        return
    click.echo(f"Jira refused the registration ({outcome.message}).")
    click.echo(steps)
    sys.exit(1)
