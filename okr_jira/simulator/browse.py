"""`/browse/KEY`: the issue page people open from a link (the preview, Confluence, the web app).

A plain HTML page with what Jira's issue view leads with: key, summary, status, type, epic or
parent, story points, assignee. Served without credentials, as a signed-in browser would see it.
"""

from __future__ import annotations

from html import escape

from flask import Flask, Response

from okr_jira.simulator.jira import JiraSim

_STYLE = (
    "body{font-family:system-ui,sans-serif;margin:2rem;max-width:46rem;color:#172b4d}"
    "dt{font-weight:600;margin-top:.6rem}dd{margin:0}.key{color:#5e6c84}"
)


def register_browse_routes(app: Flask, sim: JiraSim) -> None:
    @app.get("/browse/<key>")
    def browse(key: str) -> Response:
        with sim.lock:
            rec = sim.get(key)
            if rec is None:
                body = f"<h1>{escape(key)}</h1><p>This issue does not exist in the simulator.</p>"
                return _page(key, body, 404)
            assignee = sim.users[rec.assignee].display_name if rec.assignee else "Unassigned"
            rows = [
                ("Status", f"{rec.status} ({rec.status_category})"),
                ("Type", rec.issue_type),
                ("Project", rec.project),
                ("Epic", rec.epic or "-"),
                ("Parent", rec.parent or "-"),
                ("Story points", "-" if rec.story_points is None else f"{rec.story_points:g}"),
                ("Assignee", assignee),
                ("Updated", rec.updated.isoformat(timespec="seconds")),
            ]
            details = "".join(f"<dt>{escape(n)}</dt><dd>{escape(v)}</dd>" for n, v in rows)
            body = (
                f'<p class="key">{escape(rec.key)}</p><h1>{escape(rec.summary)}</h1>'
                f"<dl>{details}</dl>"
            )
            return _page(f"[{rec.key}] {rec.summary}", body, 200)


def _page(title: str, body: str, status: int) -> Response:
    html = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)} - Jira "
        f"simulator</title><style>{_STYLE}</style></head><body>{body}</body></html>"
    )
    return Response(html, status=status, content_type="text/html; charset=utf-8")
