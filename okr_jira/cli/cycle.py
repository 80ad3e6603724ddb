"""`okr-jira cycle rollover`: the next cycle's OKR file, carrying what did not finish."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from okr_jira.cli.app import AppContext, handle_errors, pass_app


@click.group()
def cycle() -> None:
    """Cycles: roll the unfinished objectives over into the next one."""


@cycle.command()
@click.argument("source", metavar="FROM")
@click.option("--to", "to", required=True, help="Key of the next cycle, e.g. 2027-Q1.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="File to write.")
@click.option("--name", help="The new cycle's name (default: its key).")
@click.option("--start", type=click.DateTime(formats=["%Y-%m-%d"]), help="Default: after FROM.")
@click.option("--end", type=click.DateTime(formats=["%Y-%m-%d"]), help="Default: as long as FROM.")
@pass_app
@handle_errors
def rollover(
    app: AppContext,
    source: str,
    to: str,
    out: str,
    name: str | None,
    start: dt.datetime | None,
    end: dt.datetime | None,
) -> None:
    """Write an OKR file for cycle --to: today's OKRs plus FROM's unfinished objectives and key
    results under new keys (carried_from: the old ones), targets left `tbd` for the team to set.
    Check it with `okr-jira validate`, then `okr-jira apply` it."""
    from okr_jira.okrs.file import parse_okr_text
    from okr_jira.okrs.rollover import rollover as roll
    from okr_jira.storage.db import session_scope

    wiring = app.wiring()
    with session_scope(wiring.engine) as session:
        result = roll(
            session=session, source=source, to=to, thresholds=wiring.thresholds,
            now=wiring.clock(), name=name, start=start.date() if start else None,
            end=end.date() if end else None,
        )  # fmt: skip
        session.rollback()  # reading only
    parse_okr_text(result.text, out)  # what validate will say, before anything is written
    path = Path(out)
    partial = path.with_name(f".{path.name}.tmp")
    partial.write_text(result.text, encoding="utf-8")
    partial.replace(path)
    c = result.cycle
    click.echo(
        f"Wrote {out}: cycle {c.key} ({c.start} .. {c.end}), {len(result.carried)} objective(s) "
        f"and {len(result.carried_krs)} key result(s) carried from {source}."
    )
    for old, new in result.carried.items():
        click.echo(f"  {old} -> {new}")
    click.echo(f"Next: set the tbd targets, then `okr-jira validate {out}` and `okr-jira apply`.")
