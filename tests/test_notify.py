"""Digests and reminders reach Slack, Teams and e-mail: against local fake webhooks (loopback HTTP
answering 200, 400, 404, 429 with Retry-After, 5xx) and a local SMTP server (aiosmtpd)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from okr_jira.notify import deliver, enqueue_digests, enqueue_reminders
from okr_jira.okrs.file import load_okr_file
from okr_jira.okrs.plan import apply_plan, make_plan
from okr_jira.runtime.checkconfig import check_config
from okr_jira.runtime.wiring import make_resolver
from okr_jira.settings import Settings, load_settings
from okr_jira.storage import outbox
from okr_jira.storage.checkins import add_checkin
from okr_jira.storage.db import session_scope
from okr_jira.storage.okrs import load_okrs
from okr_jira.storage.tables import ChannelRow, OutboxRow
from tests.support.builders import THRESHOLDS
from tests.support.channels import Answer, Hooks, Mailbox
from tests.support.paths import EXAMPLE_OKRS, ROOT
from tests.support.service import BIN
from webhooks.metrics import render_metrics

# A Tuesday inside the example's cycle (2026-Q4).
NOW = dt.datetime(2026, 11, 17, 9, 30, tzinfo=dt.UTC)
SECRET_PART = "XXXXsecretXXXX"  # in every fake webhook URL: must never show anywhere


def okr_text() -> str:
    """The example OKRs with channels: the company gets the whole tree's digest (Slack, Teams,
    e-mail), Support its own (Slack, e-mail)."""
    text = EXAMPLE_OKRS.read_text(encoding="utf-8")
    text = text.replace(
        "  - {key: acme, name: Acme}",
        "  - key: acme\n    name: Acme\n    notify:\n"
        "      slack: {webhook_env: OKR_TEST_SLACK_ACME}\n"
        "      teams: {webhook_env: OKR_TEST_TEAMS_ACME}\n"
        "      email: [leads@acme.example]",
    )
    return text.replace(
        "  - {key: support, name: Support, parent: cx, jira_projects: [SUP]}",
        "  - key: support\n    name: Support\n    parent: cx\n    jira_projects: [SUP]\n"
        "    notify: {slack: {webhook_env: OKR_TEST_SLACK_SUP}, email: [support@acme.example]}",
    )


def apply(engine: Engine, tmp_path: Path, text: str | None = None) -> Path:
    path = tmp_path / "okrs.yaml"
    path.write_text(text or okr_text(), encoding="utf-8")
    with session_scope(engine) as session:
        apply_plan(session, make_plan(session, load_okr_file(path)), actor="test", now=NOW)
    return path


def channel_env(hooks: Hooks) -> dict[str, str]:
    return {
        "OKR_TEST_SLACK_ACME": hooks.slack_url("acme"),
        "OKR_TEST_TEAMS_ACME": hooks.teams_url("acme"),
        "OKR_TEST_SLACK_SUP": hooks.slack_url("sup"),
    }


def settings_for(engine: Engine, mailbox: Mailbox | None = None) -> Settings:
    smtp = (
        {"smtp_host": mailbox.host, "smtp_port": mailbox.port, "smtp_from": "okr@acme.example",
         "smtp_security": "none"}
        if mailbox else {}
    )  # fmt: skip
    return load_settings(None, database_url=str(engine.url), http_timeout_seconds=5, **smtp)


def naps() -> tuple[list[float], object]:
    slept: list[float] = []
    return slept, slept.append


def received(hooks: Hooks) -> dict[str, int]:
    counts = {f"slack:{k}": len(h.received) for k, h in hooks.slack.items()}
    return counts | {f"teams:{k}": len(h.received) for k, h in hooks.teams.items()}


def rows(engine: Engine) -> list[OutboxRow]:
    with Session(engine) as s:
        return list(s.exec(select(OutboxRow).order_by(OutboxRow.id)))  # type: ignore[arg-type]


def channel_state(engine: Engine, name: str) -> ChannelRow | None:
    with Session(engine) as s:
        return s.get(ChannelRow, name)


# ----- the service as people run it: `okr-jira digest` -------------------------------------------


def test_a_digest_reaches_every_channel_once_and_a_second_run_that_week_sends_nothing(
    database_url: str, engine: Engine, hooks: Hooks, mailbox: Mailbox, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OKR_JIRA_")}
    env |= channel_env(hooks) | {
        "OKR_JIRA_DATABASE_URL": database_url,
        "OKR_JIRA_SMTP_HOST": mailbox.host,
        "OKR_JIRA_SMTP_PORT": str(mailbox.port),
        "OKR_JIRA_SMTP_FROM": "okr@acme.example",
        "OKR_JIRA_SMTP_SECURITY": "none",
        "OKR_JIRA_LOG_LEVEL": "DEBUG",  # even the most talkative log never shows a URL
    }

    def okr_jira(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(BIN / "okr-jira"), *args], env=env, capture_output=True,
                              text=True, timeout=120, cwd=ROOT)  # fmt: skip

    path = tmp_path / "okrs.yaml"
    path.write_text(okr_text(), encoding="utf-8")
    assert okr_jira("apply", str(path)).returncode == 0
    said = okr_jira("checkin", "SUP-1", "--confidence", "4", "--note", "refunds slipped")
    assert said.returncode == 0, said.stderr

    first = okr_jira("digest")

    assert first.returncode == 0, first.stdout + first.stderr
    assert received(hooks) == {"slack:acme": 1, "slack:sup": 1, "teams:acme": 1}
    assert sorted(rcpt[0] for _, rcpt, _ in mailbox.messages) == [
        "leads@acme.example", "support@acme.example",
    ]  # fmt: skip
    tree = hooks.slack["acme"].payloads[0]
    assert "whole OKR tree" in tree["blocks"][0]["text"]["text"]
    assert len(tree["blocks"]) <= 50
    assert all(len(b["text"]["text"]) <= 3000 for b in tree["blocks"] if b["type"] == "section")
    support = hooks.slack["sup"].payloads[0]
    assert "Support" in support["blocks"][0]["text"]["text"]
    text = str(support)
    assert "SUP-1" in text and "CO-2" not in text  # Support's part of the tree only
    card = hooks.teams["acme"].payloads[0]
    assert card["type"] == "message"
    content = card["attachments"][0]["content"]
    assert content["type"] == "AdaptiveCard" and content["version"] == "1.4"
    sender, _, mail = mailbox.messages[0]
    assert sender == "okr@acme.example" and mail.is_multipart()
    assert [p.get_content_type() for p in mail.get_payload()] == ["text/plain", "text/html"]  # type: ignore[union-attr]

    second = okr_jira("digest")

    assert second.returncode == 0, second.stdout + second.stderr
    assert received(hooks) == {"slack:acme": 1, "slack:sup": 1, "teams:acme": 1}
    assert len(mailbox.messages) == 2
    assert second.stdout.count("already sent this week") == 5
    for out in (first, second, said):
        assert SECRET_PART not in out.stdout + out.stderr

    dry = okr_jira("digest", "--team", "support", "--dry-run")
    assert dry.returncode == 0 and "Would go to: slack:OKR_TEST_SLACK_SUP, email:support" in (
        dry.stdout
    )
    assert "Confidence" in dry.stdout or "SUP-1" in dry.stdout
    assert len(mailbox.messages) == 2 and SECRET_PART not in dry.stdout


# ----- delivery: retries, permanent failures, several senders ------------------------------------


def test_a_429_is_retried_after_its_retry_after(
    engine: Engine, hooks: Hooks, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    apply(engine, tmp_path)
    hooks.slack_url("acme")
    from tests.support.channels import FakeHook

    hooks.slack["acme"] = FakeHook(Answer(200, "ok"), [Answer(429, "rate_limited",
                                                              {"Retry-After": "1"})])  # fmt: skip
    settings = settings_for(engine)
    env = channel_env(hooks)
    enqueue_digests(engine, now=NOW, thresholds=THRESHOLDS, team="acme")

    result = deliver(engine, make_resolver(settings, env), clock=lambda: NOW)

    times = [t for t, _ in hooks.slack["acme"].received]
    assert len(times) == 2 and times[1] - times[0] >= 1.0  # waited as told
    assert [r.status for r in rows(engine) if r.channel == "slack:OKR_TEST_SLACK_ACME"] == ["sent"]
    assert any(key.endswith("slack:OKR_TEST_SLACK_ACME") for key in result.sent)
    state = channel_state(engine, "slack:OKR_TEST_SLACK_ACME")
    assert state is not None and state.state == "ok"


def test_a_5xx_is_retried_later_with_backoff_and_shows_until_it_works(
    engine: Engine, hooks: Hooks, tmp_path: Path
) -> None:
    from tests.support.channels import FakeHook

    apply(engine, tmp_path)
    hooks.slack["sup"] = FakeHook(Answer(200, "ok"), [Answer(500, "rollup_error")])
    settings = settings_for(engine)
    resolve = make_resolver(settings, channel_env(hooks))
    enqueue_digests(engine, now=NOW, thresholds=THRESHOLDS, team="support")

    first = deliver(engine, resolve, clock=lambda: NOW)

    assert [key for key, _ in first.retrying] == [
        "digest:support:2026-W47:slack:OKR_TEST_SLACK_SUP"
    ]
    (row,) = [r for r in rows(engine) if r.channel == "slack:OKR_TEST_SLACK_SUP"]
    assert row.status == "pending" and row.next_attempt_at > NOW
    assert "500 rollup_error" in (row.last_error or "")
    metrics = render_metrics(engine, now=NOW)
    assert 'okr_jira_notify_channel_up{channel="slack:OKR_TEST_SLACK_SUP",state="retrying"' in (
        metrics
    )
    checks = check_config(settings, okrs=_okrs(engine), channels=_channels(engine),
                          environ=channel_env(hooks))  # fmt: skip
    warn = [c for c in checks if c.name == "notify support slack:OKR_TEST_SLACK_SUP"]
    assert warn[0].outcome == "warn" and "rollup_error" in warn[0].detail

    assert deliver(engine, resolve, clock=lambda: NOW).sent == []  # not due yet
    later = NOW + dt.timedelta(hours=3)
    assert len(deliver(engine, resolve, clock=lambda: later).sent) == 1
    assert len(hooks.slack["sup"].received) == 2
    state = channel_state(engine, "slack:OKR_TEST_SLACK_SUP")
    assert state is not None and state.state == "ok"
    assert all(SECRET_PART not in c.detail for c in checks)
    assert SECRET_PART not in render_metrics(engine, now=later)


@pytest.mark.parametrize(("status", "body"), [(400, "invalid_payload"), (404, "channel_not_found")])
def test_a_permanent_failure_stops_the_channel_and_shows_where_an_admin_looks(
    engine: Engine, hooks: Hooks, tmp_path: Path, status: int, body: str
) -> None:
    from tests.support.channels import FakeHook

    apply(engine, tmp_path)
    hooks.slack["sup"] = FakeHook(Answer(status, body))
    env = channel_env(hooks)
    settings = settings_for(engine)
    enqueue_digests(engine, now=NOW, thresholds=THRESHOLDS, team="support")

    result = deliver(engine, make_resolver(settings, env), clock=lambda: NOW)

    slack = [error for key, error in result.failed if "slack" in key]
    assert len(slack) == 1 and body in slack[0]
    assert len(hooks.slack["sup"].received) == 1  # never retried
    state = channel_state(engine, "slack:OKR_TEST_SLACK_SUP")
    assert state is not None and state.state == "dead" and body in (state.last_error or "")
    checks = check_config(settings, okrs=_okrs(engine), channels=_channels(engine), environ=env)
    (check,) = [c for c in checks if c.name == "notify support slack:OKR_TEST_SLACK_SUP"]
    assert check.outcome == "fail" and body in check.detail
    assert 'state="dead"' in render_metrics(engine, now=NOW)

    # Next week nothing goes to the dead channel ...
    week = NOW + dt.timedelta(days=7)
    enqueue_digests(engine, now=week, thresholds=THRESHOLDS, team="support")
    again = deliver(engine, make_resolver(settings, env), clock=lambda: week)
    assert len(hooks.slack["sup"].received) == 1
    assert any("failed for good" in error for key, error in again.failed if "slack" in key)
    # ... until its URL is replaced: then the next message goes out.
    env["OKR_TEST_SLACK_SUP"] = hooks.slack_url("sup2")
    later = week + dt.timedelta(days=7)
    enqueue_digests(engine, now=later, thresholds=THRESHOLDS, team="support")
    final = deliver(engine, make_resolver(settings, env), clock=lambda: later)
    assert [key for key in final.sent if "slack" in key] and len(hooks.slack["sup2"].received) == 1


def test_two_schedulers_enqueue_and_send_each_message_once(
    engine: Engine, hooks: Hooks, mailbox: Mailbox, tmp_path: Path
) -> None:
    apply(engine, tmp_path)
    settings = settings_for(engine, mailbox)
    env = channel_env(hooks)
    # Two schedulers (or one restarted) build this week's digests at different moments.
    enqueue_digests(engine, now=NOW, thresholds=THRESHOLDS)
    enqueue_digests(engine, now=NOW + dt.timedelta(hours=5), thresholds=THRESHOLDS)
    assert len(rows(engine)) == 5
    later = NOW + dt.timedelta(hours=6)
    results = []

    def sender() -> None:
        results.append(deliver(engine, make_resolver(settings, env), clock=lambda: later))

    threads = [threading.Thread(target=sender) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    assert sum(len(r.sent) for r in results) == 5
    assert received(hooks) == {"slack:acme": 1, "slack:sup": 1, "teams:acme": 1}
    assert len(mailbox.messages) == 2
    assert {r.status for r in rows(engine)} == {"sent"}


def test_a_missing_environment_variable_or_smtp_setting_is_said_and_never_guessed(
    engine: Engine, hooks: Hooks, tmp_path: Path
) -> None:
    apply(engine, tmp_path)
    settings = settings_for(engine)  # no SMTP
    enqueue_digests(engine, now=NOW, thresholds=THRESHOLDS, team="acme")

    result = deliver(engine, make_resolver(settings, {}), clock=lambda: NOW)

    errors = dict(result.failed)
    assert any(
        "OKR_TEST_SLACK_ACME (the Slack webhook URL) is not set" in e for e in errors.values()
    )
    assert any("OKR_JIRA_SMTP_HOST" in e for e in errors.values())
    checks = check_config(settings, okrs=_okrs(engine), environ={})
    fails = {
        c.name: c.detail for c in checks if c.outcome == "fail" and c.name.startswith("notify")
    }
    assert fails["notify acme teams:OKR_TEST_TEAMS_ACME"] == (
        "environment variable OKR_TEST_TEAMS_ACME is not set"
    )


def test_reminders_go_to_teams_without_a_check_in_this_week_only(
    engine: Engine, hooks: Hooks, tmp_path: Path
) -> None:
    apply(engine, tmp_path)
    with session_scope(engine) as session:  # Support checked in on Monday
        add_checkin(session=session, objective="SUP-1", confidence=6, note="on it",
                    at=NOW - dt.timedelta(days=1))  # fmt: skip
    queued = enqueue_reminders(engine, now=NOW, thresholds=THRESHOLDS)

    subjects = {message.subject for message, _ in queued.messages}
    assert subjects == {"acme"}  # CO-1 and CO-2 have no check-in; Support's SUP-1 has one
    text = str(queued.messages[0][0])
    assert "CO-1" in text and "CO-2" in text
    assert enqueue_reminders(engine, now=NOW, thresholds=THRESHOLDS).planned[0].new is False


def _okrs(engine: Engine):  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        return load_okrs(session=session)


def _channels(engine: Engine) -> list[ChannelRow]:
    with session_scope(engine) as session:
        return outbox.channels(session=session)


def test_the_scheduler_sends_the_weekly_digest_once_its_day_and_hour_have_come(
    engine: Engine, hooks: Hooks, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from okr_jira.runtime import jobs
    from okr_jira.runtime.scheduler import job_table
    from okr_jira.runtime.wiring import Wiring

    apply(engine, tmp_path)
    for name, value in channel_env(hooks).items():
        monkeypatch.setenv(name, value)
    settings = load_settings(None, database_url=str(engine.url), digest_weekday="tue",
                             notify_hour=10)  # fmt: skip

    def at(moment: dt.datetime) -> Wiring:
        return Wiring(settings, engine, clock=lambda: moment)

    tuesday_early = dt.datetime(2026, 11, 17, 9, 59, tzinfo=dt.UTC)
    assert jobs.weekly_digest(at(tuesday_early)) == 0  # not yet
    assert jobs.weekly_digest(at(dt.datetime(2026, 11, 17, 10, 0, tzinfo=dt.UTC))) == 5
    assert received(hooks) == {"slack:acme": 1, "slack:sup": 1, "teams:acme": 1}
    # A catch-up later in the week (the scheduler was down) finds nothing new to send.
    assert jobs.weekly_digest(at(dt.datetime(2026, 11, 20, 8, tzinfo=dt.UTC))) == 0
    # The next Monday is before this week's Tuesday: nothing is sent early.
    assert jobs.weekly_digest(at(dt.datetime(2026, 11, 23, 8, tzinfo=dt.UTC))) == 0
    assert received(hooks) == {"slack:acme": 1, "slack:sup": 1, "teams:acme": 1}
    ids = {job_id for job_id, *_ in job_table(at(tuesday_early))}
    assert {"weekly_digest", "checkin_reminder", "deliver_notifications"} <= ids


def test_email_is_never_sent_in_clear_when_tls_is_asked(
    engine: Engine, mailbox: Mailbox, tmp_path: Path
) -> None:
    from okr_jira.adapters.channels import SmtpConfig, SmtpMailer, TransportError

    # The local server offers no STARTTLS: starttls (the default) refuses to go on in clear.
    mailer = SmtpMailer(SmtpConfig(mailbox.host, mailbox.port, "okr@acme.example",
                                   security="starttls", timeout=5))  # fmt: skip
    payload = {"to": ["a@acme.example"], "subject": "s", "text": "t", "html": "<p>t</p>"}
    with pytest.raises(TransportError) as raised:
        mailer.notify(payload)
    assert raised.value.permanent and "does not offer STARTTLS" in raised.value.message
    # And a password is never sent without TLS.
    clear = SmtpMailer(SmtpConfig(mailbox.host, mailbox.port, "okr@acme.example",
                                  user="bot", password="s3cret-pw", security="none"))  # fmt: skip
    with pytest.raises(TransportError) as refused:
        clear.notify(payload)
    assert "without TLS" in refused.value.message and "s3cret-pw" not in refused.value.message
    assert mailbox.messages == []
    with pytest.raises(Exception, match="in clear"):
        load_settings(None, smtp_host="x", smtp_security="none", smtp_password="s3cret-pw")


def test_retry_logs_never_show_a_webhook_url(engine: Engine, hooks: Hooks, tmp_path: Path) -> None:
    import io
    import logging

    from okr_jira.logs import configure_logging
    from tests.support.channels import FakeHook

    apply(engine, tmp_path)
    retry_now = {"Retry-After": "0"}
    hooks.slack["acme"] = FakeHook(Answer(200), [Answer(429, "", retry_now),
                                                 Answer(503, "", retry_now)])  # fmt: skip
    enqueue_digests(engine, now=NOW, thresholds=THRESHOLDS, team="acme")
    out = io.StringIO()
    configure_logging("DEBUG", "text", stream=out)  # as `OKR_JIRA_LOG_LEVEL=DEBUG` runs
    try:
        resolve = make_resolver(settings_for(engine), channel_env(hooks))
        result = deliver(engine, resolve, clock=lambda: NOW)
    finally:
        configure_logging("WARNING")
        logging.getLogger().setLevel(logging.WARNING)
    # The fake service's own access log (werkzeug, in this process) is not okr-jira's.
    logged = "\n".join(line for line in out.getvalue().splitlines() if " werkzeug " not in line)
    assert any("slack" in key for key in result.sent), result
    assert "http.retry" in logged and "(secret)" in logged
    assert SECRET_PART not in logged and "/services/" not in logged
    assert len(hooks.slack["acme"].received) == 3
