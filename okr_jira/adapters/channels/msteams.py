"""Microsoft Teams through a Workflows "When a Teams webhook request is received" URL.

Office 365 connectors are retired; the workflow accepts only Adaptive Cards in a `message`
(about 28 KB at most) and answers 202. 400/401/403/404/413 are permanent (a refused card, a
deleted or disabled workflow, too big); 429 and 5xx are worth a retry later.
"""

from __future__ import annotations

from typing import Any

import requests

from okr_jira.adapters.channels.base import post_json

PERMANENT = frozenset({400, 401, 403, 404, 410, 413})


class TeamsWebhook:
    kind = "teams"

    def __init__(self, url: str, session: requests.Session, *, timeout: float) -> None:
        self._url = url  # a secret (its query string holds the signature)
        self.session = session
        self.timeout = timeout

    def notify(self, payload: dict[str, Any]) -> None:
        post_json(
            self.session, self._url, payload, timeout=self.timeout, service="Teams",
            permanent_statuses=PERMANENT,
        )  # fmt: skip

    def __repr__(self) -> str:
        return "TeamsWebhook(<secret url>)"
