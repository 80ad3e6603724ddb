"""Injected latency and error answers, and request counters, for every simulated route."""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Fault:
    status: int
    retry_after: int | None = None


@dataclass
class Faults:
    """What the next requests suffer. Change it from Python or `POST /_sim/faults`."""

    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    error_rate: float = 0.0  # share of requests answered `error_status`, seeded
    error_status: int = 500
    seed: int = 0
    _queue: list[Fault] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def rate_limit(self, count: int = 1, *, retry_after: int = 1) -> None:
        """The next `count` requests answer 429 with Retry-After."""
        with self._lock:
            self._queue.extend(Fault(429, retry_after) for _ in range(count))

    def fail(self, count: int = 1, *, status: int = 503) -> None:
        """The next `count` requests answer `status` (500, 503...)."""
        with self._lock:
            self._queue.extend(Fault(status) for _ in range(count))

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()
            self.latency_ms = self.jitter_ms = self.error_rate = 0.0

    def delay_seconds(self) -> float:
        with self._lock:
            jitter = self._rng.uniform(-self.jitter_ms, self.jitter_ms) if self.jitter_ms else 0.0
        return max(0.0, self.latency_ms + jitter) / 1000

    def next_fault(self) -> Fault | None:
        with self._lock:
            if self._queue:
                return self._queue.pop(0)
            if self.error_rate and self._rng.random() < self.error_rate:
                return Fault(self.error_status)
        return None

    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    def apply(self, spec: dict[str, Any]) -> None:
        """The JSON form: {"latency_ms", "jitter_ms", "error_rate", "error_status",
        "rate_limit": {"count", "retry_after"}, "fail": {"count", "status"}, "clear": bool}."""
        if spec.get("clear"):
            self.clear()
        for name in ("latency_ms", "jitter_ms", "error_rate"):
            if name in spec:
                setattr(self, name, float(spec[name]))
        if "error_status" in spec:
            self.error_status = int(spec["error_status"])
        if rl := spec.get("rate_limit"):
            self.rate_limit(int(rl.get("count", 1)), retry_after=int(rl.get("retry_after", 1)))
        if fl := spec.get("fail"):
            self.fail(int(fl.get("count", 1)), status=int(fl.get("status", 503)))

    def to_dict(self) -> dict[str, Any]:
        return {
            "latency_ms": self.latency_ms,
            "jitter_ms": self.jitter_ms,
            "error_rate": self.error_rate,
            "error_status": self.error_status,
            "pending": self.pending(),
        }


@dataclass
class Stats:
    """Requests seen, by "METHOD /route/rule" and in total (simulator control routes excluded)."""

    total: int = 0
    by_route: Counter[str] = field(default_factory=Counter)
    by_status: Counter[int] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, route: str) -> None:
        with self._lock:
            self.total += 1
            self.by_route[route] += 1

    def count_status(self, status: int) -> None:
        with self._lock:
            self.by_status[status] += 1

    def reset(self) -> None:
        with self._lock:
            self.total = 0
            self.by_route.clear()
            self.by_status.clear()

    def to_dict(self) -> dict[str, Any]:
        with self._lock:
            return {
                "total": self.total,
                "by_route": dict(self.by_route),
                "by_status": {str(k): v for k, v in self.by_status.items()},
            }
