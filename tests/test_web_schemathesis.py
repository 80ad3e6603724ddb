"""Schemathesis against /api/openapi.json: generated requests (valid and not) to every operation
of the API with an admin token; none may answer a server error, and each status must be one the
document declares. (Driven by hand rather than by schemathesis' pytest plugin, whose fixture
loader does not run under pytest 9.)"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import status_code_conformance
from sqlalchemy import Engine

from tests.support.web_world import build_web_world


def test_the_api_never_answers_a_server_error(engine: Engine) -> None:
    world = build_web_world(engine)
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", world.app)
    headers = world.headers("admin")
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 18
    for operation in operations:

        @settings(
            max_examples=30, deadline=None, database=None,
            suppress_health_check=list(HealthCheck),
        )  # fmt: skip
        @given(case=operation.as_strategy())
        def check(case: schemathesis.Case) -> None:
            response = case.call(headers=headers)
            case.validate_response(response, checks=[not_a_server_error, status_code_conformance])

        try:
            check()
        except Exception as exc:  # every operation's failure, reported together
            failures.append(f"{operation.method.upper()} {operation.path}: {str(exc)[:800]}")
    assert failures == []
