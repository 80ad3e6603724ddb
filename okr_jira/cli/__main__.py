"""`python -m okr_jira.cli`: the same as the `okr-jira` command."""

from okr_jira.cli import main

main()
