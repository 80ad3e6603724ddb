"""A pure JQL parser and evaluator: the simulator answers searches with it, and the sync uses it
to evaluate a KR's raw JQL over stored snapshots when that gives exactly Jira's answer."""

from okr_jira.jql.errors import JqlError
from okr_jira.jql.fields import LOCAL_FIELDS
from okr_jira.jql.parser import parse_jql
from okr_jira.jql.query import JqlIssue, JqlQuery, is_local_subset
from okr_jira.jql.values import check_values

__all__ = [
    "LOCAL_FIELDS",
    "JqlError",
    "JqlIssue",
    "JqlQuery",
    "check_values",
    "is_local_subset",
    "parse_jql",
]
