"""okr-jira: OKR key results that follow the real state of the work in Jira."""

__version__ = "0.1.0"
