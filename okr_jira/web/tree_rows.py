"""The tree page's rows: the stored report as flat rows, rendered to HTML once per distinct content.

Rendering 2,000 key results through Jinja costs more than reading and rolling them up; the rows
are what the fragment shows, so a fragment is reused only for byte-identical rows (no
invalidation to get wrong: any change of progress, title, filter, day or threshold changes a row).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Any

from flask import render_template, url_for
from markupsafe import Markup

from okr_jira.domain import pace
from okr_jira.render.words import percent

PACE_LABELS = {
    "not_started": "Not started", "on_track": "On track", "at_risk": "At risk",
    "off_track": "Off track", "done": "Done",
}  # fmt: skip
_KEPT = 8  # distinct fragments kept (cycles x filters in use); each is about 0.4 KB per row
_fragments: OrderedDict[str, Markup] = OrderedDict()
_lock = threading.Lock()


def tree_fragment(report: Any, shown: set[str]) -> Markup:
    rows = tree_rows(report, shown)
    key = hashlib.blake2b(repr(rows).encode(), digest_size=16).hexdigest()
    with _lock:
        html = _fragments.get(key)
        if html is not None:
            _fragments.move_to_end(key)
            return html
    html = Markup(render_template("tree_rows.html", rows=rows))
    with _lock:
        _fragments[key] = html
        while len(_fragments) > _KEPT:
            _fragments.popitem(last=False)
    return html


def tree_rows(report: Any, shown: set[str]) -> list[dict[str, Any]]:
    """The tree as flat rows (objective, then its key results, then its aligned objectives),
    computed here once: a template macro per row costs more than the whole page otherwise."""
    obj_url = url_for("pages.objective", key="__K__")
    kr_url = url_for("pages.key_result", key="__K__")
    teams = {k: t.name for k, t in report.teams.items()}
    rows: list[dict[str, Any]] = []

    def measure(progress: float) -> dict[str, Any]:
        status = report.status(progress)
        return {"pct": percent(progress), "width": f"{progress * 100:.1f}",
                "status": status, "label": PACE_LABELS[status]}  # fmt: skip

    stack = [(node, 0, None) for node in reversed(report.nodes)]
    while stack:
        node, depth, parent = stack.pop()
        o = node.objective
        if o.key not in shown:
            continue
        value = pace.score(node.progress)
        rows.append({
            "kind": "objective", "depth": depth, "key": o.key, "title": o.title,
            "url": obj_url.replace("__K__", o.key), "team": teams.get(o.team, o.team),
            "score": f"{value:.2f}", "grade": pace.grade(value), "parent": parent,
            **measure(node.progress),
        })  # fmt: skip
        for kr, st in node.key_results:
            rows.append({
                "kind": "kr", "depth": depth, "key": kr.key, "title": kr.title,
                "url": kr_url.replace("__K__", kr.key), "error": st.error,
                **measure(st.progress),
            })  # fmt: skip
        stack.extend((child, depth + 1, o.key) for child in reversed(node.children))
    return rows
