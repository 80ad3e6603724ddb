"""`audit`: who changed which target, weight, mapping or parent, when, old -> new."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import click

from okr_jira.cli.app import AppContext, handle_errors, pass_app


@click.command(short_help="List the audit log: who changed what in the OKRs, when, old -> new.")
@click.option("--objective", help="Only this objective and its key results.")
@click.option("--kr", help="Only this key result (and its mapping).")
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Only changes on or after DATE (YYYY-MM-DD, UTC).",
)
@click.option("--actor", help="Only changes by this actor.")
@click.option("--limit", type=click.IntRange(1, 10000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
@handle_errors
def audit(
    app: AppContext,
    objective: str | None,
    kr: str | None,
    since: dt.datetime | None,
    actor: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """List the audit log, newest first: every change `apply`, the web app and the API made to
    cycles, teams, objectives, key results and mappings, with who made it."""
    from okr_jira.storage import audit as audit_log
    from okr_jira.storage.db import session_scope

    with session_scope(app.engine()) as session:
        keys = audit_log.keys_of(session=session, objective=objective, kr=kr)
        rows = audit_log.search(
            session=session, keys=keys, actor=actor, limit=limit,
            since=since.replace(tzinfo=dt.UTC) if since else None,
        )  # fmt: skip
        entries: list[dict[str, Any]] = [
            {"at": r.at, "actor": r.actor, "entity": r.entity, "key": r.entity_key,
             "action": r.action, "field": r.field, "old": r.old, "new": r.new}
            for r in rows
        ]  # fmt: skip
    if as_json:
        for e in entries:
            e["at"] = e["at"].isoformat()
        click.echo(json.dumps({"entries": entries}, indent=2, ensure_ascii=False))
        return
    if not entries:
        click.echo("No audit entries match.")
        return
    for e in entries:
        what = f"{e['entity']} {e['key']}"
        if e["action"] == "change":
            what += f": {e['field']} {_short(e['old'])} -> {_short(e['new'])}"
        else:
            what += f" ({e['action']})"
        click.echo(f"{e['at']:%Y-%m-%d %H:%M}  {e['actor']}  {what}")
    if len(entries) == limit:
        click.echo(f"(the newest {limit}; --limit shows more)")


def _short(value: str | None, width: int = 80) -> str:
    if value is None:
        return "(none)"
    return value if len(value) <= width else value[: width - 3] + "..."
