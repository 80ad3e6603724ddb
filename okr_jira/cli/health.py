"""`okr-jira health`: the guardrail signals of a cycle and its calibration report."""

from __future__ import annotations

import json

import click

from okr_jira.cli.app import AppContext, handle_errors, pass_app


@click.command()
@click.option("--cycle", "cycle_key", help="Cycle key (default: the running cycle).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
@handle_errors
def health(app: AppContext, cycle_key: str | None, as_json: bool) -> None:
    """Guardrail signals: scope changes, backfills, lowered targets, cross-team overlaps,
    progress jumps, stale check-ins, sandbagging; then the score distribution by team.

    Computed now from what is stored (check-ins since the last sync count) and kept for the
    pages and `tree --json`, as every sync does.
    """
    from okr_jira.render.health import health_text
    from okr_jira.report.health import refresh_health
    from okr_jira.storage.db import session_scope

    wiring = app.wiring()
    with session_scope(wiring.engine) as session:
        report = refresh_health(
            session=session, cycle=cycle_key, now=wiring.clock(), thresholds=wiring.guardrails
        )
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        click.echo(health_text(report))
