"""`okr-jira simulator`: the bundled Jira + Confluence simulator, to try okr-jira without a site."""

from __future__ import annotations

import contextlib
import signal
import threading

import click

from okr_jira.simulator.datagen import SIZES


@click.command("simulator")
@click.option("--port", default=8090, show_default=True, type=int, help="0 picks a free port.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option(
    "--flavor", type=click.Choice(["cloud", "datacenter"]), default="cloud", show_default=True
)
@click.option(
    "--size",
    type=click.Choice(list(SIZES)),
    default="small",
    show_default=True,
    help="Issues generated: " + ", ".join(f"{k} {v:,}" for k, v in SIZES.items()) + ".",
)
@click.option("--seed", default=0, show_default=True, type=int, help="Data set seed.")
@click.option(
    "--okr-jira-port",
    default=8080,
    show_default=True,
    type=int,
    help="Where `okr-jira run` will listen (the printed OKR_JIRA_PUBLIC_URL).",
)
def simulator(port: int, host: str, flavor: str, size: str, seed: int, okr_jira_port: int) -> None:
    """Run a simulated Jira and Confluence (Cloud or Data Center) until Ctrl-C, and print the
    settings that point okr-jira at it."""
    from okr_jira.simulator.site import PARENT, SPACE, build_site, settings_lines

    server = build_site(flavor, size=size, seed=seed, host=host, port=port)  # type: ignore[arg-type]
    creds = server.credentials
    projects = ", ".join(sorted(server.jira.projects))
    login = (
        f"{creds.email} / API token {creds.api_token}"
        if flavor == "cloud"
        else f"personal access token {creds.pat} (or {creds.username} / {creds.password})"
    )
    first = min(server.jira.issues, default="SUP-1")
    lines = [
        f"Simulated Jira {flavor} ({len(server.jira.issues)} issues in {projects}), "
        "and Confluence:",
        f"  Jira:        {server.url}",
        f"  Confluence:  {server.confluence_url}   (space {SPACE}, page {PARENT!r})",
        f"  Credentials: {login}",
        f"  Issue pages: {server.url}/browse/{first}",
        "",
        "Paste into the shell you run okr-jira from:",
        *settings_lines(server, okr_jira_url=f"http://127.0.0.1:{okr_jira_port}"),
        "",
        "Ctrl-C stops the simulator (its data lives in memory only).",
    ]
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with server, contextlib.suppress(KeyboardInterrupt):
        click.echo("\n".join(lines))
        while not stop.wait(0.5):
            pass
    click.echo("Simulator stopped.")
