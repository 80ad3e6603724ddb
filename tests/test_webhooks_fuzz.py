"""Whatever a client sends, the receiver answers with a 2xx/4xx, never a 500."""

from __future__ import annotations

import json
from typing import Any

from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from okr_jira.settings import Settings
from tests.fixtures.webhooks import issue_event, sign
from tests.support.paths import SESSION_SECRET
from webhooks import create_app

SECRET = "fuzz-secret-value"
ANSWERS = {200, 202, 400, 401, 404, 405, 413, 415}

header_text = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=300
)
json_leaf = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30)
json_value = st.recursive(
    json_leaf,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)
events = st.sampled_from(
    ["jira:issue_created", "jira:issue_updated", "jira:issue_deleted", "issuelink_created",
     "issuelink_deleted", "comment_created", ""]
)  # fmt: skip


@st.composite
def payloads(draw: st.DrawFn) -> Any:
    kind = draw(st.integers(0, 3))
    if kind == 0:
        return draw(json_value)
    if kind == 1:
        base = issue_event()
        base["webhookEvent"] = draw(events)
        base["timestamp"] = draw(json_value)
        base["issue"]["key"] = draw(st.text(max_size=20) | st.just("SUP-12") | json_value)
        base["issue"]["id"] = draw(json_value)
        base["issue"]["fields"] = draw(st.just(base["issue"]["fields"]) | json_value)
        return base
    if kind == 2:
        return {"webhookEvent": draw(events), "issueLink": draw(json_value), "x": draw(json_value)}
    return {"webhookEvent": draw(events), "issue": draw(json_value)}


@st.composite
def requests_(draw: st.DrawFn) -> tuple[str, bytes, dict[str, str]]:
    if draw(st.booleans()):
        body = draw(st.binary(max_size=2000))
    else:
        body = json.dumps(draw(payloads())).encode()  # NaN included: Python accepts it
    hdrs: dict[str, str] = {}
    content_type = draw(
        st.sampled_from(["application/json", "application/json; charset=utf-8", "text/plain", ""])
        | header_text
    )
    if content_type:
        hdrs["Content-Type"] = content_type
    signing = draw(st.sampled_from(["good", "bad", "none"]))
    if signing == "good":
        hdrs["X-Hub-Signature"] = sign(SECRET, body)
    elif signing == "bad":
        hdrs["X-Hub-Signature"] = draw(header_text)
    if draw(st.booleans()):
        hdrs["X-Atlassian-Webhook-Identifier"] = draw(header_text)
    url = draw(
        st.sampled_from(["/webhooks/jira", f"/webhooks/jira?token={SECRET}", "/webhooks/jira/x"])
    )
    return url, body, hdrs


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(request=requests_())
def test_no_request_yields_a_server_error(
    engine: Engine, database_url: str, request: tuple[str, bytes, dict[str, str]]
) -> None:
    app = _app(engine, database_url)
    url, body, hdrs = request
    resp = app.test_client().post(url, data=body, headers=hdrs)
    assert resp.status_code in ANSWERS, resp.get_data(as_text=True)
    assert resp.is_json


_apps: dict[str, Flask] = {}


def _app(engine: Engine, database_url: str) -> Flask:
    # One app per test database (the fixture is function-scoped; hypothesis reuses it).
    if database_url not in _apps:
        settings_ = Settings(
            database_url=database_url, webhook_secret=SECRET, session_secret=SESSION_SECRET
        )
        _apps.clear()
        _apps[database_url] = create_app(settings_, engine=engine)
    return _apps[database_url]
