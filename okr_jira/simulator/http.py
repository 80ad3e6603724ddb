"""Small helpers for answering in Jira's JSON style."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, request

JSON_TYPE = "application/json;charset=UTF-8"


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, content_type=JSON_TYPE, headers=headers)


def error_response(status: int, *messages: str, errors: dict[str, str] | None = None) -> Response:
    return json_response({"errorMessages": list(messages), "errors": errors or {}}, status)


def base_url() -> str:
    return request.url_root.rstrip("/")


def body_json() -> dict[str, Any]:
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else {}


def list_param(name: str) -> list[str] | None:
    """A comma-separated and/or repeated query parameter, or None when absent."""
    raw = request.args.getlist(name)
    if not raw:
        return None
    return [part for value in raw for part in value.split(",") if part.strip()]


def list_value(value: Any) -> list[str] | None:
    """A JSON body's list-or-comma-string value."""
    if value is None:
        return None
    if isinstance(value, str):
        return [p for p in value.split(",") if p.strip()]
    return [str(v) for v in value]


def int_value(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default
