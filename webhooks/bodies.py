"""Reading request bodies the receiver and the admin API can trust.

A body over the limit is refused whole (413), chunked ones included: Werkzeug stops reading a
chunked body at MAX_CONTENT_LENGTH without saying so, which would store (or apply) a truncated one.
Numbers are checked field by field: NaN, Infinity and numbers that overflow to them are refused
with the field named, so nothing non-finite is stored and then served as invalid JSON.
"""

from __future__ import annotations

import json
import math
from typing import Any

from flask import request
from werkzeug.exceptions import RequestEntityTooLarge

from webhooks.errors import BadPayload

_CHUNK = 64 * 1024


def read_body(limit: int) -> bytes:
    """The raw body, or 413 when it is longer than `limit` bytes (whatever the framing)."""
    length = request.content_length
    if length is not None and length > limit:
        raise RequestEntityTooLarge()
    stream = request.environ["wsgi.input"]
    want = limit + 1 if length is None else length
    parts: list[bytes] = []
    got = 0
    while got < want:
        chunk = stream.read(min(_CHUNK, want - got))
        if not chunk:
            break
        parts.append(chunk)
        got += len(chunk)
    if got > limit:
        raise RequestEntityTooLarge()
    return b"".join(parts)


def parse_json(raw: bytes | str) -> Any:
    """The JSON body, or 400. NaN and Infinity (which RFC 8259 does not allow, and Python's
    parser does) come back as floats for `finite_number` to refuse, naming the field."""
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise BadPayload("the body is not valid JSON") from None


def finite_number(value: Any, field: str) -> float:
    """`value` as a float, or 422-style BadPayload naming `field`."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadPayload(f"{field}: a number is required")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise BadPayload(f"{field}: must be a finite number")
    return number
