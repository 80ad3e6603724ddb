"""`okr-jira digest`: this week's digest, printed (--dry-run) or sent now to the teams' channels."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from okr_jira.cli.app import AppContext, handle_errors, pass_app

if TYPE_CHECKING:
    from sqlalchemy import Engine


@click.command()
@click.option("--team", "team", help="Only this team's digest (default: every team with channels).")
@click.option(
    "--dry-run", is_flag=True, help="Print the digest and where it would go; send nothing."
)
@pass_app
@handle_errors
def digest(app: AppContext, team: str | None, dry_run: bool) -> None:
    """Build this week's digest and send it now: what moved, what is at risk, scope changes,
    confidence falling, check-ins due. Each channel gets it once per week, however often this
    runs. Exits 1 when a channel failed."""
    from okr_jira.notify import enqueue_digests
    from okr_jira.render.digest import message_text
    from okr_jira.runtime.jobs import deliver_notifications

    wiring = app.wiring()
    queued = enqueue_digests(
        wiring.engine, now=wiring.clock(), thresholds=wiring.thresholds,
        page_url=wiring.page_url(), team=team, dry_run=dry_run,
    )  # fmt: skip
    if dry_run:
        for message, channels in queued.messages:
            click.echo(message_text(message))
            where = ", ".join(channels) or "no channel (add notify: to the team in the OKR file)"
            click.echo(f"Would go to: {where}\n")
        click.echo("Dry run: nothing was sent.")
        return
    if not queued.planned:
        who = f"Team {team} has" if team else "No team has"
        click.echo(f"{who} no notify: channels in the OKR file; nothing to send.")
        return
    result = deliver_notifications(wiring)
    earlier = _statuses(wiring.engine, [p.key for p in queued.planned if not p.new])
    outcome = {key: "sent" for key in result.sent}
    outcome |= {key: f"will retry: {error}" for key, error in result.retrying}
    outcome |= {key: f"FAILED: {error}" for key, error in result.failed}
    for planned in queued.planned:
        if not planned.new:
            click.echo(f"{planned.channel}: {earlier.get(planned.key, 'queued earlier')}")
        else:
            click.echo(f"{planned.channel}: {outcome.get(planned.key, 'queued')}")
    if result.failed or result.retrying:
        sys.exit(1)


def _statuses(engine: Engine, keys: list[str]) -> dict[str, str]:
    """What became of messages enqueued by an earlier run this week."""
    from okr_jira.storage import outbox
    from okr_jira.storage.db import session_scope

    with session_scope(engine) as session:
        rows = outbox.statuses(session=session, keys=keys)
    said = {
        outbox.SENT: lambda r: "already sent this week",
        outbox.FAILED: lambda r: f"FAILED earlier this week: {r.last_error}",
        outbox.PENDING: lambda r: (
            f"queued earlier, retried at {r.next_attempt_at:%Y-%m-%d %H:%M}"
            + (f" (last error: {r.last_error})" if r.last_error else "")
        ),
        outbox.SENDING: lambda r: "being sent",
    }
    return {key: said[row.status](row) for key, row in rows.items()}
