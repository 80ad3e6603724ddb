"""Builds adapters from settings (the one place credentials are read from Settings)."""

from __future__ import annotations

from okr_jira.adapters.http import RetryPolicy
from okr_jira.adapters.jira import JiraAdapter
from okr_jira.errors import ConfigError
from okr_jira.settings import Settings


def retry_policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(
        timeout=settings.http_timeout_seconds,
        max_retries=settings.http_max_retries,
        max_in_flight=settings.http_max_in_flight,
    )


def make_jira(settings: Settings) -> JiraAdapter:
    if not settings.jira_url:
        raise ConfigError("OKR_JIRA_JIRA_URL is not set")
    if settings.jira_token is None:
        raise ConfigError("OKR_JIRA_JIRA_TOKEN is not set (Cloud API token or Data Center PAT)")
    if settings.jira_flavor == "cloud" and not settings.jira_user:
        raise ConfigError("Jira Cloud needs OKR_JIRA_JIRA_USER (the account e-mail)")
    return JiraAdapter(
        settings.jira_url,
        user=settings.jira_user,
        token=settings.jira_token.get_secret_value(),
        flavor=settings.jira_flavor,
        policy=retry_policy(settings),
    )
