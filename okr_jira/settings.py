"""Settings: environment variables prefixed OKR_JIRA_, over an optional TOML file.

Read once at start-up (`load_settings`) and passed in; nothing reads the environment at import time.
Precedence: explicit values > environment > TOML file > defaults.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from okr_jira.errors import ConfigError

Flavor = Literal["auto", "cloud", "datacenter"]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# Values people leave in copied examples; refusing them beats a confusing 401 later.
_PLACEHOLDERS = frozenset({
    "changeme", "change-me", "change_me", "changethis", "change-this", "replaceme", "replace-me",
    "secret", "token", "password", "apitoken", "api-token", "api_token", "placeholder", "todo",
    "tbd", "fixme", "example", "dummy", "none", "null", "your-token", "your_token", "yourtoken",
})  # fmt: skip
# `<your-token>`, `${TOKEN}`, `{{ token }}`, `[token]`, `your-api-token`, `xxxx`, `****`, `...`
_PLACEHOLDER_SHAPES = re.compile(
    r"^(<.*>|\$\{.*\}|\{\{.*\}\}|\[.*\]|your[-_ ].*|(.)\2{2,})$", re.IGNORECASE
)


def is_placeholder(value: str) -> bool:
    """A value copied from an example and never replaced: changeme, <your-token>, xxx, ..."""
    text = value.strip().lower()
    return text in _PLACEHOLDERS or bool(_PLACEHOLDER_SHAPES.match(text))


# Secrets okr-jira itself checks (the webhook secret, the admin token) are at least this long.
MIN_SECRET = 16
MIN_SECRET_LENGTH = 32


def weak_secret(value: str) -> bool:
    """Too short, or too few distinct characters to be random (aaaa..., 1212...)."""
    return len(value) < MIN_SECRET_LENGTH or len(set(value)) < 8


def split_list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OKR_JIRA_", extra="forbid", frozen=True)

    database_url: str = Field(
        default="sqlite:///okr-jira.db",
        description="SQLAlchemy URL: SQLite (default, one node) or postgresql+psycopg://...",
    )
    okr_file: str | None = Field(default=None, description="The OKR file the scheduler applies.")

    jira_url: str | None = Field(default=None, description="Jira base URL.")
    jira_user: str | None = Field(default=None, description="Jira Cloud account e-mail.")
    jira_token: SecretStr | None = Field(
        default=None, description="Jira Cloud API token, or Data Center personal access token."
    )
    jira_flavor: Flavor = Field(
        default="auto",
        description=(
            "cloud, datacenter, or auto: *.atlassian.net is Cloud, a token without a user "
            "Data Center, else serverInfo tells (once per site)."
        ),
    )

    jira_remote_links: bool = Field(
        default=False,
        description=(
            "Write a Jira remote link on every issue that counts toward a key result, to the key "
            "result's page (needs Confluence or OKR_JIRA_PUBLIC_URL, and the Link issues "
            "permission)."
        ),
    )
    public_url: str | None = Field(
        default=None,
        description=(
            "okr-jira's own URL as people reach it: remote links point at its key result pages "
            "when Confluence is not configured."
        ),
    )

    confluence_url: str | None = Field(
        default=None, description="Cloud: https://SITE.atlassian.net/wiki; Data Center: base URL."
    )
    confluence_user: str | None = Field(
        default=None, description="Confluence Cloud account e-mail."
    )
    confluence_token: SecretStr | None = Field(
        default=None, description="Confluence API token or PAT."
    )
    confluence_space: str | None = Field(default=None, description="Space key the pages go to.")
    confluence_parent: str | None = Field(
        default=None, description="Parent page: a page id or a page title in the space."
    )
    confluence_flavor: Flavor = Field(default="auto", description="auto, cloud or datacenter.")

    time_zone: str | None = Field(
        default=None,
        description=(
            "IANA time zone the site's days are counted in (reconstructed history, tree --at, "
            "charts); default: the Jira account's (/myself, asked once), else UTC."
        ),
    )

    webhook_secret: SecretStr | None = Field(
        default=None, description="HMAC secret Jira signs webhooks with (X-Hub-Signature)."
    )
    admin_token: SecretStr | None = Field(
        default=None, description="A bearer token with the admin role (besides `okr-jira tokens`)."
    )
    session_secret: SecretStr | None = Field(
        default=None,
        description=(
            "Signs the web app's session cookies (32+ random characters, e.g. "
            "`openssl rand -hex 32`); the web server refuses to start without it."
        ),
    )
    proxy_user_header: str | None = Field(
        default=None,
        description=(
            "Header a trusted reverse proxy names the signed-in user in (SSO), e.g. "
            "X-Forwarded-User; honoured only from TRUSTED_PROXIES."
        ),
    )
    trusted_proxies: str = Field(
        default="",
        description="Comma-separated addresses or networks of the reverse proxies trusted.",
    )
    proxy_admins: str = Field(
        default="",
        description="Comma-separated proxy user names with the admin role (others read).",
    )

    sync_interval_minutes: int = Field(default=15, ge=1, description="Incremental sync interval.")
    full_sync_hour: int = Field(
        default=2, ge=0, le=23, description="Hour (UTC) of the nightly full sync."
    )
    inbox_interval_seconds: float = Field(
        default=2.0, gt=0, description="Webhook inbox poll interval."
    )
    publish_debounce_seconds: float = Field(
        default=60.0,
        ge=0,
        description=(
            "A change waits at most this long to be published; changes within it publish once."
        ),
    )
    http_timeout_seconds: float = Field(
        default=30.0, gt=0, description="Timeout of every HTTP call."
    )
    http_max_retries: int = Field(
        default=5, ge=0, le=20, description="Retries on 429/5xx/timeouts."
    )
    http_max_in_flight: int = Field(
        default=4, ge=1, le=64, description="Concurrent requests bound."
    )
    pace_on_track: float = Field(default=0.10, ge=0, le=1, description="Allowed lag behind pace.")
    pace_at_risk: float = Field(default=0.25, ge=0, le=1, description="Lag beyond which off track.")
    health_scope_change: float = Field(
        default=0.25,
        gt=0,
        description=(
            "Signal scope_change when an issues KR's total weight moved by more than this share "
            "of its baseline."
        ),
    )
    health_jump: float = Field(
        default=0.3,
        gt=0,
        le=1,
        description="Signal jump when progress moves by more than this between two records.",
    )
    health_stale_checkin_days: int = Field(
        default=14,
        ge=1,
        description="Signal stale_checkin when a manual KR has no check-in for this many days.",
    )
    inbox_retention_days: int = Field(
        default=14, ge=1, description="Applied webhook events are pruned after this many days."
    )
    webhook_max_bytes: int = Field(
        default=1024 * 1024, ge=1024, description="Request body limit (webhooks, OKR files)."
    )
    http_idle_timeout_seconds: float = Field(
        default=30.0, gt=0, description="`run`/`serve` close a connection silent this long."
    )
    smtp_host: str | None = Field(
        default=None, description="SMTP server for e-mailed digests and reminders."
    )
    smtp_port: int = Field(default=587, ge=1, le=65535, description="SMTP port.")
    smtp_from: str | None = Field(default=None, description="Sender address of the e-mails.")
    smtp_user: str | None = Field(default=None, description="SMTP login (optional).")
    smtp_password: SecretStr | None = Field(default=None, description="SMTP password.")
    smtp_security: Literal["starttls", "tls", "none"] = Field(
        default="starttls",
        description="starttls, tls (implicit, port 465), or none (a local relay; no password).",
    )
    digest_weekday: Weekday = Field(
        default="mon", description="Day the weekly digests go out (mon..sun)."
    )
    reminder_weekday: Weekday = Field(
        default="thu",
        description="Day teams with no check-in this week are reminded (mon..sun).",
    )
    notify_hour: int = Field(
        default=9, ge=0, le=23, description="Hour (UTC) digests and reminders go out."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="WARNING",
        description="DEBUG, INFO (shows job runs), WARNING or ERROR.",
    )
    log_format: Literal["text", "json"] = Field(
        default="text", description="text (key=value lines) or json (one object per line)."
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _level_upper(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("digest_weekday", "reminder_weekday", mode="before")
    @classmethod
    def _weekday_lower(cls, value: object) -> object:
        return value.strip().lower()[:3] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _smtp_password_never_in_clear(self) -> Settings:
        if self.smtp_security == "none" and self.smtp_password is not None:
            raise ValueError(
                "OKR_JIRA_SMTP_PASSWORD is set but OKR_JIRA_SMTP_SECURITY is none: the password "
                "would cross the network in clear; use starttls or tls"
            )
        return self

    @model_validator(mode="after")
    def _links_have_a_target(self) -> Settings:
        if not self.jira_remote_links:
            return self
        if not self.jira_url:
            raise ValueError("OKR_JIRA_JIRA_REMOTE_LINKS needs OKR_JIRA_JIRA_URL")
        if not (self.confluence_url and self.confluence_space) and not self.public_url:
            raise ValueError(
                "OKR_JIRA_JIRA_REMOTE_LINKS needs a page to link to: Confluence "
                "(OKR_JIRA_CONFLUENCE_URL and OKR_JIRA_CONFLUENCE_SPACE) or OKR_JIRA_PUBLIC_URL"
            )
        return self

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        try:
            ZoneInfo(value.strip())
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("is not an IANA time zone (like Europe/Paris or UTC)") from None
        return value.strip()

    @field_validator(
        "jira_token",
        "confluence_token",
        "webhook_secret",
        "admin_token",
        "smtp_password",
        "session_secret",
    )
    @classmethod
    def _no_placeholder(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and is_placeholder(value.get_secret_value()):
            raise ValueError(
                "holds a placeholder (an example value like changeme, <your-token> or xxx), "
                "not a real secret; set the real value"
            )
        return value

    @field_validator("webhook_secret", "admin_token")
    @classmethod
    def _strong(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value().strip()) < MIN_SECRET:
            raise ValueError(
                f"must be at least {MIN_SECRET} characters (e.g. `openssl rand -hex 24`)"
            )
        return value

    @field_validator("session_secret")
    @classmethod
    def _strong_session_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and weak_secret(value.get_secret_value()):
            raise ValueError(
                f"is too weak: use {MIN_SECRET_LENGTH}+ random characters "
                "(e.g. `openssl rand -hex 32`)"
            )
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: str) -> str:
        for item in split_list(value):
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not an address or network") from None
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: settings file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    known = set(Settings.model_fields)
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"{path}: unknown setting(s): {', '.join(unknown)}")
    return data


def load_settings(config_file: str | os.PathLike[str] | None = None, **overrides: Any) -> Settings:
    """Settings from the TOML file (argument or OKR_JIRA_CONFIG), the environment and overrides.

    Errors name the setting but never echo its value: tokens must not leak into terminals or logs.
    """
    path = config_file or os.environ.get("OKR_JIRA_CONFIG")
    file_values = _read_toml(Path(path)) if path else {}
    env_names = {f"OKR_JIRA_{name.upper()}" for name in Settings.model_fields}
    # The environment wins over the file: drop file values the environment sets.
    values = {k: v for k, v in file_values.items() if f"OKR_JIRA_{k.upper()}" not in os.environ}
    values.update(overrides)
    try:
        return Settings(**values)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            if not err["loc"]:  # a rule across settings names them in its message
                lines.append(f"settings: {err['msg'].removeprefix('Value error, ')}")
                continue
            name = ".".join(str(p) for p in err["loc"])
            source = (
                "environment"
                if f"OKR_JIRA_{name.upper()}" in env_names & set(os.environ)
                else (str(path) if path and name in file_values else "settings")
            )
            message = err["msg"].removeprefix("Value error, ")
            lines.append(f"{source}: OKR_JIRA_{name.upper()}: {message}")
        raise ConfigError("\n".join(lines)) from None


def redact(settings: Settings) -> dict[str, Any]:
    """Settings as a dict safe to print: secrets masked."""
    out: dict[str, Any] = {}
    for name in Settings.model_fields:
        value = getattr(settings, name)
        out[name] = "********" if isinstance(value, SecretStr) else value
    return out


def reference_markdown() -> str:
    """The settings table of the README, generated from the fields (a test keeps them equal)."""
    rows = ["| variable | default | what it is |", "|---|---|---|"]
    for name, info in Settings.model_fields.items():
        default = info.default
        shown = (
            "(secret)"
            if info.annotation is not None and "SecretStr" in str(info.annotation)
            else ("" if default is None else f"`{default}`")
        )
        rows.append(f"| `OKR_JIRA_{name.upper()}` | {shown} | {info.description or ''} |")
    return "\n".join(rows)
