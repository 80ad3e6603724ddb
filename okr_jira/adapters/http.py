"""The network policy every Atlassian call goes through.

A requests transport adapter mounted on the session atlassian-python-api uses, so it holds for
every call the library makes: a timeout on each request, bounded retries with exponential backoff
and full jitter on 5xx / timeouts / connection failures, `Retry-After` honoured on 429 (bounded),
no retry on other 4xx, a bound on requests in flight, and request counters for summaries and
benchmarks. Requests that are not safe to repeat (creating a page) are retried only when the server
cannot have acted on them (429, 503, connection refused).
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests
from requests.adapters import HTTPAdapter

log = logging.getLogger(__name__)

_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
# POSTs that only read (searches and counts) are as safe to repeat as GETs, and so is a remote
# link POST: okr-jira always sends a globalId, and Jira replaces the link that has it.
_READ_ONLY_POST_SUFFIXES = (
    "/search", "/search/jql", "/search/approximate-count", "/remotelink",
)  # fmt: skip
_RETRY_STATUSES = frozenset({500, 502, 503, 504})


@dataclass
class RetryPolicy:
    timeout: float = 30.0
    max_retries: int = 5
    backoff_base: float = 0.5  # seconds; doubled per attempt, full jitter
    backoff_cap: float = 30.0
    max_retry_after: float = 120.0  # a longer Retry-After fails instead of blocking a worker
    max_in_flight: int = 4
    sleep: Callable[[float], None] = time.sleep
    # Webhook URLs are secrets (the path or query holds the token): never log them.
    log_paths: bool = True


@dataclass
class RequestStats:
    """Counters of what actually went over the wire."""

    sent: int = 0
    retries: int = 0
    throttled: int = 0
    by_status: Counter[int] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, status: int | None, *, retry: bool, throttled: bool) -> None:
        with self._lock:
            self.sent += 1
            if status is not None:
                self.by_status[status] += 1
            self.retries += int(retry)
            self.throttled += int(throttled)

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return {"sent": self.sent, "retries": self.retries, "throttled": self.throttled}


class PolicyAdapter(HTTPAdapter):
    """An HTTPAdapter that applies RetryPolicy around every send."""

    def __init__(self, policy: RetryPolicy, stats: RequestStats) -> None:
        super().__init__(
            pool_connections=4, pool_maxsize=max(4, policy.max_in_flight), max_retries=0
        )
        self.policy = policy
        self.stats = stats
        self._slots = threading.BoundedSemaphore(policy.max_in_flight)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        policy = self.policy
        kwargs["timeout"] = _bounded_timeout(kwargs.get("timeout"), policy.timeout)
        method = (request.method or "GET").upper()
        path = (request.path_url or "").split("?", 1)[0].rstrip("/")
        shown = path if policy.log_paths else "(secret)"
        repeatable = method in _IDEMPOTENT or (
            method == "POST" and path.endswith(_READ_ONLY_POST_SUFFIXES)
        )
        attempt = 0
        while True:
            try:
                with self._slots:
                    response = super().send(request, **kwargs)
            except (requests.ConnectionError, requests.Timeout) as exc:
                # A refused connection never reached the server; a timeout might have.
                safe = repeatable or isinstance(exc, requests.ConnectTimeout) or _refused(exc)
                self.stats.count(None, retry=attempt > 0, throttled=False)
                if attempt >= policy.max_retries or not safe:
                    raise
                delay = self._backoff(attempt)
                outcome: dict[str, object] = {"error": _describe(exc)}
            else:
                status = response.status_code
                self.stats.count(status, retry=attempt > 0, throttled=status == 429)
                if status == 429 or (status == 503 and "Retry-After" in response.headers):
                    wait = retry_after(response.headers)
                    if attempt >= policy.max_retries or (
                        wait is not None and wait > policy.max_retry_after
                    ):
                        return response
                    delay = wait if wait is not None else self._backoff(attempt)
                elif status in _RETRY_STATUSES and (repeatable or status == 503):
                    if attempt >= policy.max_retries:
                        return response
                    delay = self._backoff(attempt)
                else:
                    return response
                outcome = {"status": status}
                response.close()
            # What failed, which try this was and how long until the next one: enough to tell
            # a flapping proxy from a throttling site. The path never has its query string.
            log.warning(
                "http.retry",
                extra={
                    "method": method, "path": shown, **outcome,
                    "attempt": f"{attempt + 1}/{policy.max_retries + 1}", "wait": round(delay, 2),
                },
            )  # fmt: skip
            attempt += 1
            policy.sleep(delay)

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self.policy.backoff_cap, self.policy.backoff_base * (2**attempt))
        return random.uniform(ceiling / 2, ceiling)


def _bounded_timeout(asked: Any, limit: float) -> Any:
    """The caller's timeout, never longer than the policy's (atlassian-python-api asks 75 s by
    default and truncates to whole seconds, so a sub-second policy must win over its 0)."""
    if isinstance(asked, tuple):
        return tuple(limit if t is None or t <= 0 else min(t, limit) for t in asked)
    if not isinstance(asked, int | float) or asked <= 0:
        return limit
    return min(asked, limit)


def _describe(exc: Exception) -> str:
    """A connection failure in a few words (never the URL, which may carry a secret)."""
    if _refused(exc):
        return "connection refused"
    if isinstance(exc, requests.ConnectTimeout):
        return "connect timeout"
    if isinstance(exc, requests.Timeout):
        return "read timeout"
    text = repr(exc)
    if "NameResolutionError" in text or "Name or service not known" in text:
        return "host name not found"
    if "RemoteDisconnected" in text or "Connection aborted" in text:
        return "connection closed by the server"
    return type(exc).__name__


def _refused(exc: Exception) -> bool:
    text = repr(exc)
    return "Connection refused" in text or "NewConnectionError" in text


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date)."""
    value = headers.get("Retry-After")
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def make_session(policy: RetryPolicy, stats: RequestStats | None = None) -> requests.Session:
    """A requests session with the policy mounted for http and https."""
    session = requests.Session()
    adapter = PolicyAdapter(policy, stats or RequestStats())
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def session_stats(session: requests.Session) -> RequestStats:
    adapter = session.get_adapter("https://")
    assert isinstance(adapter, PolicyAdapter)
    return adapter.stats


def short_error(response: requests.Response) -> str:
    """A one-line reason from an Atlassian error response; HTML bodies become the status line."""
    try:
        data = response.json()
    except ValueError:
        return f"HTTP {response.status_code} {response.reason or ''}".strip()
    messages: list[str] = []
    if isinstance(data, dict):
        messages.extend(str(m) for m in data.get("errorMessages") or [])
        errors = data.get("errors")
        if isinstance(errors, dict):
            messages.extend(f"{k}: {v}" for k, v in errors.items())
        if data.get("message"):
            messages.append(str(data["message"]))
    text = "; ".join(messages) or f"HTTP {response.status_code}"
    return text[:500]
