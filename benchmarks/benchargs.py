"""The options every benchmark takes: `--runs` (medians of at least 3 by default) and `--quick`
(a tiny run that only checks the script works: tests/test_benchmarks.py runs it, untimed)."""

from __future__ import annotations

import argparse


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"at least 1 run is needed, got {value}")
    return value


def add_runs_and_quick(parser: argparse.ArgumentParser, quick: str) -> None:
    """`quick` says what the quick mode runs."""
    parser.add_argument("--runs", type=positive_int, default=3,
                        help="runs to take the medians of (default 3)")  # fmt: skip
    parser.add_argument(
        "--quick", action="store_true",
        help=f"{quick}, one run: checks the script works, goals not enforced",
    )  # fmt: skip


def verdict(ok: bool, quick: bool) -> int:
    """The exit status: 1 when a goal was missed (never in quick mode)."""
    if quick:
        print("quick mode: figures too small to judge, goals not enforced")
        return 0
    print("all goals met" if ok else "GOALS MISSED")
    return 0 if ok else 1
