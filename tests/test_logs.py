"""configure_logging: what a reader of the terminal or of a JSON log pipeline sees."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from okr_jira.logs import REDACT, configure_logging

ISO_UTC = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z"


@pytest.fixture(autouse=True)
def restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    for handler in root.handlers:
        if handler not in handlers:
            handler.close()
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def out() -> io.StringIO:
    return io.StringIO()


def lines(out: io.StringIO) -> list[str]:
    return out.getvalue().splitlines()


def json_lines(out: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in lines(out)]


def test_text_line_is_time_level_logger_event_then_the_extra_fields(out: io.StringIO) -> None:
    configure_logging("INFO", "text", stream=out)
    logging.getLogger("okr_jira.inbox").warning(
        "inbox.failed", extra={"issue": "OKR-17", "events": 3}
    )
    (line,) = lines(out)
    assert re.fullmatch(
        ISO_UTC + r" WARNING okr_jira\.inbox inbox\.failed issue=OKR-17 events=3", line
    ), line


def test_text_quotes_values_with_spaces_and_renders_lists_compactly(out: io.StringIO) -> None:
    configure_logging("INFO", "text", stream=out)
    logging.getLogger("okr_jira.jobs").error(
        "okrfile.invalid",
        extra={"file": "okrs.yaml", "problems": ["3:5 owner missing"], "team": {"key": "A"}},
    )
    (line,) = lines(out)
    assert line.endswith(
        ' okrfile.invalid file=okrs.yaml problems="[\\"3:5 owner missing\\"]"'
        ' team="{\\"key\\":\\"A\\"}"'
    ), line


def test_text_percent_args_are_interpolated(out: io.StringIO) -> None:
    configure_logging("INFO", "text", stream=out)
    logging.getLogger("okr_jira.publish").info("publish.page.recreate page %s", "98765")
    (line,) = lines(out)
    assert line.endswith(" INFO okr_jira.publish publish.page.recreate page 98765"), line


def test_json_lines_carry_timestamp_level_logger_message_and_every_extra_field(
    out: io.StringIO,
) -> None:
    configure_logging("INFO", "json", stream=out)
    logging.getLogger("okr_jira.jobs").error(
        "okrfile.invalid", extra={"file": "okrs.yaml", "problems": ["3:5 owner missing"]}
    )
    logging.getLogger("okr_jira.sync").info("sync.done", extra={"mode": "full", "requests": 12})
    first, second = json_lines(out)
    assert re.fullmatch(ISO_UTC, str(first.pop("timestamp")))
    assert first == {
        "level": "error",
        "logger": "okr_jira.jobs",
        "message": "okrfile.invalid",
        "file": "okrs.yaml",
        "problems": ["3:5 owner missing"],
    }
    assert second["message"] == "sync.done"
    assert (second["mode"], second["requests"]) == ("full", 12)


def test_json_percent_args_are_interpolated(out: io.StringIO) -> None:
    configure_logging("INFO", "json", stream=out)
    logging.getLogger("okr_jira.publish").info("publish.page.recreate page %s", "98765")
    (record,) = json_lines(out)
    assert record["message"] == "publish.page.recreate page 98765"


def test_an_extra_field_named_event_does_not_replace_the_message(out: io.StringIO) -> None:
    configure_logging("INFO", "json", stream=out)
    logging.getLogger("webhooks.routes").info(
        "webhooks.ignored", extra={"event": "jira:issue_updated"}
    )
    (record,) = json_lines(out)
    assert record["message"] == "webhooks.ignored"
    assert record["event"] == "jira:issue_updated"


def test_text_exception_prints_the_traceback_below_the_line(out: io.StringIO) -> None:
    configure_logging("INFO", "text", stream=out)
    try:
        raise RuntimeError("confluence is down")
    except RuntimeError:
        logging.getLogger("okr_jira.jobs").exception("job.crashed", extra={"job": "publish"})
    first, *rest = lines(out)
    assert first.endswith(" ERROR okr_jira.jobs job.crashed job=publish"), first
    assert rest[0] == "Traceback (most recent call last):"
    assert rest[-1] == "RuntimeError: confluence is down"


def test_json_exception_is_an_exception_field_on_the_same_line(out: io.StringIO) -> None:
    configure_logging("INFO", "json", stream=out)
    try:
        raise RuntimeError("confluence is down")
    except RuntimeError:
        logging.getLogger("okr_jira.jobs").exception("job.crashed", extra={"job": "publish"})
    (record,) = json_lines(out)
    assert record["level"] == "error"
    assert record["job"] == "publish"
    exception = str(record["exception"])
    assert exception.startswith("Traceback (most recent call last):")
    assert exception.endswith("RuntimeError: confluence is down")


def test_configuring_twice_prints_each_record_once_in_the_latest_format(
    out: io.StringIO,
) -> None:
    configure_logging("INFO", "text", stream=out)
    configure_logging("INFO", "json", stream=out)
    logging.getLogger("okr_jira.leader").info("leader.elected", extra={"identity": "node-1"})
    (record,) = json_lines(out)
    assert record["identity"] == "node-1"


def test_records_below_the_level_are_not_printed(out: io.StringIO) -> None:
    configure_logging("warning", "text", stream=out)
    log = logging.getLogger("okr_jira.scheduler")
    log.info("job.start", extra={"job": "sync"})
    log.warning("leader.check_failed", extra={"error": "OperationalError"})
    (line,) = lines(out)
    assert "leader.check_failed error=OperationalError" in line


def test_werkzeug_and_gunicorn_access_logs_render_through_the_same_handler(
    out: io.StringIO,
) -> None:
    configure_logging("INFO", "text", stream=out)
    logging.getLogger("werkzeug").info(
        '%s - - [%s] "%s" %s %s',
        "127.0.0.1",
        "01/Jun/2025 10:00:00",
        "POST /hook HTTP/1.1",
        202,
        "-",
    )
    logging.getLogger("gunicorn.access").info(
        '%(h)s "%(r)s" %(s)s', {"h": "10.0.0.1", "r": "GET /healthz HTTP/1.1", "s": "200"}
    )
    werkzeug, gunicorn = lines(out)
    assert werkzeug.endswith(
        ' INFO werkzeug 127.0.0.1 - - [01/Jun/2025 10:00:00] "POST /hook HTTP/1.1" 202 -'
    ), werkzeug
    assert gunicorn.endswith(' INFO gunicorn.access 10.0.0.1 "GET /healthz HTTP/1.1" 200'), gunicorn


def test_a_record_already_formatted_by_another_handler_gains_no_asctime_field(
    out: io.StringIO,
) -> None:
    configure_logging("INFO", "text", stream=out)
    other = logging.StreamHandler(io.StringIO())
    other.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    log = logging.getLogger("gunicorn.error")
    log.addHandler(other)
    try:
        log.info("Booting worker with pid: %s", 42)
    finally:
        log.removeHandler(other)
        other.close()
    (line,) = lines(out)
    assert line.endswith(" INFO gunicorn.error Booting worker with pid: 42"), line


def test_handlers_others_put_on_the_root_logger_are_kept(out: io.StringIO) -> None:
    theirs = logging.StreamHandler(io.StringIO())
    logging.getLogger().addHandler(theirs)
    configure_logging("INFO", "text", stream=out)
    configure_logging("INFO", "text", stream=out)
    assert theirs in logging.getLogger().handlers


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="'xml'"):
        configure_logging("INFO", "xml", stream=io.StringIO())  # type: ignore[arg-type]


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_secrets_in_urls_and_configured_secrets_never_reach_a_line(
    out: io.StringIO, fmt: str
) -> None:
    configure_logging("DEBUG", fmt, stream=out)  # type: ignore[arg-type]
    REDACT.add([SecretStr("configured-secret-value")])
    log = logging.getLogger("okr_jira.test")
    log.debug("connecting to %s", "postgresql+psycopg://okr:db-pa55word@db.example:5432/okr")
    log.debug("GET /webhooks/jira/url-token-123?access_token=abc123&x=1")
    log.info("sync.start", extra={"url": "https://bot:jira-pa55word@jira.example/rest"})
    log.warning("echo configured-secret-value in a message")
    text = out.getvalue()
    for secret in ("db-pa55word", "url-token-123", "abc123", "jira-pa55word", "configured-secret"):
        assert secret not in text
    assert "okr:***@db.example" in text and "access_token=***" in text
