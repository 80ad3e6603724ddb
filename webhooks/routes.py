"""POST /webhooks/jira: authenticate, parse, store, answer. And /healthz, /readyz, /metrics.

Nothing is applied inside the request: the raw event is committed to the inbox before the 2xx,
and the worker applies it later (Jira expects a fast answer and retries on 5xx).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from okr_jira.errors import SchemaBehindError
from okr_jira.storage.db import check_schema, ping
from okr_jira.storage.inbox import store_event
from webhooks.auth import SIGNATURE_HEADER, authenticate
from webhooks.bodies import read_body
from webhooks.errors import BadPayload, UnsupportedMediaType
from webhooks.metrics import render_metrics
from webhooks.payloads import (
    Envelope,
    PayloadError,
    decode_body,
    delivery_id,
    may_hold_lone_surrogates,
    parse_envelope,
    replace_lone_surrogates,
)

log = logging.getLogger(__name__)

bp = Blueprint("webhooks", __name__)
DELIVERY_HEADER = "X-Atlassian-Webhook-Identifier"
STORED_ANSWER = b'{"status":"stored"}\n'
DUPLICATE_ANSWER = b'{"status":"duplicate"}\n'


@dataclass(frozen=True)
class WebhookState:
    """What the routes need, built once by create_app."""

    engine: Engine
    secret: str | None
    max_bytes: int


def state() -> WebhookState:
    found: WebhookState = current_app.extensions["okr_jira"]
    return found


@bp.post("/webhooks/jira")
@bp.post("/webhooks/jira/<token>")
def receive(token: str | None = None) -> tuple[Response, int]:
    st = state()
    if request.mimetype != "application/json":
        raise UnsupportedMediaType("send the event as application/json")
    raw = read_body(st.max_bytes)
    envelope, created = accept(
        st,
        raw,
        signature_header=request.headers.get(SIGNATURE_HEADER),
        token=token if token is not None else request.args.get("token"),
        delivery_header=request.headers.get(DELIVERY_HEADER),
    )
    if created is None:
        log.info("webhooks.ignored", extra={"event": envelope.event_type})
        return jsonify({"status": "ignored", "event": envelope.event_type}), 202
    # The hot path's answer is a constant: no JSON encoding per request.
    answer = STORED_ANSWER if created else DUPLICATE_ANSWER
    return Response(answer, mimetype="application/json"), 200


def accept(
    st: WebhookState,
    raw: bytes,
    *,
    signature_header: str | None,
    token: str | None,
    delivery_header: str | None,
    verified: bool = False,
) -> tuple[Envelope, bool | None]:
    """Authenticate, parse and, for an event okr-jira keeps, commit it to the inbox: the envelope
    and whether it was new (None: an event okr-jira ignores, nothing stored). Raises ApiError
    (401, 400) or DBAPIError, which the app's error handlers answer. `verified`: the caller has
    already checked the signature (the fast path), so the HMAC is not computed twice."""
    if not verified:
        authenticate(secret=st.secret, body=raw, signature_header=signature_header, token=token)
    try:
        data = decode_body(raw)
        envelope = parse_envelope(data, delivery=delivery_id(delivery_header, raw))
    except PayloadError as exc:
        raise BadPayload(str(exc)) from None
    if not envelope.stored:
        return envelope, None
    try:
        body = raw.decode("utf-8-sig")
    except UnicodeDecodeError:  # JSON in UTF-16/32: keep it as UTF-8 text
        body = json.dumps(data)
    if may_hold_lone_surrogates(raw) and replace_lone_surrogates(data):
        # Text no database can store (half a UTF-16 pair): U+FFFD in its place, so the worker
        # applies the event instead of failing on it.
        body = json.dumps(data)
    created = store_event(
        engine=st.engine,
        delivery_id=envelope.delivery_id,
        event_type=envelope.event_type,
        body=body,
        issue_key=envelope.issue_key,
        issue_id=envelope.issue_id,
        event_ts=envelope.event_ts,
    )
    if not created:
        log.info("webhooks.duplicate", extra={"event": envelope.event_type})
    return envelope, created


@bp.get("/healthz")
def healthz() -> Response:
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    engine = state().engine
    try:
        ping(engine)
        check_schema(engine)
    except DBAPIError as exc:
        log.warning("webhooks.not_ready", extra={"error": type(exc.orig).__name__})
        return jsonify({"status": "unavailable", "reason": "database unreachable"}), 503
    except SchemaBehindError as exc:
        return jsonify({"status": "unavailable", "reason": str(exc)}), 503
    return jsonify({"status": "ready"}), 200


@bp.get("/metrics")
def metrics() -> Response:
    return Response(
        render_metrics(state().engine), content_type="text/plain; version=0.0.4; charset=utf-8"
    )
