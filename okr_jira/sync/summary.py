"""What a sync reports when it ends, and how it tells a progress bar how far it got."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

Progress = Callable[[str, int, int | None], None]  # phase, done, total (None: unknown)


@dataclass
class SyncSummary:
    mode: str
    requests: int = 0
    retries: int = 0
    throttled: int = 0
    issues_read: int = 0
    krs_changed: int = 0
    joined: int = 0
    left: int = 0
    deleted: int = 0
    backfilled: int = 0  # reconstructed history points (a mapping's first sync)
    errors: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    signals: int = 0  # guardrail signals after the sync (`okr-jira health` lists them)

    def lines(self) -> list[str]:
        out = [
            f"sync ({self.mode}) finished in {self.seconds:.1f} s",
            f"  requests to Jira: {self.requests} ({self.retries} retries, "
            f"{self.throttled} rate-limited)",
            f"  issues read: {self.issues_read}",
            f"  key results changed: {self.krs_changed} "
            f"(issues joined {self.joined}, left {self.left}, deleted {self.deleted})",
            f"  mapping errors: {len(self.errors)}",
        ]
        if self.backfilled:
            out.insert(
                -1, f"  history reconstructed: {self.backfilled} daily points (shown dashed)"
            )
        out.extend(f"    {kr}: {msg}" for kr, msg in sorted(self.errors.items()))
        if self.signals:
            out.append(f"  health signals: {self.signals} (`okr-jira health` lists them)")
        return out
