"""Webhook JSON -> the typed envelope the inbox stores (type, issue, timestamp, delivery id).

Only the envelope is read here; the `issue` itself is parsed by the worker with
okr_jira.adapters.jira_fields.parse_issue, the one Jira JSON parser.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass
from typing import Any

ISSUE_EVENTS = frozenset({"jira:issue_created", "jira:issue_updated", "jira:issue_deleted"})
LINK_EVENTS = frozenset({"issuelink_created", "issuelink_deleted"})
STORED_EVENTS = ISSUE_EVENTS | LINK_EVENTS

# Jira keys: a project key (letter, then letters/digits/underscore) and a number.
_ISSUE_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,50}-[0-9]{1,12}")
_ISSUE_ID = re.compile(r"[0-9]{1,18}")
# Printable ASCII only: anything else (or longer than the column) is hashed instead.
_DELIVERY_ID = re.compile(r"[\x21-\x7e]{1,200}")
_MAX_EPOCH_MS = 2**62


class PayloadError(ValueError):
    """The body is JSON but not a webhook okr-jira can store; the message is safe to return."""


@dataclass(frozen=True, slots=True)
class Envelope:
    """What the inbox row needs of one delivery."""

    delivery_id: str
    event_type: str
    issue_key: str | None = None
    issue_id: str | None = None
    event_ts: int | None = None  # epoch ms, from `timestamp`

    @property
    def stored(self) -> bool:
        return self.event_type in STORED_EVENTS


def decode_body(raw: bytes) -> dict[str, Any]:
    """The JSON object of a raw body; PayloadError when it is not JSON or not an object."""
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise PayloadError("the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise PayloadError("the body must be a JSON object")
    return data


def delivery_id(header: str | None, raw: bytes) -> str:
    """Jira's X-Atlassian-Webhook-Identifier (the same across retries), else a hash of the body."""
    if header and _DELIVERY_ID.fullmatch(header):
        return header
    if header:
        return "hdr-sha256:" + hashlib.sha256(header.encode("utf-8", "replace")).hexdigest()
    return "body-sha256:" + hashlib.sha256(raw).hexdigest()


def parse_envelope(data: dict[str, Any], *, delivery: str) -> Envelope:
    event = data.get("webhookEvent")
    if not isinstance(event, str) or not event:
        raise PayloadError("webhookEvent is missing")
    if event not in STORED_EVENTS:
        return Envelope(delivery, event[:64])
    ts = _epoch_ms(data.get("timestamp"))
    if event in LINK_EVENTS:
        link = data.get("issueLink")
        if not isinstance(link, dict):
            raise PayloadError(f"{event} without an issueLink object")
        return Envelope(delivery, event, None, _issue_id(link.get("sourceIssueId")), ts)
    issue = data.get("issue")
    if not isinstance(issue, dict):
        raise PayloadError(f"{event} without an issue object")
    key = issue.get("key")
    if not isinstance(key, str) or not _ISSUE_KEY.fullmatch(key):
        raise PayloadError(f"{event} without a valid issue key")
    if not isinstance(issue.get("fields", {}), dict):
        raise PayloadError(f"{event}: issue.fields must be an object")
    return Envelope(delivery, event, key.upper(), _issue_id(issue.get("id")), ts)


def _epoch_ms(value: Any) -> int | None:
    # Some captured payloads carry a logger's time string here instead of epoch ms: ignore it.
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and math.isfinite(value):
        value = int(value)
    if isinstance(value, int) and 0 <= value < _MAX_EPOCH_MS:
        return value
    return None


def _issue_id(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    text = str(value) if isinstance(value, int | str) else ""
    return text if _ISSUE_ID.fullmatch(text) else None


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")  # json.loads joins valid pairs: these are lone
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def may_hold_lone_surrogates(raw: bytes) -> bool:
    """Cheap test on the raw body: a \\uD800..\\uDFFF escape, or bytes that are not UTF-8."""
    # Most bodies hold no backslash at all: one memchr, instead of a pattern scan of every body.
    if b"\\" in raw and _SURROGATE_ESCAPE.search(raw):
        return True
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def replace_lone_surrogates(data: Any) -> bool:
    """Replace lone surrogates in every string of `data` (in place) with U+FFFD; True if any."""
    changed = False

    def fix(value: Any) -> Any:
        nonlocal changed
        if isinstance(value, str):
            if _LONE_SURROGATE.search(value):
                changed = True
                return _LONE_SURROGATE.sub("\ufffd", value)
            return value
        if isinstance(value, dict):
            for key in list(value):
                value[key] = fix(value[key])
            return value
        if isinstance(value, list):
            value[:] = [fix(v) for v in value]
        return value

    fix(data)
    return changed
