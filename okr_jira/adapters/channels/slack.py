"""Slack incoming webhooks: POST {"text", "blocks"} to the hooks URL (a secret).

Slack answers plain-text errors: 400 invalid_payload, 403 action_prohibited, 404 channel_not_found,
410 channel_is_archived (all permanent: retrying cannot help), 429 with Retry-After (about one
message per second per webhook), 500 rollup_error (worth a retry later).
"""

from __future__ import annotations

from typing import Any

import requests

from okr_jira.adapters.channels.base import post_json

PERMANENT = frozenset({400, 403, 404, 410})


class SlackWebhook:
    kind = "slack"

    def __init__(self, url: str, session: requests.Session, *, timeout: float) -> None:
        self._url = url  # a secret: never logged, never in a message
        self.session = session
        self.timeout = timeout

    def notify(self, payload: dict[str, Any]) -> None:
        post_json(
            self.session, self._url, payload, timeout=self.timeout, service="Slack",
            permanent_statuses=PERMANENT,
        )  # fmt: skip

    def __repr__(self) -> str:
        return "SlackWebhook(<secret url>)"
