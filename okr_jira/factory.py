"""Builds adapters from settings (the one place credentials are read from Settings)."""

from __future__ import annotations

from okr_jira.adapters.confluence import ConfluenceAdapter, make_client
from okr_jira.adapters.confluence_flavor import detect_flavor
from okr_jira.adapters.http import RequestStats, RetryPolicy, make_session
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


def make_confluence(settings: Settings, *, stats: RequestStats | None = None) -> ConfluenceAdapter:
    """The Confluence adapter; with flavor "auto" one probe request decides Cloud or Data Center
    (see `adapters/confluence_flavor.py`): the client class never follows the host name."""
    if not settings.confluence_url:
        raise ConfigError("OKR_JIRA_CONFLUENCE_URL is not set")
    if settings.confluence_token is None:
        raise ConfigError(
            "OKR_JIRA_CONFLUENCE_TOKEN is not set (Cloud API token or Data Center PAT)"
        )
    token = settings.confluence_token.get_secret_value()
    user = settings.confluence_user
    policy = retry_policy(settings)
    stats = stats or RequestStats()
    flavor = settings.confluence_flavor
    if flavor == "auto":
        flavor = detect_flavor(
            settings.confluence_url, user=user, token=token, session=make_session(policy, stats)
        )
    if flavor == "cloud" and not user:
        raise ConfigError("Confluence Cloud needs OKR_JIRA_CONFLUENCE_USER (the account e-mail)")
    client = make_client(
        flavor, settings.confluence_url, token=token, user=user, policy=policy, stats=stats
    )
    return ConfluenceAdapter(client)
