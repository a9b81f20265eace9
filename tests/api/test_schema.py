"""Schemathesis against the OpenAPI schema: generated requests (bounded examples, editor key)
never crash the server, and every response matches the schema it declares."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from .service import make_service

MAX_EXAMPLES = 5
#: Operations that start background work sized by the request (up to 200k synthetic customers):
#: covered by test_api.py with small inputs, not fuzzed, to keep the suite fast.
BACKGROUND = {"POST /api/v1/datasets/demo"}


@pytest.fixture(scope="session")
def fuzz_service(tmp_path_factory):
    # its own small workspace: generated DELETEs and builds never touch the other tests' data
    return make_service(tmp_path_factory.mktemp("fuzz-home"), n=600)


@pytest.mark.slow
def test_api_conforms_to_its_schema(fuzz_service):
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzz_service.app)
    key = fuzz_service.editor_key
    seen = []
    for result in schema.get_all_operations():
        op = result.ok()
        seen.append(op.label)
        if op.label in BACKGROUND:
            continue

        @given(case=op.as_strategy())
        @settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case):
            case.headers = {**(case.headers or {}), "X-API-Key": key}
            case.call_and_validate(checks=[not_a_server_error, response_schema_conformance])

        check()
    assert len(seen) >= 20
