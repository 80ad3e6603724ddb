"""The receiver's common case answered before Flask builds a request: a signed JSON event.

Most of what reaches okr-jira is Jira posting a signed issue event to /webhooks/jira. For that
request Flask's own work (request context, URL matching over every route of the web app and the
APIs, response object, after-request hooks) costs about as much CPU as authenticating, parsing
and committing the event together (benchmarks/bench_webhooks.py). This WSGI wrapper runs the
very same `routes.accept` (signature check, parse, commit before the answer) on the raw WSGI
environ and answers 200 itself. Anything else, and anything `accept` refuses or fails on, goes
to the Flask app unchanged, the body put back to be read again, so every other answer (401,
400, 413, 415, 202 ignored, 503) comes from the one place that makes them (webhooks/errors.py).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from typing import Any

from webhooks.auth import signed_right
from webhooks.routes import DUPLICATE_ANSWER, STORED_ANSWER, WebhookState, accept

Wsgi = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
PATH = "/webhooks/jira"


class FastPath:
    def __init__(self, app: Wsgi, state: WebhookState) -> None:
        self.app = app
        self.state = state

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        length = self._plain_length(environ)
        if length is None:
            return self.app(environ, start_response)
        raw = environ["wsgi.input"].read(length)
        # Whatever happens next, the app can read the body again.
        environ["wsgi.input"] = io.BytesIO(raw)
        if len(raw) != length:  # the client sent less than it announced
            return self.app(environ, start_response)
        if not signed_right(self.state.secret, raw, environ["HTTP_X_HUB_SIGNATURE"]):
            return self.app(environ, start_response)  # the route refuses it, and logs why once
        try:
            _, created = accept(
                self.state,
                raw,
                signature_header=environ["HTTP_X_HUB_SIGNATURE"],
                token=None,
                delivery_header=environ.get("HTTP_X_ATLASSIAN_WEBHOOK_IDENTIFIER"),
                verified=True,
            )
        except Exception:
            # Refused or failed: the app answers (and logs) it through its error handlers.
            # Storing twice is harmless: the delivery id makes a second insert a no-op.
            return self.app(environ, start_response)
        if created is None:  # an event okr-jira ignores: the app answers 202 and logs it
            return self.app(environ, start_response)
        body = STORED_ANSWER if created else DUPLICATE_ANSWER
        start_response(
            "200 OK",
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(body))),
                # What the app's after-request hook adds to every answer.
                ("X-Content-Type-Options", "nosniff"),
                ("Cache-Control", "no-store"),
            ],
        )
        return [body]

    def _plain_length(self, environ: dict[str, Any]) -> int | None:
        """The body's length when the request is the common case, else None."""
        if (
            environ.get("REQUEST_METHOD") != "POST"
            or environ.get("PATH_INFO") != PATH
            or environ.get("QUERY_STRING")  # a URL token, or anything else for the app to judge
            or "HTTP_X_HUB_SIGNATURE" not in environ
            or "HTTP_TRANSFER_ENCODING" in environ
        ):
            return None
        mimetype = environ.get("CONTENT_TYPE", "").partition(";")[0].strip().lower()
        length = environ.get("CONTENT_LENGTH", "")
        if mimetype != "application/json" or not length.isdigit():
            return None
        n = int(length)
        return n if n <= self.state.max_bytes else None
