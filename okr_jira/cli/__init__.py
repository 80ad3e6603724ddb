"""The `okr-jira` command line: each command parses, calls one function, prints.

The group reads nothing itself; commands take settings and the runtime wiring from the context
(cli/app.py). One module per command family.
"""

from __future__ import annotations

import click

from okr_jira.cli.app import AppContext
from okr_jira.cli.checkconfig import check_config
from okr_jira.cli.cycle import cycle
from okr_jira.cli.db import db
from okr_jira.cli.health import health
from okr_jira.cli.notify import digest
from okr_jira.cli.okrs import apply, checkin, export, lint, tree, validate, why
from okr_jira.cli.processes import demo, run, scheduler, serve, worker
from okr_jira.cli.publish import publish
from okr_jira.cli.simulator import simulator
from okr_jira.cli.sync import remote_links, sync
from okr_jira.cli.tokens import tokens
from okr_jira.cli.webhooks import webhooks
from okr_jira.logs import configure_logging


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
    # Until a command reads the settings (which set the level and format), warnings and errors.
    configure_logging()
    ctx.obj = AppContext(config_file)
    ctx.call_on_close(ctx.obj.close)


for _command in (
    validate, lint, apply, tree, why, health, checkin, digest, cycle, sync, remote_links, publish,
    check_config, serve, worker, scheduler, run, demo, simulator, webhooks, db, tokens, export,
):  # fmt: skip
    main.add_command(_command)

__all__ = ["main"]
