"""The long-running commands: `run`, `serve`, `worker`, `scheduler`, and the `demo`."""

from __future__ import annotations

import sys

import click

from okr_jira.cli.app import AppContext, handle_errors, pass_app


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@pass_app
@handle_errors
def run(app: AppContext, host: str, port: int) -> None:
    """Single node: the webhook receiver, the inbox worker and the scheduler in one process."""
    from okr_jira.runtime.processes import SingleNode

    node = SingleNode(app.wiring(), host=host, port=port).start()
    click.echo(f"okr-jira running on http://{host}:{node.port} (receiver, worker, scheduler)")
    node.serve_until_signal()
    click.echo("okr-jira stopped.")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8080, show_default=True, type=int, help="Port to listen on.")
@pass_app
@handle_errors
def serve(app: AppContext, host: str, port: int) -> None:
    """Serve the webhook receiver, admin API and health (waitress; or gunicorn
    "webhooks:create_app()"); Ctrl-C stops it."""
    from okr_jira.runtime.processes import serve as run_server

    def announce(bound: int) -> None:
        click.echo(f"okr-jira webhooks listening on http://{host}:{bound}")

    run_server(app.wiring(), host=host, port=port, announce=announce)


@click.command()
@click.option("--once", is_flag=True, help="Apply what is pending, then exit.")
@click.option("--batch-size", default=1000, show_default=True, type=int)
@pass_app
@handle_errors
def worker(app: AppContext, once: bool, batch_size: int) -> None:
    """Apply webhook events from the inbox to issue snapshots and KR progress."""
    from dataclasses import replace

    from okr_jira.inbox.worker import drain
    from okr_jira.runtime.processes import run_inbox_worker

    wiring = app.wiring()
    if once:
        options = replace(wiring.worker_options(), batch_size=batch_size)
        result = drain(engine=wiring.engine, options=options)
        click.echo(f"applied {result.applied}, ignored {result.ignored}, failed {result.failed}")
        return
    click.echo("okr-jira worker: applying webhook events (Ctrl-C to stop)", err=True)
    result = run_inbox_worker(wiring, batch_size=batch_size)
    click.echo(f"stopped: applied {result.applied}, failed {result.failed}", err=True)


@click.command()
@click.option("--election-seconds", default=5.0, show_default=True, help="Leader check period.")
@pass_app
@handle_errors
def scheduler(app: AppContext, election_seconds: float) -> None:
    """Run the job scheduler (one leads at a time; start several on PostgreSQL)."""
    from okr_jira.runtime.processes import run_scheduler

    click.echo("okr-jira scheduler started; Ctrl-C to stop.", err=True)
    run_scheduler(app.wiring(), election_seconds=election_seconds)


@click.command()
@click.option("--once", is_flag=True, help="One pass of team activity, then exit.")
@click.option("--rounds", type=click.IntRange(min=1), help="Stop after N rounds (default: Ctrl-C).")
@click.option(
    "--interval",
    type=click.FloatRange(min=0),
    default=2.0,
    show_default=True,
    help="Seconds between rounds.",
)
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
def demo(once: bool, rounds: int | None, interval: float, steps: int, preview_dir: str) -> None:
    """The whole product on embedded defaults against the bundled simulator (Ctrl-C stops)."""
    from pathlib import Path

    from okr_jira.runtime.demo import Demo, DemoPaths, default_okr_file

    paths = DemoPaths(
        database=Path("okr-jira-demo.db").resolve(),
        preview=Path(preview_dir).resolve(),
        okr_file=default_okr_file(),
    )
    the_demo = Demo(paths, echo=click.echo)
    if not once:
        from okr_jira.runtime.processes import on_stop_signals

        on_stop_signals(the_demo.stop.set)
        click.echo("Ctrl-C stops the demo.")
    sys.exit(the_demo.run(once=once, steps=steps, pause=interval, rounds=rounds))
