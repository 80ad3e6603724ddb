"""`validate`, `apply`, `tree`, `checkin`: the OKRs as code, the computed tree, check-ins."""

from __future__ import annotations

import datetime as dt
import json
import sys

import click

from okr_jira.cli.app import AppContext, actor, handle_errors, pass_app


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@handle_errors
def validate(file: str) -> None:
    """Check an OKR file; list every problem with file:line:column."""
    from okr_jira.okrs.file import load_okr_file

    okrs = load_okr_file(file)
    krs = sum(len(o.key_results) for o in okrs.objectives)
    click.echo(
        f"{file}: valid ({len(okrs.cycles)} cycle(s), {len(okrs.teams)} team(s), "
        f"{len(okrs.objectives)} objective(s), {krs} key result(s))"
    )


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Print the plan, change nothing.")
@click.option(
    "--prune", is_flag=True, help="Delete what the file no longer declares (default: archive)."
)
@pass_app
@handle_errors
def apply(app: AppContext, file: str, dry_run: bool, prune: bool) -> None:
    """Make the stored OKRs match FILE; every change is audited."""
    from okr_jira.okrs.file import load_okr_file
    from okr_jira.okrs.plan import apply_plan, make_plan
    from okr_jira.storage.db import session_scope

    okrs = load_okr_file(file)
    with session_scope(app.engine()) as session:
        plan = make_plan(session, okrs, prune=prune)
        click.echo(plan.summary())
        if dry_run or plan.empty:
            if dry_run:
                click.echo("Dry run: nothing was changed.")
            session.rollback()
            return
        apply_plan(session, plan, actor=actor())
    click.echo("Applied.")


@click.command()
@click.option("--cycle", "cycle_key", help="Cycle key (default: the running cycle).")
@click.option("--at", "at", type=click.DateTime(formats=["%Y-%m-%d"]), help="Show pace on DATE.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
@handle_errors
def tree(app: AppContext, cycle_key: str | None, at: dt.datetime | None, as_json: bool) -> None:
    """The objective tree with progress, score, grade and pace."""
    from okr_jira.render.tree import tree_json, tree_text
    from okr_jira.report.evaluate import evaluate_cycle
    from okr_jira.storage.db import session_scope

    wiring = app.wiring()
    with session_scope(wiring.engine) as session:
        report = evaluate_cycle(
            session=session,
            cycle=cycle_key,
            on=at.date() if at else None,
            thresholds=wiring.thresholds,
        )
    if as_json:
        click.echo(json.dumps(tree_json(report), indent=2, ensure_ascii=False))
    else:
        click.echo(tree_text(report, colour=sys.stdout.isatty()))


@click.command()
@click.argument("kr")
@click.argument("value", type=float)
@click.option("--note", help="What happened; kept with the check-in.")
@pass_app
@handle_errors
def checkin(app: AppContext, kr: str, value: float, note: str | None) -> None:
    """Record the current VALUE of a manual key result KR."""
    from okr_jira.okrs.checkins import record_checkin
    from okr_jira.storage.db import session_scope

    wiring = app.wiring()
    with session_scope(wiring.engine) as session:
        record_checkin(session, kr, value, note=note, author=actor(), thresholds=wiring.thresholds)
    click.echo(f"{kr}: checked in {value:g}" + (f" ({note})" if note else ""))


@click.command()
@click.option("--cycle", "cycle_key", help="Only this cycle's objectives.")
@click.option(
    "--out", "out", type=click.Path(dir_okay=False), help="Write to FILE (default: stdout)."
)
@pass_app
@handle_errors
def export(app: AppContext, cycle_key: str | None, out: str | None) -> None:
    """Write the stored OKRs as an OKR file that `apply` takes back as a no-op."""
    import dataclasses
    from pathlib import Path

    from okr_jira.okrs.edit import declared
    from okr_jira.okrs.export import dump_okr_text
    from okr_jira.storage.db import session_scope

    with session_scope(app.engine()) as session:
        okrs = declared(session)
    if cycle_key:
        okrs = dataclasses.replace(
            okrs, objectives=tuple(o for o in okrs.objectives if o.cycle == cycle_key)
        )
    text = dump_okr_text(okrs)
    if out:
        Path(out).write_text(text, encoding="utf-8")
        click.echo(f"wrote {out}", err=True)
    else:
        click.echo(text, nl=False)
