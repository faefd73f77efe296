"""/api/openapi.json describes every route, and real responses conform to it."""
import re

import jsonschema_rs
import pytest
import requests

from tests import factories
from tests.api.builders import bearer
from tests.helpers import csrf_token, login


@pytest.fixture
def spec(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def _template(path: str, spec: dict) -> str:
    for template in spec["paths"]:
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
        if re.match(pattern, path) and not (template.endswith("{id}") and path.endswith("/cancel")):
            if "/stripe/" in path and "/stripe/" not in template:
                continue
            return template
    raise AssertionError(f"{path} is not in the OpenAPI description")


def conforms(spec: dict, method: str, path: str, response) -> None:
    operation = spec["paths"][_template(path.split("?")[0], spec)][method.lower()]
    documented = operation["responses"].get(str(response.status_code))
    assert documented, f"{method} {path}: status {response.status_code} is not documented"
    if "$ref" in documented:
        documented = spec["components"]["responses"][documented["$ref"].rsplit("/", 1)[1]]
    schema = {**documented["content"]["application/json"]["schema"], "components": spec["components"]}
    jsonschema_rs.validator_for(schema).validate(response.get_json())
    for header in documented.get("headers", {}):
        assert header in response.headers, f"{method} {path}: {header} header missing"


def test_the_description_is_openapi_3_1_and_lists_every_route(app, spec):
    assert spec["openapi"] == "3.1.0"
    def camel(name: str) -> str:
        head, *rest = name.split("_")
        return head + "".join(part.capitalize() for part in rest)

    # Flask's <int(max=…):coupon_id> is OpenAPI's {couponId}; the spec's own paths say {id} for a session.
    api_rules = {re.sub(r"<(?:[^:>]+:)?(\w+)>", lambda m: "{" + camel(m.group(1)) + "}", rule.rule)
                 for rule in app.url_map.iter_rules()
                 if rule.endpoint.startswith("api.") and rule.rule != "/api/openapi.json"}
    api_rules = {rule.replace("{sessionId}", "{id}") for rule in api_rules}
    assert api_rules | {"/api/payments/webhooks/stripe"} == set(spec["paths"])
    # The webhook operation is described here but served by the webhooks blueprint.
    assert any(rule.rule == "/api/payments/webhooks/stripe" and "POST" in rule.methods
               for rule in app.url_map.iter_rules())
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            assert operation["operationId"] and operation["responses"], (method, path)
    # Every schema in the description is itself valid JSON Schema (2020-12, as OpenAPI 3.1 uses).
    for name, schema in spec["components"]["schemas"].items():
        jsonschema_rs.validator_for({**schema, "components": spec["components"]})


def test_real_responses_conform(client, sandbox, spec, learner, other_learner, paid_course, free_course):
    auth, other = bearer(learner), bearer(other_learner)
    factories.coupon(code="PUBLIC10", percent=10, is_public=True, courses=[paid_course])
    factories.coupon(code="FIVE", amount_off=500, currency="USD", is_public=True)
    factories.coupon(code="ALLFREE", percent=100)
    calls = []

    def call(method, path, **kwargs):
        response = client.open(path, method=method, **kwargs)
        calls.append((method, path, response.status_code))
        conforms(spec, method, path, response)
        return response

    created = call("POST", "/api/payments/sessions", json={"courseId": paid_course.slug, "couponCode": "PUBLIC10"},
                   headers=auth).get_json()
    session_id, stripe_id = created["session"]["id"], created["session"]["stripeSessionId"]
    call("POST", "/api/payments/sessions", json={"courseId": paid_course.slug, "returnUrl": "https://evil.example"},
         headers=auth)
    call("POST", "/api/payments/sessions", json={}, headers=auth)
    call("POST", "/api/payments/sessions", data="x", headers=auth)
    call("POST", "/api/payments/sessions", json={"courseId": "nope"}, headers=auth)
    call("POST", "/api/payments/sessions", json={"courseId": paid_course.slug, "couponCode": "BAD"}, headers=auth)
    call("POST", "/api/payments/sessions", json={"courseId": paid_course.slug})
    call("GET", f"/api/payments/sessions/{session_id}", headers=auth)
    call("GET", f"/api/payments/sessions/{session_id}", headers=other)
    call("GET", f"/api/payments/sessions/stripe/{stripe_id}")
    call("GET", "/api/payments/sessions/stripe/cs_missing")
    call("POST", f"/api/payments/sessions/{session_id}/cancel", headers=other)
    call("POST", f"/api/payments/sessions/{session_id}/cancel", headers=auth)
    second = call("POST", "/api/payments/sessions", json={"courseId": paid_course.slug}, headers=auth).get_json()
    requests.post(f"{sandbox.base_url}/_sandbox/checkout/sessions/{second['session']['stripeSessionId']}/pay",
                  json={}, timeout=5)
    call("POST", f"/api/payments/sessions/{second['session']['id']}/cancel", headers=auth)  # fulfilled instead
    call("POST", f"/api/payments/sessions/{second['session']['id']}/cancel", headers=auth)  # 409
    call("POST", "/api/payments/sessions", json={"courseId": paid_course.slug}, headers=auth)  # 409 enrolled
    call("POST", "/api/payments/sessions", json={"courseId": free_course.slug}, headers=other)  # ENROLLED

    call("POST", "/api/payments/coupons/validate", json={"code": "public10", "courseId": paid_course.id},
         headers=auth)
    call("POST", "/api/payments/coupons/validate", json={"code": "NOPE", "courseId": paid_course.id}, headers=auth)
    call("POST", "/api/payments/coupons/validate", json={"code": 3}, headers=auth)
    call("POST", "/api/payments/coupons/validate", json={"code": "X", "courseId": "x"})
    call("GET", "/api/payments/coupons/active")

    call("POST", "/api/payments/enrollments", json={"courseId": free_course.slug}, headers=auth)
    call("POST", "/api/payments/enrollments", json={"courseId": free_course.slug}, headers=auth)
    call("POST", "/api/payments/enrollments", json={"courseId": factories.course().slug}, headers=auth)  # 402
    call("POST", "/api/payments/enrollments", json={"courseId": factories.course().slug, "couponCode": "ALLFREE"},
         headers=other)
    call("GET", "/api/payments/enrollments", headers=auth)
    call("GET", "/api/payments/enrollments")
    call("GET", f"/api/payments/enrollments/course/{paid_course.slug}", headers=auth)
    call("GET", f"/api/payments/enrollments/course/{paid_course.slug}", headers=other)

    login(client, learner.email)
    call("POST", "/api/payments/enrollments", json={"courseId": free_course.slug})  # 400 CSRF
    call("POST", "/api/payments/enrollments", json={"courseId": free_course.slug},
         headers={"X-CSRFToken": csrf_token(client)})

    statuses = {status for _, _, status in calls}
    assert statuses >= {200, 201, 400, 401, 402, 404, 409, 415, 422}
