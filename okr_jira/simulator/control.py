"""Simulator-only routes under /_sim/: stats, faults and issue mutations for tests and demos."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask, Response

from okr_jira.simulator.faults import Faults, Stats
from okr_jira.simulator.http import body_json, error_response, json_response
from okr_jira.simulator.jira import JiraSim, SimEvent


def register_control_routes(
    app: Flask, sim: JiraSim | None, faults: Faults, stats: Stats, confluence: Any = None
) -> None:
    @app.get("/_sim/stats")
    def get_stats() -> Response:
        return json_response(stats.to_dict())

    @app.post("/_sim/stats/reset")
    def reset_stats() -> Response:
        stats.reset()
        return json_response(stats.to_dict())

    @app.get("/_sim/faults")
    def get_faults() -> Response:
        return json_response(faults.to_dict())

    @app.post("/_sim/faults")
    def set_faults() -> Response:
        try:
            faults.apply(body_json())
        except (TypeError, ValueError, AttributeError) as exc:
            return error_response(400, f"bad fault spec: {exc}")
        return json_response(faults.to_dict())

    if confluence is not None:

        @app.post("/_sim/confluence/permissions")
        def confluence_permissions() -> Response:
            """{"deny": ["create", "update"]}: what the API user may no longer do to pages
            (an empty list gives every permission back)."""
            denied = {str(op) for op in body_json().get("deny") or []}
            unknown = denied - {"create", "update", "delete"}
            if unknown:
                return error_response(400, f"unknown operations: {sorted(unknown)}")
            confluence.denied = denied
            return json_response({"denied": sorted(denied)})

    if sim is None:
        return

    @app.post("/_sim/jira/oauth-app")
    def oauth_app() -> Response:
        """{"enabled": true}: the credentials act as an OAuth 2.0 app's (dynamic webhooks)."""
        sim.oauth_app = bool(body_json().get("enabled", True))
        return json_response({"oauth_app": sim.oauth_app})

    @app.post("/_sim/clock")
    def advance_clock() -> Response:
        """{"advance_seconds": N}: the simulated site's clock moves N seconds ahead of real time
        (a quiet hour without waiting for it); answers the simulated time."""
        try:
            ahead = timedelta(seconds=float(body_json().get("advance_seconds", 0)))
        except (TypeError, ValueError) as exc:
            return error_response(400, f"bad clock change: {exc}")
        sim.clock = lambda: datetime.now(UTC) + ahead
        return json_response({"now": sim.clock().isoformat()})

    def answer(event: SimEvent, status: int = 200) -> Response:
        return json_response({"key": event.key, "payload": event.payload}, status)

    @app.post("/_sim/issues")
    def create_issue() -> Response:
        body = body_json()
        try:
            event = sim.create_issue(
                str(body.pop("project")),
                str(body.pop("issue_type", "Task")),
                str(body.pop("summary", "New issue")),
                at=_at(body.pop("at", None)),
                **body,
            )
        except (KeyError, TypeError, ValueError) as exc:
            return error_response(400, f"cannot create issue: {exc}")
        return answer(event, 201)

    @app.route("/_sim/issues/<key>", methods=["PUT", "PATCH"])
    def update_issue(key: str) -> Response:
        body = body_json()
        at = _at(body.pop("at", None))
        try:
            event = None
            if "project" in body:
                event = sim.move_issue(key, str(body.pop("project")), at=at)
                key = event.key
            if body or event is None:
                event = sim.update_issue(key, at=at, **body)
        except KeyError:
            return error_response(
                404, "Issue does not exist or you do not have permission to see it."
            )
        except (TypeError, ValueError) as exc:
            return error_response(400, f"cannot update issue: {exc}")
        return answer(event)

    @app.delete("/_sim/issues/<key>")
    def delete_issue(key: str) -> Response:
        try:
            return answer(sim.delete_issue(key))
        except KeyError:
            return error_response(
                404, "Issue does not exist or you do not have permission to see it."
            )

    @app.post("/_sim/webhook")
    def set_webhook_target() -> Response:
        body = body_json()
        sim.webhook_url = body.get("url") or None
        sim.webhook_secret = body.get("secret") or None
        return json_response({"url": sim.webhook_url})

    @app.post("/_sim/webhooks/flush")
    def flush_webhooks() -> Response:
        done = sim.flush_webhooks(float(body_json().get("timeout", 10)))
        return json_response(
            {"flushed": done, "deliveries": [vars(r) for r in sim.deliverer.results[-50:]]}
        )


def _at(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None
