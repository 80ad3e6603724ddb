"""Stored state -> the computed tree of a cycle, its recorded history and its review."""

from okr_jira.report.evaluate import evaluate_cycle, kr_states
from okr_jira.report.record import record_affected, record_report

__all__ = ["evaluate_cycle", "kr_states", "record_affected", "record_report"]
