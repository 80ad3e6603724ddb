"""Which issues are in which KR's scope, kept in step with the issue snapshots."""

from okr_jira.scope.changes import ScopeRules, apply_issue_changes, load_rules
from okr_jira.scope.links import ScopeChange, reconcile, relink

__all__ = ["ScopeChange", "ScopeRules", "apply_issue_changes", "load_rules", "reconcile", "relink"]
