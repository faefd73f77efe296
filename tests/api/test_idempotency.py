"""Idempotency-Key on POST /sessions, /sessions/{id}/cancel and /enrollments (Stripe's semantics):
same key and body → the stored response; other body → 409; in flight → 409; kept 24 hours;
shared by every instance through the database."""
from datetime import timedelta

import pytest

from extensions import db
from models import Enrollment, IdempotencyKey, PaymentSession, utcnow
from services import idempotency
from tests import factories
from tests.isolation import run_in_threads

SESSIONS = "/api/payments/sessions"
ENROLL = "/api/payments/enrollments"


def _post(client, path, body, auth, key):
    return client.post(path, json=body, headers={**auth, "Idempotency-Key": key})


def _count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(db.select(db.func.count()).select_from(model))


def test_same_key_and_body_replays_the_first_response_without_running_again(client, sandbox, auth, paid_course):
    first = _post(client, SESSIONS, {"courseId": paid_course.slug, "couponCode": None}, auth, "key-1")
    again = client.post(SESSIONS, data='{ "couponCode": null,"courseId": "python-101" }',
                        content_type="application/json", headers={**auth, "Idempotency-Key": "key-1"})
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json() and again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert _count(PaymentSession) == 1 and len(sandbox.state.sessions) == 1


def test_same_key_with_another_body_or_endpoint_is_409(client, sandbox, auth, paid_course, free_course):
    assert _post(client, SESSIONS, {"courseId": paid_course.slug}, auth, "key-2").status_code == 201
    other_body = _post(client, SESSIONS, {"courseId": free_course.slug}, auth, "key-2")
    other_path = _post(client, ENROLL, {"courseId": paid_course.slug}, auth, "key-2")
    for response in (other_body, other_path):
        assert response.status_code == 409
        assert response.get_json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert _count(Enrollment) == 0


def test_keys_belong_to_their_caller(client, sandbox, auth, other_auth, free_course):
    mine = _post(client, ENROLL, {"courseId": free_course.slug}, auth, "shared")
    theirs = _post(client, ENROLL, {"courseId": free_course.slug}, other_auth, "shared")
    assert mine.status_code == theirs.status_code == 201
    assert mine.get_json()["enrollment"]["userId"] != theirs.get_json()["enrollment"]["userId"]


def test_a_refusal_is_replayed_too(client, auth, paid_course):
    first = _post(client, ENROLL, {"courseId": paid_course.slug}, auth, "key-3")
    assert first.status_code == 402
    factories.coupon(code="ALLFREE", percent=100)  # the world changed, but the key answers as before
    again = _post(client, ENROLL, {"courseId": paid_course.slug}, auth, "key-3")
    assert again.status_code == 402 and again.headers["Idempotent-Replayed"] == "true"


def test_a_server_error_is_not_kept_so_a_retry_runs(client, sandbox, auth, paid_course, app):
    app.config["STRIPE_API_BASE"] = "http://127.0.0.1:9"
    app.extensions.pop("stripe_client", None)
    assert _post(client, SESSIONS, {"courseId": paid_course.slug}, auth, "key-4").status_code == 503
    app.config["STRIPE_API_BASE"] = sandbox.base_url
    app.extensions.pop("stripe_client", None)
    retry = _post(client, SESSIONS, {"courseId": paid_course.slug}, auth, "key-4")
    assert retry.status_code == 201 and "Idempotent-Replayed" not in retry.headers


def test_cancel_with_a_key_is_replayed(client, sandbox, auth, paid_course):
    session_id = _post(client, SESSIONS, {"courseId": paid_course.slug}, auth, "key-5").get_json()["session"]["id"]
    cancel = f"{SESSIONS}/{session_id}/cancel"
    first = client.post(cancel, headers={**auth, "Idempotency-Key": "cancel-1"})
    again = client.post(cancel, headers={**auth, "Idempotency-Key": "cancel-1"})
    assert first.status_code == again.status_code == 200
    assert again.get_json() == first.get_json() and again.headers["Idempotent-Replayed"] == "true"


def test_a_key_still_in_flight_is_409_until_its_request_is_presumed_dead(client, learner, auth, free_course):
    body = {"courseId": free_course.slug}
    fingerprint = idempotency.fingerprint("POST", ENROLL, b'{"courseId": "git-basics"}')
    row = IdempotencyKey(user_id=learner.id, key="busy", request_fingerprint=fingerprint, created_at=utcnow(),
                         expires_at=utcnow() + idempotency.RETENTION)
    db.session.add(row)
    db.session.commit()
    busy = _post(client, ENROLL, body, auth, "busy")
    assert busy.status_code == 409 and busy.get_json()["error"]["code"] == "IDEMPOTENCY_KEY_IN_USE"
    row.created_at = utcnow() - idempotency.IN_FLIGHT_TIMEOUT - timedelta(seconds=1)
    db.session.commit()
    assert _post(client, ENROLL, body, auth, "busy").status_code == 201


def test_keys_are_kept_24_hours(client, auth, free_course):
    body = {"courseId": free_course.slug}
    assert _post(client, ENROLL, body, auth, "day").status_code == 201
    db.session.execute(db.update(IdempotencyKey).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    # Expired: the key is new again, so the request runs (already enrolled: 200, not a replay).
    again = _post(client, ENROLL, body, auth, "day")
    assert again.status_code == 200 and "Idempotent-Replayed" not in again.headers
    db.session.execute(db.update(IdempotencyKey).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert idempotency.purge_expired(utcnow()) == 1


@pytest.mark.parametrize("key", ["", "a b", "x" * 256, "clé"])
def test_malformed_keys_are_400(client, auth, free_course, key):
    response = client.post(ENROLL, json={"courseId": free_course.slug},
                           headers={**auth, "Idempotency-Key": key.encode().decode("latin-1")})
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "INVALID_IDEMPOTENCY_KEY"


def test_two_instances_share_keys(two_apps, sandbox, auth, paid_course):
    body = {"courseId": paid_course.slug}
    responses = []
    for instance in two_apps:
        with instance.app_context():
            responses.append(_post(instance.test_client(), SESSIONS, body, auth, "across"))
            db.session.remove()
    assert [r.status_code for r in responses] == [201, 201]
    assert responses[1].headers["Idempotent-Replayed"] == "true"
    assert responses[1].get_json() == responses[0].get_json()
    assert _count(PaymentSession) == 1 and len(sandbox.state.sessions) == 1


def _on(instance, request):
    """A job for run_in_threads that makes its request through another app instance."""
    def job():
        with instance.app_context():
            response = request(instance.test_client())
            return response.status_code, response.get_json()
    return job


def test_two_instances_racing_with_one_key_run_it_once(app, two_apps, sandbox, auth, paid_course):
    body = {"courseId": paid_course.slug}
    results = run_in_threads(app, [_on(instance, lambda client: _post(client, SESSIONS, body, auth, "race"))
                                   for instance in two_apps])
    assert all(isinstance(result, tuple) for result in results), results
    statuses = sorted(status for status, _ in results)
    # The loser either waited and got the stored response, or found the key in flight.
    assert statuses in ([201, 201], [201, 409]), results
    for status, payload in results:
        if status == 409:
            assert payload["error"]["code"] == "IDEMPOTENCY_KEY_IN_USE"
    assert _count(PaymentSession) == 1 and len(sandbox.state.sessions) == 1


def test_the_purge_command_deletes_expired_keys(runner, client, auth, free_course):
    assert _post(client, ENROLL, {"courseId": free_course.slug}, auth, "old").status_code == 201
    assert "Purged 0" in runner.invoke(args=["api", "purge-idempotency-keys"]).output
    db.session.execute(db.update(IdempotencyKey).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert "Purged 1" in runner.invoke(args=["api", "purge-idempotency-keys"]).output
    assert _count(IdempotencyKey) == 0
