"""Where the project's own files are, for tests that read them."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
EXAMPLE_OKRS = ROOT / "config" / "okrs.example.yaml"
# The web app refuses to start without a strong session secret: the tests' one.
SESSION_SECRET = "test-session-secret-0123456789abcdefXYZ"
WEBHOOK_SECRET = "test-webhook-secret-0123456789"
