"""`validate`, `apply`, `tree`, `checkin`: the OKRs as code, the computed tree, check-ins."""

from __future__ import annotations

import datetime as dt
import json
import sys

import click

from okr_jira.cli.app import AppContext, actor, handle_errors, pass_app
from okr_jira.errors import OkrJiraError


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
@click.argument("issue")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
@handle_errors
def why(app: AppContext, issue: str, as_json: bool) -> None:
    """Which key results ISSUE counts toward, its weight and share in each, and the objectives
    above them."""
    from okr_jira.report.why import why as explain
    from okr_jira.storage.db import session_scope

    with session_scope(app.engine()) as session:
        answer = explain(session=session, issue=issue)
    if as_json:
        click.echo(json.dumps(answer.json(), indent=2, ensure_ascii=False))
    else:
        click.echo("\n".join(answer.lines()))


@click.command()
@click.argument("kr")
@click.argument("value", type=float)
@click.option("--note", help="What happened; kept with the check-in.")
@pass_app
@handle_errors
def checkin(app: AppContext, kr: str, value: float, note: str | None) -> None:
    """Record the current VALUE of a manual key result KR."""
    from okr_jira.storage.db import session_scope
    from okr_jira.storage.okrs import add_checkin, get_key_result

    with session_scope(app.engine()) as session:
        row = get_key_result(session=session, key=kr)
        if row.kind != "manual":
            raise OkrJiraError(
                f"{kr} is a '{row.kind}' key result: its progress comes from Jira, not check-ins"
            )
        add_checkin(session=session, kr=kr, value=value, note=note, author=actor())
    click.echo(f"{kr}: checked in {value:g}" + (f" ({note})" if note else ""))
