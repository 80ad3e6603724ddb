"""The network policy (timeouts, retries, Retry-After, in-flight bound) against simulator faults."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import flask
import pytest
import requests
from werkzeug.serving import make_server

from okr_jira.adapters.http import RetryPolicy, make_session, retry_after, session_stats
from okr_jira.adapters.jira import JiraAdapter, JiraError
from okr_jira.simulator import SimulatorServer, generate
from tests.support.threads import join_all


class Sleeps:
    """A fake `sleep` that records the delays asked for."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def sim() -> Iterator[SimulatorServer]:
    with SimulatorServer("cloud", jira=generate("small", flavor="cloud", deliver=False)) as srv:
        yield srv


def adapter(server: SimulatorServer, policy: RetryPolicy) -> JiraAdapter:
    c = server.credentials
    return JiraAdapter(server.url, user=c.email, token=c.api_token, flavor="cloud", policy=policy)


def test_rate_limit_storm_waits_as_long_as_retry_after_says(sim: SimulatorServer) -> None:
    sleeps = Sleeps()
    jira = adapter(sim, RetryPolicy(max_retries=5, sleep=sleeps))
    sim.faults.rate_limit(3, retry_after=7)
    assert jira.search_keys("project = SUP AND key = SUP-1") == ["SUP-1"]
    assert sleeps.delays == [7, 7, 7]
    assert jira.stats.snapshot() == {"sent": 4, "retries": 3, "throttled": 3}


def test_rate_limit_storm_gives_up_after_the_retry_bound(sim: SimulatorServer) -> None:
    sleeps = Sleeps()
    jira = adapter(sim, RetryPolicy(max_retries=2, sleep=sleeps))
    sim.faults.rate_limit(10, retry_after=1)
    with pytest.raises(JiraError) as caught:
        jira.count("project = SUP")
    assert caught.value.status == 429
    assert len(sleeps.delays) == 2
    assert sim.stats.total == 3  # the library itself did not retry behind the policy's back


def test_a_retry_after_beyond_the_bound_fails_at_once(sim: SimulatorServer) -> None:
    sleeps = Sleeps()
    jira = adapter(sim, RetryPolicy(max_retry_after=60, sleep=sleeps))
    sim.faults.rate_limit(1, retry_after=3600)
    with pytest.raises(JiraError) as caught:
        jira.count("project = SUP")
    assert caught.value.status == 429 and "Rate limit" in caught.value.message
    assert sleeps.delays == []


def test_server_errors_are_retried_with_growing_jittered_backoff(sim: SimulatorServer) -> None:
    sleeps = Sleeps()
    policy = RetryPolicy(max_retries=4, backoff_base=1.0, backoff_cap=3.0, sleep=sleeps)
    jira = adapter(sim, policy)
    sim.faults.fail(2, status=500)
    sim.faults.fail(2, status=503)
    assert jira.count("project = SUP") > 0
    assert len(sleeps.delays) == 4
    for attempt, delay in enumerate(sleeps.delays):
        ceiling = min(3.0, 1.0 * 2**attempt)
        assert ceiling / 2 <= delay <= ceiling


def test_server_errors_give_up_after_the_retry_bound(sim: SimulatorServer) -> None:
    sleeps = Sleeps()
    jira = adapter(sim, RetryPolicy(max_retries=3, sleep=sleeps))
    sim.faults.fail(10, status=502)
    with pytest.raises(JiraError) as caught:
        jira.fields()
    assert caught.value.status == 502
    assert sim.stats.total == 4


def test_client_errors_are_not_retried(sim: SimulatorServer) -> None:
    sleeps = Sleeps()
    jira = adapter(sim, RetryPolicy(sleep=sleeps))
    with pytest.raises(JiraError) as caught:
        jira.count("project = NOPE")
    assert caught.value.status == 400 and "NOPE" in caught.value.message
    assert sleeps.delays == [] and sim.stats.total == 1


def test_every_call_times_out_and_timeouts_are_retried_then_reported(
    sim: SimulatorServer,
) -> None:
    sleeps = Sleeps()
    jira = adapter(sim, RetryPolicy(timeout=0.05, max_retries=2, sleep=sleeps))
    sim.faults.latency_ms = 400
    with pytest.raises(JiraError) as caught:
        jira.count("project = SUP")
    assert caught.value.status is None and "Timeout" in caught.value.message
    assert len(sleeps.delays) == 2
    assert jira.stats.snapshot()["sent"] == 3


def test_a_request_that_is_not_safe_to_repeat_is_not_retried_after_a_timeout(
    sim: SimulatorServer,
) -> None:
    sleeps = Sleeps()
    session = make_session(RetryPolicy(timeout=0.05, max_retries=3, sleep=sleeps))
    sim.faults.latency_ms = 400
    with pytest.raises(requests.Timeout):
        session.post(f"{sim.url}/rest/api/2/issue", json={"fields": {"summary": "x"}})
    assert sleeps.delays == []


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert retry_after({"Retry-After": "12"}) == 12
    assert retry_after({}) is None
    assert retry_after({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0
    assert retry_after({"Retry-After": "soon"}) is None


def test_requests_in_flight_never_exceed_the_bound() -> None:
    app = flask.Flask("concurrency-probe")
    lock = threading.Lock()
    state = {"now": 0, "peak": 0}
    release = threading.Event()

    @app.get("/slow")
    def slow() -> str:
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
        release.wait(0.3)
        with lock:
            state["now"] -= 1
        return "ok"

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        session = make_session(RetryPolicy(max_in_flight=2, timeout=5))
        url = f"http://127.0.0.1:{server.server_port}/slow"
        workers = [threading.Thread(target=session.get, args=(url,)) for _ in range(6)]
        for w in workers:
            w.start()
        join_all(workers, 10)
        assert state["peak"] == 2
        assert session_stats(session).snapshot()["sent"] == 6
    finally:
        release.set()
        server.shutdown()
        join_all([thread], 5)
        server.server_close()
