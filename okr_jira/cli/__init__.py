"""The `okr-jira` command line: each command parses, calls one function, prints.

The group reads nothing itself; commands take settings and the runtime wiring from the context
(cli/app.py). One module per command family.
"""

from __future__ import annotations

import inspect
import re

import click

from okr_jira.cli.app import AppContext
from okr_jira.cli.audit import audit
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


# Wide terminals show each command's description on one line; narrow ones wrap it, never cut it.
@click.group(context_settings={"max_content_width": 120})
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


def _full_short_help(group: click.Group) -> None:
    """`--help` lists each command with its first sentence, whole: click would cut it at the
    terminal's width with "..." (a command's own short_help, when set, is kept)."""
    for command in group.commands.values():
        if not command.short_help and command.help:
            first = inspect.cleandoc(command.help).split("\n\n")[0].replace("\n", " ")
            sentence = re.match(r"(.+?[.!?])(?:\s|$)", first)
            command.short_help = sentence.group(1) if sentence else first
        if isinstance(command, click.Group):
            _full_short_help(command)


for _command in (
    validate, lint, apply, tree, why, health, checkin, digest, cycle, sync, remote_links, publish,
    check_config, serve, worker, scheduler, run, demo, simulator, webhooks, db, tokens, export,
    audit,
):  # fmt: skip
    main.add_command(_command)
_full_short_help(main)

__all__ = ["main"]
