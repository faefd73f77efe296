"""Schemathesis fuzzes every API operation from /api/openapi.json against the Flask app (WSGI).

Bounded (a few examples per operation) so each run stays around a minute; CI runs it on
both databases. Checks: no 5xx, documented status codes, content types, headers and bodies,
invalid input rejected with 4xx, and authenticated operations refused without credentials.
Run twice over the whole document: with a learner's token (the back office answers 403) and
with a staff token holding every scope (the back office's successes and refusals).
"""
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import checks

from extensions import db
from services.people import api_tokens
from tests import factories
from tests.api.builders import bearer

CHECKS = [checks.not_a_server_error, checks.status_code_conformance, checks.content_type_conformance,
          checks.response_headers_conformance, checks.response_schema_conformance,
          checks.negative_data_rejection, checks.ignored_auth]


@pytest.fixture
def api_schema(app, sandbox, learner, paid_course, free_course):
    # The records the description's examples name, so the example phase reaches the 2xx paths.
    factories.course(slug="python-foundations", price=4900)
    factories.course(slug="intro-to-git", price=0, enrollment_type="FREE")
    factories.coupon(code="WELCOME10", percent=10, is_public=True)
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    # The webhook operation belongs to the webhooks blueprint and is fuzzed with signed events there.
    return schema.exclude(path="/api/payments/webhooks/stripe")


def _operations(schema):
    for result in schema.get_all_operations():
        yield result.ok()


def _fuzz(schema, headers, max_examples: int) -> set[int]:
    # Driven by hand rather than with schemathesis.pytest.from_fixture, whose lazy loader
    # reads a private attribute that pytest 9 removed (`Function._nodeid`).
    statuses = set()
    for operation in _operations(schema):
        for strategy in [*operation.get_strategies_from_examples(), operation.as_strategy()]:
            @given(case=strategy)
            @settings(max_examples=max_examples, deadline=None, suppress_health_check=list(HealthCheck),
                      database=None)
            def fuzz(case):
                statuses.add(case.call_and_validate(headers=headers, checks=CHECKS).status_code)

            fuzz()
    return statuses


def test_api_conforms_to_its_description_for_a_learner(api_schema, learner):
    assert len(list(_operations(api_schema))) == 31  # + GET /api/bundles, /api/paths, /api/paths/{pathId} (issue 20), GET /api/memberships (issue 16)
    statuses = _fuzz(api_schema, bearer(learner), max_examples=5)
    assert {200, 201, 400, 403, 404} <= statuses  # the run reached successes as well as refusals


def test_api_conforms_to_its_description_for_staff(api_schema, staff):
    _, plaintext = api_tokens.create(staff, "schemathesis", scopes=list(api_tokens.SCOPES))
    db.session.commit()
    statuses = _fuzz(api_schema, {"Authorization": f"Bearer {plaintext}"}, max_examples=5)
    assert {200, 201, 400, 404, 422} <= statuses
