"""`okr-jira sync`: make every KR's scope and progress true to Jira, with a progress bar;
`okr-jira remote-links`: the remote links in Jira brought in step with the scope."""

from __future__ import annotations

import sys

import click

from okr_jira.cli.app import AppContext, handle_errors, pass_app


@click.command()
@click.option("--full", is_flag=True, help="Read every mapped issue again (default: what changed).")
@pass_app
@handle_errors
def sync(app: AppContext, full: bool) -> None:
    """Make every KR's scope and progress true to Jira."""
    bar = _ProgressLine() if sys.stderr.isatty() else None
    syncer = app.wiring().syncer(progress=bar)
    summary = syncer.full() if full else syncer.incremental()
    if bar:
        bar.close()
    click.echo("\n".join(summary.lines()))
    links = app.wiring().sync_remote_links()  # OKR_JIRA_JIRA_REMOTE_LINKS=true
    if links is not None:
        click.echo("\n".join(links.lines()))


@click.command("remote-links")
@click.option("--dry-run", is_flag=True, help="Count what would be written; write nothing.")
@pass_app
@handle_errors
def remote_links(app: AppContext, dry_run: bool) -> None:
    """Bring Jira's remote links (issue -> key result) in step with the scope."""
    from okr_jira.errors import ConfigError

    summary = app.wiring().sync_remote_links(dry_run=dry_run)
    if summary is None:
        raise ConfigError("remote links are off: set OKR_JIRA_JIRA_REMOTE_LINKS=true")
    click.echo("\n".join(summary.lines()))
    if dry_run:
        click.echo("Dry run: nothing was written to Jira.")


class _ProgressLine:
    """A one-line progress bar on stderr, redrawn in place."""

    def __call__(self, phase: str, done: int, total: int | None) -> None:
        from okr_jira.render.tree import bar

        text = f"{phase}: {bar(done / total, 30)} {done}/{total}" if total else f"{phase}: {done}"
        click.echo(f"\r{text:<79}", nl=False, err=True)

    def close(self) -> None:
        click.echo("\r" + " " * 79 + "\r", nl=False, err=True)
