"""The running service: the wiring (the one place okr-jira is assembled from its settings), the
scheduler's jobs, leader election and the long-running processes."""
