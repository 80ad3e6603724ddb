"""The `okr-jira` command line: each command parses, calls one function, prints."""

from __future__ import annotations

import datetime as dt
import getpass
import json
import logging
import os
import sys

import click

from okr_jira.cli_support import AppContext, handle_errors, pass_app
from okr_jira.errors import OkrJiraError


def _actor() -> str:
    try:
        return os.environ.get("OKR_JIRA_ACTOR") or getpass.getuser()
    except Exception:
        return "cli"


@click.group()
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False),
    envvar="OKR_JIRA_CONFIG",
    help="TOML settings file (also OKR_JIRA_CONFIG).",
)
@click.version_option(package_name="okr-jira")
@click.pass_context
def main(ctx: click.Context, config_file: str | None) -> None:
    """okr-jira: OKR key results that follow the real state of the work in Jira."""
    # The level is the setting's; it takes effect once a command reads the settings.
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    ctx.obj = AppContext(config_file)
    ctx.call_on_close(ctx.obj.close)


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
@handle_errors
def validate(file: str) -> None:
    """Check an OKR file; list every problem with file:line:column."""
    from okr_jira.okrfile import load_okr_file

    okrs = load_okr_file(file)
    krs = sum(len(o.key_results) for o in okrs.objectives)
    click.echo(
        f"{file}: valid ({len(okrs.cycles)} cycle(s), {len(okrs.teams)} team(s), "
        f"{len(okrs.objectives)} objective(s), {krs} key result(s))"
    )


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Print the plan, change nothing.")
@click.option(
    "--prune", is_flag=True, help="Delete what the file no longer declares (default: archive)."
)
@pass_app
@handle_errors
def apply(app: AppContext, file: str, dry_run: bool, prune: bool) -> None:
    """Make the stored OKRs match FILE; every change is audited."""
    from okr_jira.apply import apply_plan, make_plan
    from okr_jira.okrfile import load_okr_file
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
        apply_plan(session, plan, actor=_actor())
    click.echo("Applied.")


@main.command()
@click.option("--cycle", "cycle_key", help="Cycle key (default: the running cycle).")
@click.option("--at", "at", type=click.DateTime(formats=["%Y-%m-%d"]), help="Show pace on DATE.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
@handle_errors
def tree(app: AppContext, cycle_key: str | None, at: dt.datetime | None, as_json: bool) -> None:
    """The objective tree with progress, score, grade and pace."""
    from okr_jira.domain.models import PaceThresholds
    from okr_jira.evaluate import evaluate_cycle
    from okr_jira.storage.db import session_scope
    from okr_jira.treeview import tree_json, tree_text

    s = app.settings
    with session_scope(app.engine()) as session:
        report = evaluate_cycle(
            session=session,
            cycle=cycle_key,
            on=at.date() if at else None,
            thresholds=PaceThresholds(on_track=s.pace_on_track, at_risk=s.pace_at_risk),
        )
    if as_json:
        click.echo(json.dumps(tree_json(report), indent=2, ensure_ascii=False))
    else:
        click.echo(tree_text(report, colour=sys.stdout.isatty()))


@main.command()
@click.argument("kr")
@click.argument("value", type=float)
@click.option("--note", help="What happened; kept with the check-in.")
@pass_app
@handle_errors
def checkin(app: AppContext, kr: str, value: float, note: str | None) -> None:
    """Record the current VALUE of a manual key result KR."""
    from okr_jira.storage import repo
    from okr_jira.storage.db import session_scope

    with session_scope(app.engine()) as session:
        row = repo.get_key_result(session=session, key=kr)
        if row.kind != "manual":
            raise OkrJiraError(
                f"{kr} is a '{row.kind}' key result: its progress comes from Jira, not check-ins"
            )
        repo.add_checkin(session=session, kr=kr, value=value, note=note, author=_actor())
    click.echo(f"{kr}: checked in {value:g}" + (f" ({note})" if note else ""))


@main.command()
@click.option("--full", is_flag=True, help="Read every mapped issue again (default: what changed).")
@pass_app
@handle_errors
def sync(app: AppContext, full: bool) -> None:
    """Make every KR's scope and progress true to Jira."""
    from okr_jira.factory import make_jira
    from okr_jira.sync import Syncer

    bar = _ProgressLine() if sys.stderr.isatty() else None
    syncer = Syncer(app.engine(), make_jira(app.settings), progress=bar)
    summary = syncer.full() if full else syncer.incremental()
    if bar:
        bar.close()
    click.echo("\n".join(summary.lines()))


class _ProgressLine:
    """A one-line progress bar on stderr, redrawn in place."""

    def __init__(self) -> None:
        self.phase = ""

    def __call__(self, phase: str, done: int, total: int | None) -> None:
        from okr_jira.treeview import bar

        text = f"{phase}: {bar(done / total, 30)} {done}/{total}" if total else f"{phase}: {done}"
        click.echo(f"\r{text:<79}", nl=False, err=True)

    def close(self) -> None:
        click.echo("\r" + " " * 79 + "\r", nl=False, err=True)


@main.command()
@click.option("--election-seconds", default=5.0, show_default=True, help="Leader check period.")
@pass_app
@handle_errors
def scheduler(app: AppContext, election_seconds: float) -> None:
    """Run the job scheduler (one leads at a time; start several on PostgreSQL)."""
    from okr_jira.runtime import run_scheduler

    click.echo("okr-jira scheduler started; Ctrl-C to stop.", err=True)
    run_scheduler(app.settings, app.engine(), election_seconds=election_seconds)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@pass_app
@handle_errors
def run(app: AppContext, host: str, port: int) -> None:
    """Single node: the webhook receiver, the inbox worker and the scheduler in one process."""
    from okr_jira.runtime import SingleNode

    node = SingleNode(app.settings, app.engine(), host=host, port=port).start()
    click.echo(f"okr-jira running on http://{host}:{node.port} (receiver, worker, scheduler)")
    node.serve_until_signal()
    click.echo("okr-jira stopped.")


@main.command()
@click.option("--once", is_flag=True, help="One pass of team activity, then exit.")
@click.option("--steps", default=8, show_default=True, help="Issues moved per round.")
@click.option(
    "--preview",
    "preview_dir",
    default="okr-preview",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Where the HTML preview goes.",
)
@handle_errors
def demo(once: bool, steps: int, preview_dir: str) -> None:
    """The whole product on embedded defaults against the bundled simulator (Ctrl-C stops)."""
    from pathlib import Path

    from okr_jira.demo import Demo, DemoPaths, default_okr_file

    paths = DemoPaths(
        database=Path("okr-jira-demo.db").resolve(),
        preview=Path(preview_dir).resolve(),
        okr_file=default_okr_file(),
    )
    the_demo = Demo(paths, echo=click.echo)
    if not once:
        from okr_jira.runtime import on_stop_signals

        on_stop_signals(the_demo.stop.set)
        click.echo("Ctrl-C stops the demo.")
    sys.exit(the_demo.run(once=once, steps=steps))


@main.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
@pass_app
@handle_errors
def db_upgrade(app: AppContext) -> None:
    """Create or migrate the schema to this version of okr-jira."""
    from okr_jira.storage.db import upgrade

    before, after = upgrade(app.engine(check=False))
    if before == after:
        click.echo(f"Schema already current ({after}).")
    else:
        click.echo(f"Schema upgraded: {before or 'empty'} -> {after}.")


@db.command("current")
@pass_app
@handle_errors
def db_current(app: AppContext) -> None:
    """Print the schema revision of the database and of this code."""
    from okr_jira.storage.db import current_revision, head_revision

    click.echo(f"database: {current_revision(app.engine(check=False)) or 'empty'}")
    click.echo(f"code:     {head_revision()}")


def _register_commands() -> None:
    from okr_jira.checkconfig_cli import check_config
    from okr_jira.publish_cli import publish
    from okr_jira.webhook_cli import serve, webhooks, worker

    for command in (serve, worker, webhooks, publish, check_config):
        main.add_command(command)


_register_commands()

if __name__ == "__main__":  # pragma: no cover
    main()
