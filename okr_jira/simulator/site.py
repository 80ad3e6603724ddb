"""One simulated site to try okr-jira against (`okr-jira simulator`): Jira with generated issues,
Confluence with the space `OKR` and its page `OKRs`, and what to paste to point okr-jira at it."""

from __future__ import annotations

from typing import Literal

from okr_jira.simulator.confluence import ConfluenceSim
from okr_jira.simulator.datagen import Size, generate
from okr_jira.simulator.server import SimulatorServer

SPACE = "OKR"
PARENT = "OKRs"  # the page the OKR tree goes under, as an admin would have made it


def build_site(
    flavor: Literal["cloud", "datacenter"],
    *,
    size: Size = "small",
    seed: int = 0,
    host: str = "127.0.0.1",
    port: int = 0,
) -> SimulatorServer:
    """The site, not started yet (the port is bound: `server.url` is final)."""
    confluence = ConfluenceSim((SPACE,), cloud=flavor == "cloud")
    confluence.add_page(SPACE, PARENT, "<p>Our objectives and key results.</p>")
    jira = generate(size, seed=seed, flavor=flavor)
    return SimulatorServer(flavor, jira=jira, confluence=confluence, host=host, port=port)


def settings_lines(server: SimulatorServer, *, okr_jira_url: str) -> list[str]:
    """The `export OKR_JIRA_...` lines that point okr-jira at `server` (`okr_jira_url`: where
    `okr-jira run` listens, the URL the simulated Jira delivers webhooks to)."""
    creds = server.credentials
    jira = [f"OKR_JIRA_JIRA_URL={server.url}"]
    confluence = [f"OKR_JIRA_CONFLUENCE_URL={server.confluence_url}"]
    if server.flavor == "cloud":
        jira += [f"OKR_JIRA_JIRA_USER={creds.email}", f"OKR_JIRA_JIRA_TOKEN={creds.api_token}"]
        confluence += [
            f"OKR_JIRA_CONFLUENCE_USER={creds.email}",
            f"OKR_JIRA_CONFLUENCE_TOKEN={creds.api_token}",
        ]
    else:
        jira += [f"OKR_JIRA_JIRA_TOKEN={creds.pat}"]
        confluence += [f"OKR_JIRA_CONFLUENCE_TOKEN={creds.pat}"]
    return [
        "export " + " ".join(jira),
        "export " + " ".join(confluence),
        f"export OKR_JIRA_CONFLUENCE_SPACE={SPACE} OKR_JIRA_CONFLUENCE_PARENT={PARENT}",
        f"export OKR_JIRA_PUBLIC_URL={okr_jira_url}",
    ]
