"""Outgoing Jira webhooks: registrations, payloads, signing and delivery."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import queue
import threading
import uuid
from dataclasses import dataclass, field

import requests

log = logging.getLogger(__name__)

ISSUE_EVENTS = ("jira:issue_created", "jira:issue_updated", "jira:issue_deleted")
DELIVERY_TIMEOUT = (2.0, 5.0)  # connect, read seconds


@dataclass(slots=True)
class WebhookRegistration:
    id: int
    url: str
    events: tuple[str, ...] = ISSUE_EVENTS
    jql: str | None = None
    name: str = ""
    secret: str | None = None
    enabled: bool = True
    source: str = "admin"  # "admin" (/rest/webhooks/1.0) or "dynamic" (/rest/api/3/webhook)


@dataclass(frozen=True, slots=True)
class Delivery:
    url: str
    body: bytes
    headers: dict[str, str]


@dataclass(slots=True)
class DeliveryResult:
    url: str
    event: str
    identifier: str
    status: int | None = None
    error: str | None = None


def sign(secret: str, body: bytes) -> str:
    """The X-Hub-Signature value Jira sends: sha256=<hex HMAC-SHA256 of the raw body>."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def build_delivery(
    url: str, payload: dict[str, object], secret: str | None, flavor: str
) -> Delivery:
    body = json.dumps(payload, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "Atlassian Webhook HTTP Client",
        "X-Atlassian-Webhook-Identifier": uuid.uuid4().hex,
    }
    if flavor == "cloud":
        headers["X-Atlassian-Webhook-Flow"] = "Primary"
    if secret:
        headers["X-Hub-Signature"] = sign(secret, body)
    return Delivery(url, body, headers)


@dataclass
class Deliverer:
    """Posts deliveries in order on one background thread; `flush()` waits for the queue."""

    results: list[DeliveryResult] = field(default_factory=list)
    _queue: queue.Queue[Delivery | None] = field(default_factory=queue.Queue)
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def submit(self, delivery: Delivery) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="sim-webhooks", daemon=True)
                self._thread.start()
        self._queue.put(delivery)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every submitted delivery was attempted; False on timeout."""
        done = threading.Event()

        def waiter() -> None:
            self._queue.join()
            done.set()

        threading.Thread(target=waiter, daemon=True).start()
        return done.wait(timeout)

    def _run(self) -> None:
        while True:
            delivery = self._queue.get()
            try:
                if delivery is None:
                    return
                self._post(delivery)
            finally:
                self._queue.task_done()

    def _post(self, delivery: Delivery) -> None:
        event = json.loads(delivery.body).get("webhookEvent", "")
        result = DeliveryResult(
            delivery.url, event, delivery.headers["X-Atlassian-Webhook-Identifier"]
        )
        try:
            response = requests.post(
                delivery.url, data=delivery.body, headers=delivery.headers, timeout=DELIVERY_TIMEOUT
            )
            result.status = response.status_code
        except requests.RequestException as exc:
            result.error = type(exc).__name__
            log.warning("sim.webhook.failed", extra={"url": delivery.url, "error": result.error})
        self.results.append(result)
