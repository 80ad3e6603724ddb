"""`validate`, `lint`, `apply`, `tree`, `checkin`: the OKRs as code, the tree, check-ins."""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import TYPE_CHECKING

import click

from okr_jira.cli.app import AppContext, actor, handle_errors, pass_app
from okr_jira.errors import OkrJiraError

if TYPE_CHECKING:
    from okr_jira.okrs.file import OkrDocument


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@handle_errors
def validate(file: str) -> None:
    """Check an OKR file; list every problem with file:line:column."""
    from okr_jira.okrs.file import load_okr_document

    document = load_okr_document(file)
    okrs = document.okrs
    krs = sum(len(o.key_results) for o in okrs.objectives)
    click.echo(
        f"{file}: valid ({len(okrs.cycles)} cycle(s), {len(okrs.teams)} team(s), "
        f"{len(okrs.objectives)} objective(s), {krs} key result(s))"
    )
    _lint_warnings(file, document)


def _lint_warnings(file: str, document: OkrDocument) -> None:
    """The lint rules' findings, as warnings on stderr: they never stop validate or apply."""
    from okr_jira.okrs.lint import describe, lint_document

    problems = lint_document(document)
    for problem in problems:
        click.echo(describe(file, problem), err=True)
    if problems:
        click.echo(
            f"{len(problems)} lint finding(s); `okr-jira lint {file}` lists them, "
            "`lint: {rule_id: off}` in the file turns a rule off.",
            err=True,
        )


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def lint(file: str, as_json: bool) -> None:
    """Lint an OKR file: goals easy to game or hard to steer by; exit 1 only for errors."""
    from okr_jira.okrs.lint import describe, lint_file

    problems = lint_file(file)
    if as_json:
        out = {"problems": [p.to_dict() for p in problems]}
        click.echo(json.dumps(out, indent=2, ensure_ascii=False))
    else:
        for problem in problems:
            click.echo(describe(file, problem))
        errors = sum(p.severity == "error" for p in problems)
        click.echo(
            f"{file}: {errors} error(s), {len(problems) - errors} warning(s)"
            if problems
            else f"{file}: no lint problems"
        )
    if any(p.severity == "error" for p in problems):
        sys.exit(1)


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
    from okr_jira.okrs.file import load_okr_document
    from okr_jira.okrs.plan import apply_plan, make_plan
    from okr_jira.storage.db import session_scope

    document = load_okr_document(file)
    _lint_warnings(file, document)
    with session_scope(app.engine()) as session:
        plan = make_plan(session, document.okrs, prune=prune)
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
    from okr_jira.report.health import stored_health
    from okr_jira.storage.db import session_scope

    wiring = app.wiring()
    with session_scope(wiring.engine) as session:
        report = evaluate_cycle(
            session=session,
            cycle=cycle_key,
            on=at.date() if at else None,
            thresholds=wiring.thresholds,
        )
        health = stored_health(session=session, cycle=report.cycle.key)
    if as_json:
        click.echo(json.dumps(tree_json(report, health), indent=2, ensure_ascii=False))
    else:
        click.echo(tree_text(report, colour=sys.stdout.isatty(), health=health))


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
