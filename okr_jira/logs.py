"""Logging set-up: one structlog formatter on the root logger that keeps the `extra={...}` fields.

Every module logs through the standard library (`log.warning("inbox.failed", extra={...})`);
`configure_logging` renders those records, Werkzeug's and gunicorn's included, as

- ``text``: ``2025-06-01T10:00:00.123456Z WARNING okr_jira.inbox inbox.failed issue=OKR-1 events=3``
  (values logfmt-quoted when they hold spaces, quotes or ``=``; lists and dicts as compact JSON;
  a traceback follows on the next lines, as the standard library prints it);
- ``json``: one object per line, ``timestamp``, ``level``, ``logger``, ``message`` first, then
  every extra field, and ``exception`` (the formatted traceback) when there is one.

The log message lives under ``message``, not structlog's usual ``event``: call sites use
``extra={"event": ...}`` for a webhook's event type, and that field must not replace the message.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable
from typing import Any, Literal, TextIO

import structlog
from pydantic import SecretStr
from structlog.typing import EventDict, Processor, WrappedLogger

# Set on our handler so that configuring again replaces it instead of adding a second one.
HANDLER_NAME = "okr_jira"
# Loggers of the HTTP servers okr-jira runs under: their access lines carry request URLs.
SERVER_LOGGERS = ("gunicorn.access", "gunicorn.error", "waitress", "werkzeug")

# Secrets that travel in URLs: the webhook token in the path (Jira versions that cannot sign),
# token-like query parameters, and a password in a URL's user part.
_REDACTIONS = (
    (re.compile(r"(/webhooks/jira/)[^\s?#\"']+"), r"\1***"),
    (
        re.compile(
            r"([?&;](?:token|access_token|secret|password|passwd|api_key|apikey|auth)=)"
            r"[^&;\s\"']*",
            re.IGNORECASE,
        ),
        r"\1***",
    ),
    (re.compile(r"(\b[a-z][a-z0-9+.-]*://[^/\s:@]*:)[^@\s/]+@", re.IGNORECASE), r"\1***@"),
)


class Redactor:
    """Takes secrets out of text: URL-borne ones by pattern, configured ones by value."""

    def __init__(self) -> None:
        self.secrets: set[str] = set()

    def add(self, secrets: Iterable[str | SecretStr | None]) -> None:
        for secret in secrets:
            value = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
            if value and len(value) >= 4:  # a short value would blank ordinary words
                self.secrets.add(value)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, "***")
        for pattern, replacement in _REDACTIONS:
            text = pattern.sub(replacement, text)
        return text

    def value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self(value)
        if isinstance(value, list | tuple):
            return type(value)(self.value(v) for v in value)
        if isinstance(value, dict):
            return {k: self.value(v) for k, v in value.items()}
        return value


REDACT = Redactor()  # the one redaction every log line goes through


class RedactingFilter(logging.Filter):
    """For handlers okr-jira does not format (gunicorn's access log): redacts the record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = REDACT(record.msg)
        if record.args:
            record.args = REDACT.value(record.args)
        return True


def redact_server_logs(secrets: Iterable[str | SecretStr | None] = ()) -> None:
    """Redact `secrets` (and URL-borne ones) from every line of okr-jira's handler and of the
    HTTP servers' own handlers (gunicorn writes its access log with handlers of its own)."""
    REDACT.add(secrets)
    for name in SERVER_LOGGERS:
        for handler in logging.getLogger(name).handlers:
            if not any(isinstance(f, RedactingFilter) for f in handler.filters):
                handler.addFilter(RedactingFilter())


_HEAD = ("timestamp", "level", "logger", "message")


def configure_logging(
    level: str = "WARNING",
    fmt: Literal["text", "json"] = "text",
    stream: TextIO | None = None,
) -> None:
    """Install (or replace) the okr-jira handler on the root logger and set the root level.

    `level` is a level name (DEBUG, INFO, WARNING, ERROR; any case). `stream` defaults to stderr.
    Handlers that others put on the root logger (pytest's, for one) are left alone.
    """
    if fmt not in ("text", "json"):
        raise ValueError(f"log format must be 'text' or 'json', not {fmt!r}")
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.set_name(HANDLER_NAME)
    handler.setFormatter(_formatter(fmt))

    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(level.strip().upper())
    # APScheduler says "Running job" at INFO every few seconds (the leader election): only with
    # DEBUG. okr-jira's own job.start lines show job runs at INFO.
    noisy = logging.DEBUG if root.level <= logging.DEBUG else logging.WARNING
    logging.getLogger("apscheduler").setLevel(noisy)
    # urllib3 logs each request's URL at DEBUG; a Slack or Teams webhook URL is a secret.
    logging.getLogger("urllib3").setLevel(logging.INFO)


def _formatter(fmt: Literal["text", "json"]) -> structlog.stdlib.ProcessorFormatter:
    # Runs on every record: the message is already %-interpolated (record.getMessage()).
    pre_chain: list[Processor] = [
        # Before ExtraAdder, so that an extra named "event" cannot overwrite the message.
        structlog.processors.EventRenamer("message"),
        structlog.stdlib.ExtraAdder(),
        _drop_formatter_leftovers,
        _redact_fields,
        # After ExtraAdder: an extra named level/logger/timestamp does not replace these.
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    if fmt == "json":
        return structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=pre_chain,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                _stack_info_to_field,
                _head_first,
                structlog.processors.JSONRenderer(default=str),
            ],
        )
    # keep_*_info: the standard library appends the traceback / stack after our line.
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=pre_chain,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, _render_text],
        keep_exc_info=True,
        keep_stack_info=True,
    )


def _drop_formatter_leftovers(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    # Another handler's formatter (gunicorn's, say) may have set these on the record already;
    # ExtraAdder would take them for extra fields.
    event_dict.pop("asctime", None)
    return event_dict


def _redact_fields(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    return {key: REDACT.value(value) for key, value in event_dict.items()}


def _stack_info_to_field(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    stack = event_dict.pop("stack_info", None)
    if stack:
        event_dict["stack"] = stack
    return event_dict


def _head_first(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    head = {key: event_dict.pop(key) for key in _HEAD if key in event_dict}
    head.update(event_dict)
    return head


_logfmt = structlog.processors.LogfmtRenderer(bool_as_flag=False)


def _render_text(logger: WrappedLogger, name: str, event_dict: EventDict) -> str:
    # The record keeps exc_info / stack_info; logging.Formatter prints them below the line.
    event_dict.pop("exc_info", None)
    event_dict.pop("stack_info", None)
    timestamp = event_dict.pop("timestamp", "")
    level = str(event_dict.pop("level", "")).upper()
    logger_name = event_dict.pop("logger", "")
    message = event_dict.pop("message", "")
    head = f"{timestamp} {level} {logger_name} {message}"
    # logfmt keys cannot hold whitespace (LogfmtRenderer raises); extras are rarely that odd.
    fields = {
        "".join(c if c > " " else "_" for c in str(key)): _compact(value)
        for key, value in event_dict.items()
    }
    tail = _logfmt(logger, name, fields)
    return f"{head} {tail}" if tail else head


def _compact(value: Any) -> Any:
    if isinstance(value, list | tuple | dict | set | frozenset):
        if isinstance(value, set | frozenset):
            value = sorted(value, key=str)
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
    return value
