"""What every channel shares: the error that says permanent or retryable, and the HTTP post."""

from __future__ import annotations

import hashlib
import re
from typing import Any, Protocol

import requests

from okr_jira.adapters.http import retry_after


class TransportError(Exception):
    """A delivery failed. `permanent`: trying again cannot help (a deleted channel, a refused
    payload or recipient); otherwise it may be retried, after `retry_after` seconds if known."""

    def __init__(
        self,
        message: str,
        *,
        permanent: bool,
        retry_after: float | None = None,
        status: int | None = None,
        delivered: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.retry_after = retry_after
        self.status = status
        # Delivered to some (an e-mail some recipients refused): not to be sent again.
        self.delivered = delivered


class Transport(Protocol):
    kind: str

    def notify(self, payload: dict[str, Any]) -> None:
        """Deliver one rendered message; raise TransportError when it was not delivered."""


def fingerprint(*parts: str) -> str:
    """A short hash of a channel's target (a URL, recipients): tells that it changed, reveals
    nothing of it."""
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()[:16]


_UNPRINTABLE = re.compile(r"[^\x20-\x7e]+")


def short_body(response: requests.Response, limit: int = 120) -> str:
    """The first words of an error body (Slack answers plain text such as channel_not_found)."""
    try:
        text = response.text
    except Exception:
        return ""
    text = _UNPRINTABLE.sub(" ", text).strip()
    if text.lstrip().startswith("<"):
        return ""  # an HTML error page says nothing useful
    return text[:limit]


def post_json(
    session: requests.Session,
    url: str,
    payload: dict[str, Any],
    *,
    timeout: float,
    service: str,
    permanent_statuses: frozenset[int],
) -> requests.Response:
    """POST the payload; TransportError on any failure. Messages never contain the URL."""
    try:
        response = session.post(url, json=payload, timeout=timeout)
    except requests.Timeout:
        raise TransportError(
            f"{service}: no answer within {timeout:g} s", permanent=False
        ) from None
    except requests.RequestException as exc:
        raise TransportError(
            f"{service}: could not connect ({type(exc).__name__})", permanent=False
        ) from None
    status = response.status_code
    if 200 <= status < 300:
        return response
    reason = short_body(response)
    message = f"{service} answered HTTP {status}" + (f" {reason}" if reason else "")
    if status == 429:
        raise TransportError(
            message, permanent=False, retry_after=retry_after(response.headers), status=status
        )
    permanent = status in permanent_statuses or (400 <= status < 500 and status not in (408, 409))
    raise TransportError(message, permanent=permanent, status=status)
