"""A check's outcome, as `check-config` prints it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Outcome = Literal["ok", "warn", "fail"]


@dataclass(frozen=True)
class Check:
    name: str
    outcome: Outcome
    detail: str  # on a failure: what is wrong and what to change

    def line(self) -> str:
        return f"{self.outcome.upper():<4} {self.name}: {self.detail}"


def failed(checks: Iterable[Check]) -> bool:
    return any(c.outcome == "fail" for c in checks)
