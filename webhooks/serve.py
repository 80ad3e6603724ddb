"""`okr-jira serve`: the development server, with URL tokens kept out of the access log."""

from __future__ import annotations

import re

from flask import Flask
from werkzeug.serving import WSGIRequestHandler, make_server

_TOKEN_IN_PATH = re.compile(r"(/webhooks/jira/)[^\s?]+")
_TOKEN_IN_QUERY = re.compile(r"([?&]token=)[^\s&]*")


def redact_url(text: str) -> str:
    return _TOKEN_IN_QUERY.sub(r"\1***", _TOKEN_IN_PATH.sub(r"\1***", text))


class RedactingHandler(WSGIRequestHandler):
    def log(self, type: str, message: str, *args: object) -> None:
        super().log(type, "%s", redact_url(message % args if args else message))


def serve(app: Flask, *, host: str, port: int) -> None:
    server = make_server(host, port, app, threaded=True, request_handler=RedactingHandler)
    print(f"okr-jira webhooks listening on http://{host}:{server.server_port}", flush=True)
    server.serve_forever()
