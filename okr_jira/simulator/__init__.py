"""A local simulator of the Jira (and, with okr_jira.simulator.confluence, Confluence) REST
APIs, in Cloud or Data Center flavor, for tests, benchmarks and the demo."""

from okr_jira.simulator.datagen import generate
from okr_jira.simulator.faults import Faults, Stats
from okr_jira.simulator.jira import JiraSim, SimEvent
from okr_jira.simulator.server import Credentials, SimulatorServer, create_app
from okr_jira.simulator.webhooks import sign

__all__ = [
    "Credentials",
    "Faults",
    "JiraSim",
    "SimEvent",
    "SimulatorServer",
    "Stats",
    "create_app",
    "generate",
    "sign",
]
