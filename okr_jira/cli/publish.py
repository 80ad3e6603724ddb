"""`okr-jira publish`: the OKR tree of a cycle as Confluence pages, or as HTML files with --out."""

from __future__ import annotations

import click

from okr_jira.cli.app import AppContext, handle_errors, pass_app


@click.command("publish")
@click.option("--cycle", "cycle_key", help="Cycle key (default: the running cycle).")
@click.option(
    "--dry-run", is_flag=True, help="List the pages to create, update, move or archive; write none."
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    help="Write the pages as standalone HTML into DIR instead (no Confluence needed).",
)
@pass_app
@handle_errors
def publish(app: AppContext, cycle_key: str | None, dry_run: bool, out_dir: str | None) -> None:
    """Publish the OKR tree as Confluence pages: only what changed is written."""
    from okr_jira.publish import write_preview

    wiring = app.wiring()
    if out_dir:
        paths = write_preview(wiring.preview_publisher().context(cycle_key), out_dir)
        click.echo(f"Wrote {len(paths)} page(s) to {out_dir} (open {paths[0].name}).")
        if not dry_run:
            return
    publisher = wiring.publisher()
    if dry_run:
        click.echo("\n".join(publisher.plan(cycle_key).lines()))
        click.echo("Dry run: nothing was written to Confluence.")
        return
    summary = publisher.publish(cycle_key)
    click.echo("\n".join(summary.lines()))
    links = wiring.sync_remote_links()  # pages may be new: links follow them
    if links is not None:
        click.echo("\n".join(links.lines()))
