"""Settings come from OKR_JIRA_* variables over a TOML file; secrets never show."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from okr_jira.cli import main
from okr_jira.errors import ConfigError
from okr_jira.settings import load_settings, redact
from tests.support.paths import ROOT


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("OKR_JIRA_"):
            monkeypatch.delenv(name)


def test_defaults_use_an_sqlite_file_in_the_working_directory() -> None:
    s = load_settings()
    assert s.database_url == "sqlite:///okr-jira.db"
    assert s.jira_flavor == "auto"


def test_example_toml_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    s = load_settings(ROOT / "config" / "okr-jira.example.toml")
    assert s.confluence_space == "OKR" and s.jira_url == "https://acme.atlassian.net"


def test_environment_wins_over_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "s.toml"
    f.write_text('database_url = "sqlite:///from-file.db"\nsync_interval_minutes = 7\n')
    monkeypatch.setenv("OKR_JIRA_DATABASE_URL", "sqlite:///from-env.db")
    s = load_settings(f)
    assert s.database_url == "sqlite:///from-env.db" and s.sync_interval_minutes == 7
    monkeypatch.setenv("OKR_JIRA_CONFIG", str(f))
    monkeypatch.delenv("OKR_JIRA_DATABASE_URL")
    assert load_settings().database_url == "sqlite:///from-file.db"


def test_unknown_key_in_file_is_named(tmp_path: Path) -> None:
    f = tmp_path / "s.toml"
    f.write_text('jira_tokn = "abc"\n')
    with pytest.raises(ConfigError, match=r"s.toml: unknown setting\(s\): jira_tokn"):
        load_settings(f)


def test_invalid_value_names_the_setting_but_not_the_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OKR_JIRA_JIRA_TOKEN", "changeme")
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert "OKR_JIRA_JIRA_TOKEN" in str(info.value) and "placeholder" in str(info.value)
    monkeypatch.setenv("OKR_JIRA_JIRA_TOKEN", "s3cr3t-token-value")
    monkeypatch.setenv("OKR_JIRA_SYNC_INTERVAL_MINUTES", "soon")
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert "OKR_JIRA_SYNC_INTERVAL_MINUTES" in str(info.value)
    assert "s3cr3t-token-value" not in str(info.value)


def test_secrets_are_masked_in_repr_and_redacted_view(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OKR_JIRA_JIRA_TOKEN", "s3cr3t-token-value")
    monkeypatch.setenv("OKR_JIRA_WEBHOOK_SECRET", "hook-s3cr3t-long-enough")
    s = load_settings()
    assert "s3cr3t" not in repr(s) and "s3cr3t" not in str(redact(s))
    assert s.jira_token is not None and s.jira_token.get_secret_value() == "s3cr3t-token-value"


def test_broken_settings_file_is_a_clear_cli_error(tmp_path: Path) -> None:
    f = tmp_path / "s.toml"
    f.write_text("database_url = \n")
    result = CliRunner().invoke(main, ["--config", str(f), "tree"])
    assert result.exit_code == 1
    assert str(f) in result.output


def test_remote_links_need_a_page_to_point_at_and_the_time_zone_must_exist() -> None:
    from okr_jira.errors import ConfigError

    with pytest.raises(ConfigError, match="OKR_JIRA_PUBLIC_URL"):
        load_settings(None, jira_url="https://j.example", jira_remote_links=True)
    ok = load_settings(
        None, jira_url="https://j.example", jira_remote_links=True, public_url="https://okr"
    )
    assert ok.jira_remote_links
    with pytest.raises(ConfigError, match=r"OKR_JIRA_TIME_ZONE: .*IANA"):
        load_settings(None, time_zone="Mars/Olympus")
    assert load_settings(None, time_zone=" Asia/Tokyo ").time_zone == "Asia/Tokyo"
