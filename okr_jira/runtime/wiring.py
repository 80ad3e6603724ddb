"""The one place okr-jira is assembled from its settings.

Every entry point (`run`, `serve`, `worker`, `scheduler`, `demo`, the admin API and each CLI
command) takes its adapters, worker options, pace and guardrail thresholds from a `Wiring`, so
the processes people run apply webhooks, sync, judge pace and health, and publish exactly as the
tested paths do.
Credentials are read from Settings here and nowhere else.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from sqlalchemy import Engine

from okr_jira.adapters.channels import (
    SlackWebhook,
    SmtpConfig,
    SmtpMailer,
    TeamsWebhook,
    Transport,
    TransportError,
    fingerprint,
)
from okr_jira.adapters.confluence import ConfluenceAdapter, make_client
from okr_jira.adapters.confluence_flavor import detect_flavor
from okr_jira.adapters.http import RequestStats, RetryPolicy, make_session
from okr_jira.adapters.jira import JiraAdapter
from okr_jira.adapters.jira_fields import FieldMap
from okr_jira.domain.health import GuardrailThresholds
from okr_jira.domain.matching import KrMatcher, RemoteMatch
from okr_jira.domain.models import PaceThresholds
from okr_jira.errors import ConfigError
from okr_jira.inbox.worker import WorkerOptions
from okr_jira.notify import Resolver
from okr_jira.publish.context import ContextOptions
from okr_jira.publish.debounce import request_publish
from okr_jira.publish.publisher import Publisher
from okr_jira.settings import Settings
from okr_jira.storage.db import make_engine
from okr_jira.storage.tables import utcnow
from okr_jira.sync import Progress, Syncer, remote_matcher
from okr_jira.sync.golden_thread import (
    LinkSummary,
    LinkTarget,
    request_remote_links,
    sync_remote_links,
)


def retry_policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(
        timeout=settings.http_timeout_seconds,
        max_retries=settings.http_max_retries,
        max_in_flight=settings.http_max_in_flight,
    )


def check_policy(settings: Settings) -> RetryPolicy:
    """`check-config` answers in seconds: a short timeout and one quick retry (a closed port or
    a wrong host is reported at once, not after the service's patient backoff)."""
    return RetryPolicy(
        timeout=min(settings.http_timeout_seconds, 10.0),
        max_retries=min(settings.http_max_retries, 1),
        backoff_base=0.2,
        backoff_cap=1.0,
        max_retry_after=5.0,
        max_in_flight=2,
    )


def channel_policy(settings: Settings) -> RetryPolicy:
    """Slack, Teams: short timeouts, a few retries (429 after its Retry-After, if short), URLs
    never logged. What is not delivered then is retried later by the outbox."""
    return RetryPolicy(
        timeout=min(settings.http_timeout_seconds, 15.0),
        max_retries=min(settings.http_max_retries, 3),
        max_retry_after=30.0,
        max_in_flight=2,
        log_paths=False,
    )


def smtp_config(settings: Settings) -> SmtpConfig | None:
    if not settings.smtp_host or not settings.smtp_from:
        return None
    return SmtpConfig(
        host=settings.smtp_host,
        port=settings.smtp_port,
        sender=settings.smtp_from,
        user=settings.smtp_user,
        password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        security=settings.smtp_security,
        timeout=min(settings.http_timeout_seconds, 30.0),
    )


def make_resolver(settings: Settings, environ: Mapping[str, str] | None = None) -> Resolver:
    """Channel name -> its transport. Webhook URLs are read from the environment variables the
    OKR file names, when a message is sent (a rotated URL applies at once); never stored."""
    env = os.environ if environ is None else environ
    policy = channel_policy(settings)
    session = make_session(policy)

    def resolve(channel: str, payload: dict[str, object]) -> tuple[Transport, str]:
        kind, _, name = channel.partition(":")
        if kind in ("slack", "teams"):
            url = (env.get(name) or "").strip()
            service = "Slack" if kind == "slack" else "Teams"
            if not url:
                raise TransportError(
                    f"environment variable {name} (the {service} webhook URL) is not set",
                    permanent=True,
                )
            if not url.startswith(("https://", "http://")):
                raise TransportError(f"environment variable {name} is not a URL", permanent=True)
            hook = SlackWebhook if kind == "slack" else TeamsWebhook
            return hook(url, session, timeout=policy.timeout), fingerprint(url)
        if kind == "email":
            config = smtp_config(settings)
            if config is None:
                raise TransportError(
                    "e-mail needs OKR_JIRA_SMTP_HOST and OKR_JIRA_SMTP_FROM", permanent=True
                )
            recipients = [str(r) for r in payload.get("to") or []]  # type: ignore[attr-defined]
            return SmtpMailer(config), fingerprint(config.host, str(config.port), *recipients)
        raise TransportError(f"unknown channel {channel}", permanent=True)

    return resolve


def thresholds(settings: Settings) -> PaceThresholds:
    return PaceThresholds(on_track=settings.pace_on_track, at_risk=settings.pace_at_risk)


def guardrails(settings: Settings) -> GuardrailThresholds:
    return GuardrailThresholds(
        scope_change=settings.health_scope_change,
        jump=settings.health_jump,
        stale_checkin_days=settings.health_stale_checkin_days,
    )


def make_jira(settings: Settings, *, policy: RetryPolicy | None = None) -> JiraAdapter:
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
        policy=policy or retry_policy(settings),
    )


def confluence_credentials(settings: Settings) -> tuple[str, str | None, str]:
    """(url, user, token) of the configured Confluence; ConfigError naming what is missing."""
    if not settings.confluence_url:
        raise ConfigError("OKR_JIRA_CONFLUENCE_URL is not set")
    if settings.confluence_token is None:
        raise ConfigError(
            "OKR_JIRA_CONFLUENCE_TOKEN is not set (Cloud API token or Data Center PAT)"
        )
    return (
        settings.confluence_url,
        settings.confluence_user,
        settings.confluence_token.get_secret_value(),
    )


def detect_confluence_flavor(
    settings: Settings, *, policy: RetryPolicy | None = None
) -> Literal["cloud", "datacenter"]:
    """What the configured Confluence answers like, asked even when the flavor is configured
    (check-config compares the two)."""
    url, user, token = confluence_credentials(settings)
    session = make_session(policy or retry_policy(settings))
    return detect_flavor(url, user=user, token=token, session=session)


def make_confluence(
    settings: Settings,
    *,
    stats: RequestStats | None = None,
    policy: RetryPolicy | None = None,
    flavor: Literal["cloud", "datacenter"] | None = None,
) -> ConfluenceAdapter:
    """The Confluence adapter; with flavor "auto" one probe request decides Cloud or Data Center
    (see `adapters/confluence_flavor.py`): the client class never follows the host name.
    `flavor`: already detected (no second probe)."""
    url, user, token = confluence_credentials(settings)
    policy = policy or retry_policy(settings)
    stats = stats or RequestStats()
    configured = flavor or settings.confluence_flavor
    if configured == "auto":
        flavor = detect_flavor(url, user=user, token=token, session=make_session(policy, stats))
    else:
        flavor = configured
    if flavor == "cloud" and not user:
        raise ConfigError("Confluence Cloud needs OKR_JIRA_CONFLUENCE_USER (the account e-mail)")
    client = make_client(flavor, url, token=token, user=user, policy=policy, stats=stats)
    return ConfluenceAdapter(client)


@dataclass
class Wiring:
    """A process's assembly: settings read once, the engine, and what is built from them (each
    adapter built on first use and kept for the life of the process)."""

    settings: Settings
    engine: Engine
    clock: Callable[[], dt.datetime] = utcnow
    # One sync at a time in a process (the one scheduler that leads runs them).
    sync_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _jira: JiraAdapter | None = field(default=None, init=False, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings, *, engine: Engine | None = None) -> Wiring:
        return cls(settings, engine or make_engine(settings.database_url))

    @functools.cached_property
    def thresholds(self) -> PaceThresholds:
        return thresholds(self.settings)

    @functools.cached_property
    def guardrails(self) -> GuardrailThresholds:
        return guardrails(self.settings)

    @property
    def has_jira(self) -> bool:
        return bool(self.settings.jira_url)

    @property
    def has_confluence(self) -> bool:
        return bool(self.settings.confluence_url)

    def jira(self) -> JiraAdapter:
        """The Jira adapter (ConfigError when Jira is not configured)."""
        if self._jira is None:
            self._jira = make_jira(self.settings)
        return self._jira

    def syncer(self, *, progress: Progress | None = None) -> Syncer:
        return Syncer(
            self.engine, self.jira(), thresholds=self.thresholds, guardrails=self.guardrails,
            progress=progress, clock=self.clock, time_zone=self.settings.time_zone,
        )  # fmt: skip

    def worker_options(self) -> WorkerOptions:
        """How every worker applies webhook events: with the site's fields and Jira to answer JQL
        only it can, when Jira is configured; as the last sync stored them otherwise."""
        options = WorkerOptions(
            thresholds=self.thresholds,
            max_idle_seconds=self.settings.inbox_interval_seconds,
            # A batch that moved some KR asks for a publish and, if on, for remote links.
            on_progress=self.request_publish
            if self.has_confluence or self.settings.jira_remote_links
            else None,
        )
        if not self.has_jira:
            return options

        def fields() -> FieldMap | None:
            return self.jira().fields()

        def remote(matchers: Sequence[KrMatcher]) -> RemoteMatch | None:
            return remote_matcher(self.jira(), matchers)

        return replace(options, fields=fields, remote=remote)

    def request_publish(self, *, links: bool = True) -> None:
        """Note that progress changed: the publish job publishes once the window has passed.
        `links`: the scope or the OKRs may have changed too, so Jira's remote links are
        brought in step as well (when they are on)."""
        now = self.clock()
        request_publish(self.engine, now=now)
        if links and self.settings.jira_remote_links:
            request_remote_links(self.engine, now=now)

    def remote_link_target(self) -> LinkTarget | None:
        """Where Jira's remote links point, None when OKR_JIRA_JIRA_REMOTE_LINKS is off."""
        s = self.settings
        if not s.jira_remote_links:
            return None
        if s.confluence_url and s.confluence_space:
            return LinkTarget(confluence=True)
        return LinkTarget(confluence=False, web_url=s.public_url)

    def sync_remote_links(self, *, dry_run: bool = False) -> LinkSummary | None:
        """Bring Jira's remote links in step with the scope; None when they are off."""
        target = self.remote_link_target()
        if target is None:
            return None
        return sync_remote_links(
            self.engine, self.jira(), target, now=self.clock(), dry_run=dry_run
        )

    def context_options(self) -> ContextOptions:
        return ContextOptions(
            thresholds=self.thresholds,
            space_key=self.settings.confluence_space or "",
            jira_base_url=self.settings.jira_url or "",
        )

    def publisher(self) -> Publisher:
        """A Publisher for the configured space and parent page; Confluence is reached lazily."""
        s = self.settings
        if not s.confluence_space:
            raise ConfigError("OKR_JIRA_CONFLUENCE_SPACE is not set (the space key pages go to)")
        return Publisher(
            self.engine,
            lambda: make_confluence(s),
            space=s.confluence_space,
            parent=s.confluence_parent or None,
            options=self.context_options(),
            site=s.confluence_url or "",
            clock=self.clock,
            workers=s.http_max_in_flight,
        )

    def preview_publisher(self) -> Publisher:
        """A Publisher that only renders (the HTML preview): it never reaches Confluence."""
        return Publisher(
            self.engine, _no_confluence, space="", parent=None,
            options=self.context_options(), clock=self.clock,
        )  # fmt: skip

    def confluence(self) -> ConfluenceAdapter:
        return make_confluence(self.settings)

    @functools.cached_property
    def resolver(self) -> Resolver:
        """Where notification channels are reached (built once: one HTTP session)."""
        return make_resolver(self.settings)

    def page_url(self) -> Callable[[str], str] | None:
        """A published page's URL from its id (Cloud and Data Center alike), for digest links."""
        base = (self.settings.confluence_url or "").rstrip("/")
        if not base:
            return None
        return lambda page_id: f"{base}/pages/viewpage.action?pageId={page_id}"

    def dispose(self) -> None:
        self.engine.dispose()


def _no_confluence() -> ConfluenceAdapter:
    raise ConfigError("the HTML preview never talks to Confluence")  # pragma: no cover
