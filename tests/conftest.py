"""Fixtures live in tests/support/, loaded here as plugins (import helpers from there too)."""

pytest_plugins = [
    "tests.support.database",
    "tests.support.atlassian_host",
    "tests.support.simulator",
    "tests.support.inbox_world",
    "tests.support.channels",
]
