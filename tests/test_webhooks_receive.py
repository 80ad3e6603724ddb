"""POST /webhooks/jira: authentication, validation and the inbox commit before the answer."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from okr_jira.errors import ConfigError
from okr_jira.inbox import drain
from okr_jira.settings import Settings, load_settings
from okr_jira.storage.db import make_engine
from okr_jira.storage.tables import WebhookEventRow
from tests.fixtures.webhooks import encode, headers, issue_event, load, sign
from tests.support.inbox_world import WORKER
from tests.support.paths import SESSION_SECRET
from webhooks import create_app
from webhooks.auth import signature

SECRET = "s3cr3t-for-tests-only"
URL = "/webhooks/jira"


@pytest.fixture
def app(engine: Engine, database_url: str) -> Flask:
    settings = Settings(
        database_url=database_url,
        webhook_secret=SECRET,
        webhook_max_bytes=65536,
        session_secret=SESSION_SECRET,
    )
    return create_app(settings, engine=engine)


@pytest.fixture
def client(app: Flask) -> Iterator[FlaskClient]:
    with app.test_client() as c:
        yield c


def stored(engine: Engine) -> list[WebhookEventRow]:
    with Session(engine) as s:
        return list(s.exec(select(WebhookEventRow).order_by(WebhookEventRow.id)))


def test_signature_matches_atlassians_test_vector() -> None:
    value = signature("It's a Secret to Everybody", b"Hello World!")
    assert value.startswith("sha256=a4771c39") and value.endswith("133263c9")


def test_signed_event_is_stored_before_the_answer(client: FlaskClient, engine: Engine) -> None:
    body = encode(issue_event("SUP-101"))
    resp = client.post(URL, data=body, headers=headers(body, secret=SECRET, delivery="d-1"))
    assert resp.status_code == 200
    assert resp.json == {"status": "stored"}
    (row,) = stored(engine)
    assert (row.delivery_id, row.event_type, row.issue_key, row.status) == (
        "d-1", "jira:issue_updated", "SUP-101", "pending"
    )  # fmt: skip
    assert row.issue_id == "10101" and row.event_ts is not None
    assert json.loads(row.body) == json.loads(body)


def test_unsigned_event_is_refused_and_not_stored(client: FlaskClient, engine: Engine) -> None:
    body = encode(issue_event())
    resp = client.post(URL, data=body, headers=headers(body, secret=None))
    assert resp.status_code == 401
    assert stored(engine) == []


def test_badly_signed_event_is_refused(client: FlaskClient, engine: Engine) -> None:
    body = encode(issue_event())
    hdrs = headers(body, secret="another-secret")
    assert client.post(URL, data=body, headers=hdrs).status_code == 401
    # Signed correctly, then altered in transit.
    hdrs = headers(body, secret=SECRET)
    assert client.post(URL, data=body + b" ", headers=hdrs).status_code == 401
    assert stored(engine) == []


def test_bad_signature_is_refused_even_with_the_right_token(
    client: FlaskClient, engine: Engine
) -> None:
    body = encode(issue_event())
    hdrs = headers(body, secret="another-secret")
    assert client.post(f"{URL}?token={SECRET}", data=body, headers=hdrs).status_code == 401
    assert stored(engine) == []


@pytest.mark.parametrize("url", [f"{URL}?token={SECRET}", f"{URL}/{SECRET}"])
def test_url_token_authenticates_jira_versions_that_cannot_sign(
    client: FlaskClient, engine: Engine, url: str
) -> None:
    body = encode(issue_event())
    assert client.post(url, data=body, headers=headers(body, secret=None)).status_code == 200
    assert len(stored(engine)) == 1


@pytest.mark.parametrize("url", [f"{URL}?token=wrong", f"{URL}/wrong", f"{URL}?token="])
def test_wrong_url_token_is_refused(client: FlaskClient, engine: Engine, url: str) -> None:
    body = encode(issue_event())
    assert client.post(url, data=body, headers=headers(body, secret=None)).status_code == 401
    assert stored(engine) == []


def test_the_receiver_refuses_to_start_without_a_secret(engine: Engine, database_url: str) -> None:
    with pytest.raises(ConfigError, match="OKR_JIRA_WEBHOOK_SECRET is not set"):
        create_app(
            Settings(database_url=database_url, session_secret=SESSION_SECRET), engine=engine
        )


@pytest.mark.parametrize("weak", ["", "x", "fifteen-chars!!"])
def test_a_short_secret_is_refused_naming_the_setting(database_url: str, weak: str) -> None:
    with pytest.raises(ConfigError, match=r"OKR_JIRA_WEBHOOK_SECRET: .*at least 16 characters"):
        load_settings(None, database_url=database_url, webhook_secret=weak)


def test_secret_and_token_never_reach_the_logs(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    body = encode(issue_event())
    client.post(f"{URL}/{SECRET}", data=body, headers=headers(body, secret=None))
    client.post(f"{URL}?token=guess-{SECRET}", data=body, headers=headers(body, secret=None))
    client.post(URL, data=body, headers=headers(body, secret="nope"))
    assert SECRET not in caplog.text


def test_a_retried_delivery_is_stored_once(client: FlaskClient, engine: Engine) -> None:
    body = encode(issue_event())
    hdrs = headers(body, secret=SECRET, delivery="same-delivery")
    first = client.post(URL, data=body, headers=hdrs)
    retry = client.post(URL, data=body, headers={**hdrs, "X-Atlassian-Webhook-Retry": "1"})
    assert (first.status_code, retry.status_code) == (200, 200)
    assert retry.json == {"status": "duplicate"}
    assert len(stored(engine)) == 1


def test_without_a_delivery_id_the_same_body_is_stored_once(
    client: FlaskClient, engine: Engine
) -> None:
    body = encode(issue_event())
    hdrs = {"Content-Type": "application/json", "X-Hub-Signature": sign(SECRET, body)}
    assert client.post(URL, data=body, headers=hdrs).json == {"status": "stored"}
    assert client.post(URL, data=body, headers=hdrs).json == {"status": "duplicate"}
    other = encode(issue_event(status="Done"))
    hdrs2 = {"Content-Type": "application/json", "X-Hub-Signature": sign(SECRET, other)}
    assert client.post(URL, data=other, headers=hdrs2).json == {"status": "stored"}
    assert len(stored(engine)) == 2


@pytest.mark.parametrize(
    ("fixture", "event", "key"),
    [
        ("cloud-issue_created", "jira:issue_created", "KAN-22"),
        ("cloud-2019-issue_updated-status", "jira:issue_updated", "INDEV-6"),
        ("server-issue_created-epic-link", "jira:issue_created", "BBCOM-1398"),
        ("issuelink_created", "issuelink_created", None),
        ("issuelink_deleted", "issuelink_deleted", None),
    ],
)
def test_real_payload_shapes_are_stored(
    client: FlaskClient, engine: Engine, fixture: str, event: str, key: str | None
) -> None:
    body = encode(load(fixture))
    assert client.post(URL, data=body, headers=headers(body, secret=SECRET)).status_code == 200
    (row,) = stored(engine)
    assert (row.event_type, row.issue_key) == (event, key)


def test_other_events_are_acknowledged_and_ignored(client: FlaskClient, engine: Engine) -> None:
    body = encode({"webhookEvent": "comment_created", "timestamp": 1, "comment": {"id": "1"}})
    resp = client.post(URL, data=body, headers=headers(body, secret=SECRET))
    assert resp.status_code == 202
    assert stored(engine) == []


def test_oversized_body_gets_413(client: FlaskClient, engine: Engine) -> None:
    payload = issue_event()
    payload["issue"]["fields"]["description"] = "x" * 70_000
    body = encode(payload)
    resp = client.post(URL, data=body, headers=headers(body, secret=SECRET))
    assert resp.status_code == 413
    assert resp.is_json
    assert stored(engine) == []


def test_wrong_content_type_gets_415(client: FlaskClient) -> None:
    body = encode(issue_event())
    hdrs = {**headers(body, secret=SECRET), "Content-Type": "text/plain"}
    assert client.post(URL, data=body, headers=hdrs).status_code == 415
    del hdrs["Content-Type"]
    assert client.post(URL, data=body, headers=hdrs).status_code == 415


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[1, 2, 3]",
        b'"a string"',
        b"\xff\xfe\x00garbage",
        b"[" * 30_000 + b"]" * 30_000,  # deeper than the parser can recurse
        b'{"webhookEvent": "jira:issue_updated"}',
        b'{"webhookEvent": "jira:issue_updated", "issue": {"key": "not a key"}}',
        b'{"webhookEvent": "jira:issue_updated", "issue": {"key": "A-1", "fields": []}}',
        b'{"webhookEvent": 5}',
        b'{"webhookEvent": "issuelink_created"}',
    ],
)
def test_malformed_bodies_get_400(client: FlaskClient, engine: Engine, body: bytes) -> None:
    resp = client.post(URL, data=body, headers=headers(body, secret=SECRET))
    assert resp.status_code == 400
    assert stored(engine) == []


def test_get_on_the_webhook_url_is_405_json(client: FlaskClient) -> None:
    resp = client.get(URL)
    assert resp.status_code == 405 and resp.is_json


def test_database_outage_answers_503_so_jira_retries(tmp_path: object) -> None:
    url = "postgresql+psycopg://nobody@127.0.0.1:9/none?connect_timeout=1"
    app = create_app(
        Settings(database_url=url, webhook_secret=SECRET, session_secret=SESSION_SECRET),
        engine=make_engine(url),
    )
    body = encode(issue_event())
    resp = app.test_client().post(URL, data=body, headers=headers(body, secret=SECRET))
    assert resp.status_code == 503
    assert "nobody" not in resp.get_data(as_text=True)


def test_a_signed_event_gets_the_same_answer_whichever_way_the_app_takes(
    client: FlaskClient, engine: Engine
) -> None:
    # Without a query string the receiver answers before Flask builds a request
    # (webhooks/fastpath.py); with one, the Flask route answers. Same answers, same rows.
    answers = []
    for n, query in enumerate(("", "?via=flask", "", "?via=flask")):
        body = encode(issue_event(f"SUP-{101 + n // 2}"))
        resp = client.post(URL + query, data=body, headers=headers(body, secret=SECRET))
        answers.append((resp.status_code, resp.get_data(), sorted(resp.headers.items())))
    fast, flask_route, fast_again, flask_again = answers
    assert fast == flask_route
    assert fast_again == flask_again
    assert [r.issue_key for r in stored(engine)] == ["SUP-101", "SUP-101", "SUP-102", "SUP-102"]
    bad = encode(issue_event("SUP-103"))
    refused = client.post(URL, data=bad, headers=headers(bad, secret="not-the-secret"))
    assert refused.status_code == 401
    assert refused.get_json()["error"] == "unauthorized"


def test_a_pooled_connection_the_server_dropped_is_replaced(
    database_url: str, engine: Engine
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("a server that drops connections: PostgreSQL")
    settings = Settings(database_url=database_url, webhook_secret=SECRET,
                        session_secret=SESSION_SECRET)  # fmt: skip
    receiver = make_engine(database_url, pool_pre_ping=False, pool_size=1)
    client = create_app(settings, engine=receiver).test_client()

    def post(key: str, query: str = "") -> int:
        body = encode(issue_event(key))
        return client.post(URL + query, data=body, headers=headers(body, secret=SECRET)).status_code

    def drop_the_pooled_connection() -> None:
        with receiver.connect() as conn:  # the one pooled connection: its server process
            pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        with engine.connect() as admin:
            admin.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)})")

    assert post("SUP-101") == 200
    drop_the_pooled_connection()
    # The common path drops the dead connection and hands the event to the route, which stores
    # it on a new one: Jira sees no error.
    assert post("SUP-102") == 200
    drop_the_pooled_connection()
    # The route alone answers 503 (Jira retries), and the next delivery finds a new connection.
    assert post("SUP-103", "?via=flask") == 503
    assert post("SUP-103", "?via=flask") == 200
    assert [r.issue_key for r in stored(engine)] == ["SUP-101", "SUP-102", "SUP-103"]
    receiver.dispose()


def test_half_a_utf16_pair_is_replaced_on_receipt_so_the_event_applies(
    client: FlaskClient, engine: Engine
) -> None:
    payload = issue_event("SUP-101")
    payload["issue"]["fields"]["summary"] = "broken \ud800 text"
    body = json.dumps(payload).encode()  # "\ud800" as JSON escapes it: valid JSON, bad text
    assert b"\\ud800" in body
    resp = client.post(URL, data=body, headers=headers(body, secret=SECRET))
    assert resp.status_code == 200
    (row,) = stored(engine)
    assert json.loads(row.body)["issue"]["fields"]["summary"] == "broken \ufffd text"
    result = drain(engine=engine, options=WORKER)
    assert (result.applied, result.failed) == (1, 0)


def test_a_chunked_body_over_the_limit_is_refused_whole(
    client: FlaskClient, engine: Engine
) -> None:
    payload = issue_event("SUP-101")
    payload["issue"]["fields"]["description"] = "x" * 70_000  # over this app's 64 KiB
    body = encode(payload)
    resp = client.post(
        URL,
        input_stream=io.BytesIO(body),
        headers=headers(body, secret=SECRET) | {"Transfer-Encoding": "chunked"},
    )
    assert resp.status_code == 413
    assert stored(engine) == []
