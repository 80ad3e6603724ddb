"""What the Confluence simulator refuses, and how Confluence says so.

The JSON error body (``statusCode``/``data``/``message``/``reason``), the fixed messages of the
version checks on PUT, and the storage-format check behind the 400 for XHTML that does not parse.
"""

from __future__ import annotations

import html.entities
from typing import Any
from xml.parsers import expat

AC_NS = "http://atlassian.com/content"
RI_NS = "http://atlassian.com/resource/identifier"

ERROR_DATA = {"authorized": False, "valid": True, "errors": [], "successful": False}
NO_VERSION_MESSAGE = (
    "Must supply an incremented version when updating Content. No version supplied."
)
OPTIMISTIC_LOCK_MESSAGE = (
    "com.atlassian.confluence.api.service.exceptions.ConflictException: "
    "javax.persistence.OptimisticLockException: Batch update returned unexpected row count "
    "from update [0]; actual row count: 0; expected: 1"
)

# Confluence accepts the XHTML named entities (&nbsp;, &mdash;, ...) in storage format; XML knows
# only five. Declaring them in an internal DTD subset makes expat accept exactly those.
_ENTITY_DTD = "".join(
    f'<!ENTITY {name} "&#{code};">'
    for name, code in html.entities.name2codepoint.items()
    if name not in {"amp", "lt", "gt", "quot", "apos"}
)
_PROLOGUE = f"<!DOCTYPE storage [{_ENTITY_DTD}]>\n"
_ROOT_OPEN = f'<storage xmlns:ac="{AC_NS}" xmlns:ri="{RI_NS}">\n'


def storage_format_error(body: str) -> str | None:
    """Why Confluence would refuse ``body`` as storage format, or None when it is well-formed."""
    parser = expat.ParserCreate(namespace_separator=" ")
    try:
        parser.Parse(_PROLOGUE + _ROOT_OPEN + body + "\n</storage>", True)
    except expat.ExpatError as error:
        row = max(error.lineno - 2, 1)
        reason = expat.errors.messages[error.code]
        where = f"[row,col {{unknown-source}}]: [{row},{error.offset + 1}]"
        return f"Error parsing xhtml: {reason}\n at {where}"
    return None


class SimError(Exception):
    """An API error answered with Confluence's JSON error body."""

    def __init__(self, status: int, message: str, *, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra or {}

    def body(self) -> dict[str, Any]:
        reasons = {400: "Bad Request", 403: "Forbidden", 404: "Not Found", 409: "Conflict"}
        body: dict[str, Any] = {"statusCode": self.status, "data": dict(ERROR_DATA)}
        body["message"] = self.message
        if self.status in reasons and self.status != 409:
            body["reason"] = reasons[self.status]
        body.update(self.extra)
        return body


def no_content(page_id: str) -> SimError:
    """The 404 for a page id that does not exist (or not in the status asked for)."""
    return SimError(404, f"No content found with id : ContentId{{id={page_id}}}")


def no_version_data() -> dict[str, Any]:
    """The ``data`` of the 400 for a PUT without a version: it alone says read-only mode is fine."""
    return {**ERROR_DATA, "allowedInReadOnlyMode": True}
