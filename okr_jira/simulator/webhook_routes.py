"""Webhook registration in the simulated Jira: admin webhooks and Cloud's dynamic webhooks.

Admin webhooks (`/rest/webhooks/1.0/webhook`, Cloud and Data Center; Jira administrators only):
list, create, get, update (PUT replaces the webhook) and delete; the JQL filter sits under
`filters["issue-related-events-section"]` and a secret, when given, signs each delivery. Jira never
shows the secret back. Dynamic webhooks (`/rest/api/3/webhook`, Cloud only) are for OAuth 2.0 and
Connect apps: API-token credentials get 403 unless `JiraSim.oauth_app` plays such an app.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import Flask, Response, request

from okr_jira.jql import JqlError
from okr_jira.simulator.http import base_url, body_json, error_response, int_value, json_response
from okr_jira.simulator.jira import JiraSim
from okr_jira.simulator.webhooks import ISSUE_EVENTS, WebhookRegistration

ADMIN = "/rest/webhooks/1.0/webhook"
DYNAMIC = "/rest/api/3/webhook"
APPS_ONLY = "Only Connect and OAuth 2.0 apps can use this operation."


def register_webhook_routes(app: Flask, sim: JiraSim, current_user: Callable[[], str]) -> None:
    cloud = sim.flavor == "cloud"

    def admin_json(hook: WebhookRegistration) -> dict[str, Any]:
        return {
            "self": f"{base_url()}{ADMIN}/{hook.id}",
            "name": hook.name,
            "url": hook.url,
            "events": list(hook.events),
            "filters": {"issue-related-events-section": hook.jql or ""},
            "excludeBody": False,
            "enabled": hook.enabled,
            "lastUpdatedUser": current_user(),
            "lastUpdatedDisplayName": sim.users[current_user()].display_name,
        }

    def admin_body() -> tuple[dict[str, Any], Response | None]:
        """The webhook a POST or PUT describes, or the 400 Jira answers."""
        body = body_json()
        url = body.get("url")
        if not isinstance(url, str) or not url:
            return {}, error_response(400, "The webhook URL is required.")
        jql = (body.get("filters") or {}).get("issue-related-events-section") or None
        if jql:
            try:
                sim.parse(jql)
            except JqlError as exc:
                return {}, json_response(exc.response_body(), 400)
        return {
            "url": url,
            "events": body.get("events") or ISSUE_EVENTS,
            "jql": jql,
            "name": str(body.get("name") or ""),
            "secret": body.get("secret"),
        }, None

    def admin_hook(hook_id: int) -> WebhookRegistration | None:
        return next((h for h in sim.webhooks if h.id == hook_id and h.source == "admin"), None)

    @app.post(ADMIN)
    def admin_webhook_create() -> Response:
        spec, refused = admin_body()
        if refused is not None:
            return refused
        spec["secret"] = spec["secret"] or None
        return json_response(admin_json(sim.register_webhook(**spec)), 201)

    @app.get(ADMIN)
    def admin_webhook_list() -> Response:
        return json_response([admin_json(h) for h in sim.webhooks if h.source == "admin"])

    @app.get(f"{ADMIN}/<int:hook_id>")
    def admin_webhook_get(hook_id: int) -> Response:
        hook = admin_hook(hook_id)
        if hook is None:
            return error_response(404, "Webhook not found.")
        return json_response(admin_json(hook))

    @app.put(f"{ADMIN}/<int:hook_id>")
    def admin_webhook_update(hook_id: int) -> Response:
        if admin_hook(hook_id) is None:
            return error_response(404, "Webhook not found.")
        spec, refused = admin_body()
        if refused is not None:
            return refused
        hook = sim.update_webhook(hook_id, **spec)
        assert hook is not None
        return json_response(admin_json(hook))

    @app.delete(f"{ADMIN}/<int:hook_id>")
    def admin_webhook_delete(hook_id: int) -> Response:
        if admin_hook(hook_id) is None or not sim.remove_webhook(hook_id):
            return error_response(404, "Webhook not found.")
        return Response(status=204)

    if not cloud:
        return

    def apps_only() -> Response | None:
        return None if sim.oauth_app else error_response(403, APPS_ONLY)

    def expiry_ms() -> int:
        return int((sim.clock() + timedelta(days=30)).timestamp() * 1000)

    @app.post(DYNAMIC)
    def dynamic_webhook_create() -> Response:
        if (refused := apps_only()) is not None:
            return refused
        body = body_json()
        url = body.get("url")
        if not isinstance(url, str) or not url:
            return error_response(400, "Invalid request payload.")
        results: list[dict[str, Any]] = []
        for item in body.get("webhooks") or []:
            jql = item.get("jqlFilter")
            if not jql:
                results.append({"errors": ["The JQL filter is required."]})
                continue
            try:
                sim.parse(jql)
            except JqlError as exc:
                results.append({"errors": exc.messages})
                continue
            hook = sim.register_webhook(
                url,
                events=item.get("events") or (),
                jql=jql,
                secret=body.get("secret") or None,  # sim extension: sign dynamic deliveries
                source="dynamic",
            )
            results.append({"createdWebhookId": hook.id})
        return json_response({"webhookRegistrationResult": results})

    @app.get(DYNAMIC)
    def dynamic_webhook_list() -> Response:
        if (refused := apps_only()) is not None:
            return refused
        hooks = [h for h in sim.webhooks if h.source == "dynamic"]
        start = max(int_value(request.args.get("startAt"), 0), 0)
        limit = min(max(int_value(request.args.get("maxResults"), 100), 1), 100)
        page = hooks[start : start + limit]
        return json_response(
            {
                "maxResults": limit,
                "startAt": start,
                "total": len(hooks),
                "isLast": start + limit >= len(hooks),
                "values": [
                    {
                        "id": h.id,
                        "jqlFilter": h.jql,
                        "events": list(h.events),
                        "url": h.url,
                        "expirationDate": expiry_ms(),
                    }
                    for h in page
                ],
            }
        )

    @app.delete(DYNAMIC)
    def dynamic_webhook_delete() -> Response:
        if (refused := apps_only()) is not None:
            return refused
        for hook_id in body_json().get("webhookIds") or []:
            sim.remove_webhook(int(hook_id))
        return Response(status=202)

    @app.put(f"{DYNAMIC}/refresh")
    def dynamic_webhook_refresh() -> Response:
        if (refused := apps_only()) is not None:
            return refused
        return json_response({"expirationDate": expiry_ms()})
