"""Fuzzing the running server from its own OpenAPI document (schemathesis): whatever a client
sends that the document allows — or nearly allows — the server answers without a 500 and
with a response its document describes.  Bounded in CI by ``ZHENGGAI_FUZZ_EXAMPLES``."""

from __future__ import annotations

import os

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="the dev extra is not installed: pip install -e '.[dev]'")

from apiclient import SignedAuth  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import response_schema_conformance  # noqa: E402
from serverhelpers import live  # noqa: E402, F401  (the fixture)

EXAMPLES = int(os.environ.get("ZHENGGAI_FUZZ_EXAMPLES", "15"))


@pytest.fixture
def fuzz_target(live):  # noqa: F811
    """A server with a round and a problem in it, and a session signing as an office that may
    do everything, so generated requests reach the engine instead of stopping at auth."""
    import requests

    session = requests.Session()
    session.auth = SignedAuth(
        "oa", live.secret, "wang", ["admin", "inspection_office", "owner", "unit_lead", "reviewer", "system"]
    )
    base = live.base
    r = session.post(
        base + "/rounds",
        json={"code": "R1", "title": "巡视反馈", "org": "省局", "feedback_date": "2026-03-10"},
        timeout=10,
    )
    assert r.status_code == 201, r.text
    r = session.post(
        base + "/rounds/R1/issues",
        json={
            "code": "P1",
            "title": "问题",
            "category": "phased",
            "unit": "省局/财务处",
            "owner": "wang",
            "lead": "wang",
        },
        timeout=10,
    )
    assert r.status_code == 201, r.text
    return base, session


def test_no_request_the_document_allows_gets_a_500_or_an_undocumented_answer(fuzz_target):
    base, session = fuzz_target
    schema = schemathesis.openapi.from_url(base + "/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20  # every endpoint is in the document
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def answers_within_the_document(case):
            response = case.call(base_url=base, session=session)
            case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])

        answers_within_the_document()
