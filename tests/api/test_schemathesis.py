"""Schemathesis fuzzes every API operation from /api/openapi.json against the Flask app (WSGI).

Bounded (a few examples per operation) so the run stays well under a minute; CI runs it on
both databases. Checks: no 5xx, documented status codes, content types, headers and bodies,
invalid input rejected with 4xx, and authenticated operations refused without credentials.
"""
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import checks

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


def test_api_conforms_to_its_description(api_schema, learner):
    # Driven by hand rather than with schemathesis.pytest.from_fixture, whose lazy loader
    # reads a private attribute that pytest 9 removed (`Function._nodeid`).
    headers = bearer(learner)
    operations = list(_operations(api_schema))
    assert len(operations) == 9

    statuses = set()
    for operation in operations:
        for strategy in [*operation.get_strategies_from_examples(), operation.as_strategy()]:
            @given(case=strategy)
            @settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), database=None)
            def fuzz(case):
                statuses.add(case.call_and_validate(headers=headers, checks=CHECKS).status_code)

            fuzz()
    assert {200, 201, 400, 404} <= statuses  # the run reached successes as well as refusals
