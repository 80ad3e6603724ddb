"""`validate`, `lint`, `apply`, `tree`, `checkin`: the OKRs as code, the tree, check-ins."""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import TYPE_CHECKING

import click

from okr_jira.cli.app import AppContext, actor, handle_errors, pass_app

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
@click.option(
    "--yes", is_flag=True, help="Confirm an apply that archives (or deletes) every objective."
)
@pass_app
@handle_errors
def apply(app: AppContext, file: str, dry_run: bool, prune: bool, yes: bool) -> None:
    """Make the stored OKRs match FILE; every change is audited."""
    from okr_jira.okrs.file import load_okr_document
    from okr_jira.okrs.plan import apply_plan, make_plan
    from okr_jira.runtime.jobs import request_publish
    from okr_jira.storage.db import session_scope

    document = load_okr_document(file)
    _lint_warnings(file, document)
    with session_scope(app.engine()) as session:
        plan = make_plan(session, document.okrs, prune=prune)
        click.echo(plan.summary())
        if dry_run or plan.empty:
            if dry_run and plan.removes_every_objective:
                click.echo("This archives every objective: applying it needs --yes.")
            if dry_run:
                click.echo("Dry run: nothing was changed.")
            session.rollback()
            return
        if plan.removes_every_objective and not yes:
            session.rollback()
            gone = "delete" if prune else "archive"
            click.echo(
                f"error: {file} would {gone} every objective ({plan.live_objectives}) and keep "
                "none. If that is what you want, run again with --yes; nothing was changed.",
                err=True,
            )
            sys.exit(1)
        apply_plan(session, plan, actor=actor())
    # A running scheduler publishes the change once its window has passed.
    request_publish(app.wiring())
    click.echo("Applied.")


@click.command()
@click.option("--cycle", "cycle_key", help="Cycle key (default: the running cycle).")
@click.option(
    "--at",
    "at",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    metavar="DATE",
    help="The tree as it stood on DATE (YYYY-MM-DD), read from the stored progress history "
    "(snapshots and check-ins up to that day), with the pace of that day.",
)
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


class _NegativeNumbers(click.Command):
    """`checkin KR -5`: a negative number is an argument, not an option (click would otherwise
    read `-5` as an unknown option); a misspelt `--option` is still refused by name."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        known = {name for param in self.params for name in getattr(param, "opts", ())}
        for arg in args:
            if arg == "--":
                break
            name = arg.split("=", 1)[0]
            if arg.startswith("--") and name not in known:
                raise click.NoSuchOption(name, possibilities=sorted(known), ctx=ctx)
        return super().parse_args(ctx, args)


@click.command(
    cls=_NegativeNumbers,
    context_settings={"ignore_unknown_options": True},
    short_help="Check in on an objective or key result: confidence, note, blockers, a value.",
)
@click.argument("key")
@click.argument("value", required=False)
@click.option("--confidence", help="The team's confidence it will get there, 0 to 10.")
@click.option("--note", help="What happened this week; kept with the check-in.")
@click.option("--blockers", help="What is in the way.")
@click.option("--retro", help="The objective's retrospective note: what we learned.")
@pass_app
@handle_errors
def checkin(
    app: AppContext,
    key: str,
    value: str | None,
    confidence: str | None,
    note: str | None,
    blockers: str | None,
    retro: str | None,
) -> None:
    """The team's check-in on KEY, an objective or a key result: confidence, note, blockers;
    VALUE is a 'manual' key result's current value (negative values work: `checkin KR -5`)."""
    from okr_jira.okrs.checkins import record_checkin
    from okr_jira.runtime.jobs import request_publish
    from okr_jira.storage.db import session_scope

    wiring = app.wiring()
    with session_scope(wiring.engine) as session:
        recorded = record_checkin(
            session=session, key=key, value=value, confidence=confidence, note=note,
            blockers=blockers, retro=retro, author=actor(), now=wiring.clock(),
            thresholds=wiring.thresholds,
        )  # fmt: skip
    request_publish(wiring)
    click.echo(recorded.describe())


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
@click.option("--cycle", "cycle_key", help="Only this cycle's objectives.")
@click.option(
    "--out", "out", type=click.Path(dir_okay=False), help="Write to FILE (default: stdout)."
)
@pass_app
@handle_errors
def export(app: AppContext, cycle_key: str | None, out: str | None) -> None:
    """Write the stored OKRs as an OKR file that `apply` takes back as a no-op (archived
    objectives stay out, and stay archived). With --cycle, that cycle's objectives and the ones
    they align to: applying that file archives the other cycles' objectives."""
    from pathlib import Path

    from okr_jira.errors import NotFoundError
    from okr_jira.okrs.edit import declared
    from okr_jira.okrs.export import dump_okr_text, one_cycle
    from okr_jira.storage.db import session_scope

    with session_scope(app.engine()) as session:
        okrs = declared(session)
    if cycle_key:
        try:
            okrs, left_out = one_cycle(okrs, cycle_key)
        except KeyError as exc:
            raise NotFoundError(exc.args[0]) from None
        if left_out:
            click.echo(
                f"note: {left_out} objective(s) of other cycles left out; applying this file "
                "would archive them (export without --cycle for a file apply keeps as it is).",
                err=True,
            )
    text = dump_okr_text(okrs)
    if out:
        Path(out).write_text(text, encoding="utf-8")
        click.echo(f"wrote {out}", err=True)
    else:
        click.echo(text, nl=False)
